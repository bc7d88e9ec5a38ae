// What the sidecar's parts (proxy, watchdog, node agent + REST) share: the
// context they are built with and the lifecycle they follow.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/metrics.h"
#include "common/result.h"
#include "common/spec.h"
#include "sidecar/agent/parameter_check.h"
#include "sidecar/health_view.h"
#include "sidecar/live_membership.h"

namespace pgvigil {

class ProxyApi;     // sidecar/proxy/proxy_api.h
class WatchdogApi;  // sidecar/watchdog/watchdog_api.h

// Built once in main; outlives every component. The pointers to other components'
// APIs are set before any Start() and may be null when that part is disabled.
struct SidecarContext {
  // The spec the sidecar started with. Its nodes are the start-up membership:
  // what runs now is `membership` (PUT /v1/node/spec changes it live); code that
  // reads the members at run time reads them there, everything else here.
  ClusterSpec spec;
  std::string nodeName;    // this host's node in spec.nodes
  std::string stateDir;    // persistent state (highest term, votes, register)
  // pgvigil-sidecar --kubernetes (KUBERNETES.md §4.5.2): the main process of a pod;
  // no VIP, and the watchdog write lease guards the local primary's writes.
  bool kubernetes = false;
  std::shared_ptr<HealthView> health = std::make_shared<HealthView>();
  std::shared_ptr<MetricsRegistry> metrics = std::make_shared<MetricsRegistry>();
  // The members in use; set from spec.nodes by InitMembership before any Start().
  std::shared_ptr<LiveMembership> membership;
  // postgres.parameters the start spec held but this start left out
  // (StartSpec::setAside), each with its value and why.
  std::vector<ParameterProblem> parametersSetAside;
  ProxyApi* proxy = nullptr;
  WatchdogApi* watchdog = nullptr;

  // This node in the start-up spec (a node never leaves a membership it runs in:
  // PUT /v1/node/spec refuses a list without it).
  const NodeSpec& self() const { return *spec.FindNode(nodeName); }
  // The members now, and the spec with them.
  std::shared_ptr<const NodeList> Nodes() const { return membership ? membership->Nodes() : std::make_shared<const NodeList>(spec.nodes); }
  ClusterSpec LiveSpec() const { return membership ? membership->With(spec) : spec; }
  // Creates `membership` from spec.nodes (idempotent).
  void InitMembership(uint64_t generation = 0) {
    if (!membership) membership = std::make_shared<LiveMembership>(spec.nodes, generation);
  }
};

class Component {
 public:
  virtual ~Component() = default;
  virtual const char* name() const = 0;
  virtual Status Start() = 0;
  // Clean shutdown; must return within a few seconds. The watchdog resigns here.
  virtual void Stop() = 0;
  // Summary for GET /v1/status.
  virtual web::json::value Summary() const = 0;
};

}  // namespace pgvigil
