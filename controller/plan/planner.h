// The controller's planner: a pure function from (spec, observation, durable
// state, requests, now) to an ordered list of actions, a cluster phase and an
// outcome. No I/O, no clocks, no threads: time comes in as `now`.
//
// Safety rules it keeps (asserted by plan_test's property test):
//  * without watchdog quorum it returns no action at all;
//  * with failover.requireConsensus a primary is down only when a majority of
//    the live watchdog members see it down (one sidecar's view never fails over);
//  * before a promote, the old primary is fenced and a routing generation
//    without it is recorded and published (and it is stopped if reachable);
//  * it names a node routed primary only when it is observed writable and is the
//    recorded primary: never two writable primaries routed;
//  * a fenced node is never routed until rebuilt and streaming from the primary;
//  * stale observations or a running failover/switchover operation mean wait.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/spec.h"
#include "controller/plan/action.h"
#include "controller/plan/cluster_state.h"
#include "controller/plan/observation.h"

namespace pgvigil::plan {

enum class Phase { kHealthy, kFailingOver, kSwitchover, kRecovering, kDegraded, kNoQuorum };
const char* ToString(Phase p);

enum class Outcome {
  kDone,              // nothing pending; the regular period applies
  kRequeueAfter,      // plan again after Plan::requeueAfter
  kWaitForOperation,  // a node operation is running; plan again when it ends
};
const char* ToString(Outcome o);

// Operator requests (REST / vigilctl; on Kubernetes also the scale steps).
// A request stays pending until a plan answers it (Plan::answered) and that
// plan's actions ran: a plan that does not look at it (no quorum, stale
// observations, an operation to wait for) leaves it for the next one.
struct Requests {
  std::string
      switchoverTo;  // `vigilctl switchover --to NODE` (or failover when the primary is down)
  std::vector<std::string> recover;  // `vigilctl recover NODE`
  std::vector<std::string> attach;
  std::vector<std::string> detach;
};

struct PlanInputs {
  TimeMs now = 0;  // same clock as the observation's timestamps
  Requests requests;
  // Older observations than this are stale (the watchdog view, or a node part
  // that claims to be reachable); 0: derived from the spec's health check
  // (3 periods + timeout).
  Millis maxObservationAge{0};
  // Instances a mode holds back from being started as the primary, with why
  // (Kubernetes: one that fenced itself, until the watchdog leader counts it
  // live; kube_init.h WhyHoldSelfFencedStart). Such a start is not planned:
  // the why is the summary's, decided and logged once by the mode, rather than
  // a start planned and withheld each round.
  std::map<std::string, std::string> startHolds;
};

// Standing conditions (no candidate, automatic failover off, waiting for a
// catch-up) are in `summary`, which the loop logs when it changes; kRecordEvent
// actions are for one-time decisions (an operator request refused, a
// switchover aborted), so repeated plans do not flood the event list.
struct Plan {
  Phase phase = Phase::kHealthy;
  Outcome outcome = Outcome::kDone;
  Millis requeueAfter{0};
  std::vector<Action> actions;
  std::string summary;  // why this phase / why waiting
  // The requests of PlanInputs::requests this plan answered: carried out by
  // its actions, found already in effect, or refused (a kRecordEvent with the
  // reason). The others stay pending (RemoveAnswered).
  Requests answered;
};

// Takes what `answered` holds out of `pending`: the switchover only when it
// still names the same node, each listed name once. Requests filed after the
// plan's inputs were taken stay.
void RemoveAnswered(const Requests& answered, Requests* pending);

Plan MakePlan(const ClusterSpec& spec, const Observation& obs, const ClusterState& state,
              const PlanInputs& inputs);

// The synchronous_standby_names value for `names` with `count` required:
// "" when names is empty, `FIRST n (...)` when count >= n, else `ANY count (...)`.
std::string SynchronousStandbyNames(const std::vector<std::string>& names, int count);

}  // namespace pgvigil::plan
