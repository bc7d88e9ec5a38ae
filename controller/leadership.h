// The reconcile loop's two seams (KUBERNETES.md §4): who may act and under
// which term (LeadershipSource), and where the cluster state is kept
// (StateStore). On VMs: the local sidecar's watchdog and its cluster-state
// register (vm_leadership.h), or, standalone, always and a local file; on
// Kubernetes: the Lease elector and the PostgresCluster status
// (controller/kube/kube_leadership.h). Called from the reconcile thread only
// unless an implementation says otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <cpprest/json.h>

#include "common/result.h"
#include "common/watchdog_detail.h"
#include "controller/plan/cluster_state.h"
#include "controller/plan/observation.h"

namespace pgvigil {

struct LeadershipLook {
  bool mayAct = false;
  uint64_t term = 0;   // the term to act under (sidecars refuse older ones)
  std::string holder;  // who acts, for status ("" unknown)
  std::string reason;  // why this controller may act or not, for the log
  // VMs: the local sidecar's watchdog view, which the planner uses for health
  // consensus, and its GET /v1/watchdog body for status. Absent elsewhere:
  // the loop then derives the health view from its own looks at the sidecars.
  std::optional<plan::WatchdogView> watchdog;
  std::optional<WatchdogDetail> watchdogDetail;
};

class LeadershipSource {
 public:
  virtual ~LeadershipSource() = default;
  // Once per round, before anything is decided.
  virtual LeadershipLook Look(plan::TimeMs now) = 0;
  // Polled between and during actions: false abandons the rest at once.
  virtual bool StillActing(uint64_t term) = 0;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  // The newest durable copy (called after Look in each round). An empty state
  // when none was ever written; an error when it cannot be read or trusted.
  virtual Result<plan::ClusterState> Load() = 0;
  // A kWriteState action: ok with what happened ("durable on a majority"), or
  // an error (a lost compare-and-swap is an error: the next round re-reads and
  // re-plans, nothing is retried blindly).
  virtual Result<std::string> Save(const plan::ClusterState& state, uint64_t term) = 0;
};

class Actuator;  // controller/act/actuator.h

// Work a mode does around the plan's actions while this controller acts
// (Kubernetes: owned objects, the term to the sidecars, pod labels; none on
// VMs). Reconcile thread only.
class ActingHook {
 public:
  virtual ~ActingHook() = default;
  // Each acting round, after the state was loaded and before the plan's
  // actions; an error skips the actions this round (e.g. a fence label that
  // must land before a promote did not, or this controller is deposed).
  virtual Status BeforeActions(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                               Actuator& actuator) = 0;
  // After BeforeActions, before the round's plan: the instances this mode holds
  // back from being started as the primary, with why (PlanInputs::startHolds),
  // each hold decided and logged by the mode once per change.
  virtual std::map<std::string, std::string> StartHolds() const { return {}; }
  // After the actions, when they wrote a new state: bring what follows the
  // state (labels) up to date now rather than next round.
  virtual void AfterActions(const plan::ClusterState& state, uint64_t term, const plan::Observation& obs,
                            Actuator& actuator) = 0;
  // Each action of an acting round as it ended (for Kubernetes Events).
  virtual void Decided(const std::string& action, const std::string& node, const std::string& reason, bool ok,
                       const std::string& detail) = 0;
};

}  // namespace pgvigil
