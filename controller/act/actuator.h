// Carries out the planner's actions through the sidecars' REST APIs (node agent,
// proxy routing; the cluster state through the writer it is given) and, for synchronous_standby_names, libpq on
// the primary. Every mutating call carries the controller's term, so a sidecar
// that has seen a newer term refuses a deposed controller. Blocking; runs on the
// reconcile thread only. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/rest_client.h"
#include "common/node_operation.h"
#include "common/routing_table.h"
#include "common/spec.h"
#include "controller/observe/pg_observer.h"
#include "controller/plan/action.h"
#include "controller/plan/observation.h"

namespace pgvigil {

struct ActionResult {
  plan::Action action;
  bool ok = false;
  std::string detail;  // what happened (operation id, error)
};

// The node list of the agent's PUT /v1/proxy/routing body (RoutingPublish,
// common/routing_table.h) for a kPublishRouting action: every spec node with
// host, PostgreSQL port, weight and up.
std::vector<RouteNode> RoutingNodes(const ClusterSpec& spec, const plan::Action& a);

// The request of the agent operation a kPromote, kStop, kStart, kFollow or
// kRebuild action runs (POST /v1/node/<op>, common/node_operation.h), in `term`.
NodeOperationRequest OperationRequest(const plan::Action& a, uint64_t term);

class Actuator {
 public:
  // sidecar_url(node) -> "http://HOST:APIPORT"; local_node: the sidecar beside
  // this controller ("" when there is none, as on Kubernetes).
  Actuator(const ClusterSpec& spec, std::string token, PgCredentials creds, std::string local_node);
  ~Actuator();

  void SetSpec(const ClusterSpec& spec) { spec_ = spec; }
  // Where kWriteState goes (the loop's StateStore: the watchdog register, a
  // local file, or the custom resource's status), with the term; it answers
  // what happened or why it failed. Without one, kWriteState fails.
  using StateWriter = std::function<Result<std::string>(const plan::ClusterState&, uint64_t term)>;
  void SetStateWriter(StateWriter writer) { stateWriter_ = std::move(writer); }
  // Checked just before each promote is sent (Kubernetes: §6's re-checks);
  // an error fails the promote action with it. None on VMs.
  using ActionGuard = std::function<Status(const plan::Action&, const plan::Observation&)>;
  void SetPromoteGuard(ActionGuard guard) { promoteGuard_ = std::move(guard); }
  // The same just before each start is sent (Kubernetes: a primary its own
  // sidecar fenced waits for the watchdog, kube_init.h); None on VMs.
  void SetStartGuard(ActionGuard guard) { startGuard_ = std::move(guard); }

  // Runs the actions in order with `term`; stops after the first failed action
  // marked mustSucceed. `keep_going` is polled while waiting for long operations:
  // returning false (leadership lost) abandons the rest at once.
  std::vector<ActionResult> Run(const std::vector<plan::Action>& actions, uint64_t term,
                                const plan::Observation& obs,
                                const std::function<bool()>& keep_going);

  RestClient& Sidecar(const std::string& node);

 private:
  ActionResult RunOne(const plan::Action& a, uint64_t term, const plan::Observation& obs,
                      const std::function<bool()>& keep_going);
  // POST an agent operation; wait for it to end when `wait` (up to timeout).
  ActionResult NodeOperation(const plan::Action& a, const std::string& op, uint64_t term, bool wait,
                             const std::function<bool()>& keep_going);
  // The same call on every reachable sidecar; ok when all reachable ones took it.
  ActionResult Broadcast(const plan::Action& a, const std::string& method, const std::string& path,
                         const web::json::value& body, const plan::Observation& obs);
  // Runs statements on a node over libpq as the superuser; "" or the error.
  std::string RunSql(const std::string& node, const std::vector<std::string>& statements);
  ActionResult SetSynchronousStandbys(const plan::Action& a);

  ClusterSpec spec_;
  std::string token_;
  PgCredentials creds_;
  std::string localNode_;
  std::map<std::string, std::unique_ptr<RestClient>> clients_;  // by node
  StateWriter stateWriter_;
  ActionGuard promoteGuard_;
  ActionGuard startGuard_;
};

}  // namespace pgvigil
