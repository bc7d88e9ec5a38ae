// The controller's reconcile loop: observe -> plan -> act, every second and when
// poked (a request, a spec change). Only a controller allowed to act does act,
// as its LeadershipSource says (leadership.h): on bare VMs the one whose local
// sidecar is watchdog LEADER with quorum, using the watchdog term; in standalone
// mode (no watchdog, one controller) always, with a term derived from its start
// time; on Kubernetes the Lease holder, under its epoch. The cluster state comes
// from and goes to its StateStore (the watchdog register, a local file, the
// custom resource's status). Every other controller observes and serves
// status read-only. Every decision is logged with its reason and kept in a
// bounded event list. Thread-safe: the loop runs on its own thread; the public
// methods may be called from REST threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/spec.h"
#include "controller/act/actuator.h"
#include "controller/act/parameters_check.h"
#include "controller/leadership.h"
#include "controller/observe/node_observer.h"
#include "controller/observe/pg_observer.h"
#include "controller/plan/planner.h"
#include "controller/standing_decision.h"
#include "controller/status/cluster_status.h"

namespace pgvigil {

struct ReconcilerOptions {
  std::string localNode;  // the node whose sidecar is beside this controller
  std::string specPath;   // where an accepted spec is written (PUT /v1/spec)
  std::string stateDir;   // standalone mode keeps the cluster state here
  bool standalone = false;  // no watchdog: act alone (single controller only!)
  std::string token;        // sidecar API token
  PgCredentials pg;         // superuser credentials for observing over libpq
  std::chrono::milliseconds period{1000};    // full observe-plan-act when all is well
  std::chrono::milliseconds busyPeriod{250}; // while not Healthy or operations run
  std::chrono::milliseconds fastPoll{50};    // cheap look at the local sidecar between ticks
  // How long a round waits for the nodes' looks; a node that did not answer in
  // time counts as unreachable and is not waited for until it answers quickly.
  std::chrono::milliseconds observeDeadline{700};
  size_t maxEvents = 200;
};

class Reconciler {
 public:
  // The VM seams: the watchdog (or, standalone, always acting and a local file).
  Reconciler(ClusterSpec spec, ReconcilerOptions options);
  // Other seams (Kubernetes: the Lease elector and the status); options_.localNode
  // may then be "" (no sidecar beside this controller).
  // `hook` (may be null; not owned, must outlive the Reconciler) runs around
  // the actions of each acting round.
  Reconciler(ClusterSpec spec, ReconcilerOptions options, std::unique_ptr<LeadershipSource> leadership,
             std::unique_ptr<StateStore> store, ActingHook* hook = nullptr);
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  Status Start();
  void Stop();

  ClusterStatus GetStatus() const;
  // Validated by the caller; written to specPath then taken into use.
  Status ApplySpec(const ClusterSpec& spec, const std::string& yaml_text);
  // Before ApplySpec (PUT /v1/spec): when `candidate`'s postgres.parameters
  // differ from the spec in use, a sidecar the last round saw reachable (the
  // primary's first) checks them against its PostgreSQL, under the last
  // round's term (parameters_check.h); nullopt when they do not differ. The
  // outcome is logged with its reason, and a refusal is kept as an event
  // ("check-parameters"). Any thread; blocks on the sidecars (3 s each at most).
  std::optional<ParametersCheck> CheckParameters(const ClusterSpec& candidate);
  // Takes a validated spec into use without writing it anywhere (SIGHUP: the spec
  // was just read from specPath); `how` goes into the event, e.g. "reloaded".
  void UseSpec(const ClusterSpec& spec, const std::string& how);
  ClusterSpec spec() const;
  Status RequestSwitchover(const std::string& to);
  Status RequestNode(const std::string& verb, const std::string& node);  // recover|attach|detach
  // A decision taken beside the planner (the Kubernetes actuator's: node loss,
  // the manual fence) into the recent events GET /v1/status reports. Any thread.
  void RecordDecision(const std::string& action, const std::string& node, const std::string& reason) {
    AddEvent(action, node, reason);
  }
  bool acting() const { return acting_.load(); }

 private:
  void Loop();
  // One observe-plan-act round; returns how long to wait before the next one.
  std::chrono::milliseconds Tick();
  // Whether the local sidecar's view (watchdog leadership, backends seen down)
  // changed since the last call: cheap, one local REST call.
  bool SomethingChanged();
  // The client in *slot for this controller's own sidecar, (re)made when the
  // spec's address for it changed.
  RestClient& LocalSidecar(std::unique_ptr<RestClient>* slot, std::chrono::milliseconds timeout);
  void Poke();
  void AddEvent(const std::string& action, const std::string& node, const std::string& reason);
  void ObserveNodes(const ClusterSpec& spec, plan::TimeMs now);
  // A reason that stands round after round ("" = not this round), logged with
  // `what` when it starts or changes (and as an event), every 5 minutes while
  // it stands, and with `ended` once it ends.
  void LogStanding(StandingDecision* d, const std::string& reason, const std::string& what,
                   const std::string& ended);

  const ReconcilerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;   // guarded by mu_
  bool poked_ = false;      // guarded by mu_
  ClusterSpec spec_;        // guarded by mu_
  plan::Requests requests_; // guarded by mu_
  ClusterStatus status_;    // guarded by mu_
  std::set<std::string> sidecarsReachable_;  // guarded by mu_: as the last round observed
  std::deque<EventRecord> events_;  // guarded by mu_
  std::string lastPhase_;   // guarded by mu_
  std::string lastSummary_; // guarded by mu_

  // Loop thread only.
  plan::Observation obs_;
  std::unique_ptr<RestClient> watchdogClient_;  // the local sidecar, GET /v1/watchdog
  std::map<std::string, std::unique_ptr<NodeObserver>> observers_;  // by node
  std::set<std::string> slowNodes_;  // last look took longer than observeDeadline
  uint64_t observeRound_ = 0;
  std::optional<WatchdogDetail> watchdogDetail_;  // last GET /v1/watchdog body (none: none)
  std::vector<web::json::value> poolNodes_;  // last GET /v1/proxy/pool_nodes per spec node
  std::unique_ptr<Actuator> actuator_;
  std::unique_ptr<LeadershipSource> leadership_;
  std::unique_ptr<StateStore> store_;
  ActingHook* hook_ = nullptr;
  StandingDecision held_;       // the hook holding the rounds back (BeforeActions failed)
  StandingDecision unreadable_;  // the cluster state unreadable
  std::unique_ptr<RestClient> fastClient_;
  std::string fastSignature_;
  std::atomic<bool> acting_{false};
  std::thread thread_;
};

}  // namespace pgvigil
