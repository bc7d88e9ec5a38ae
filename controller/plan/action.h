// The controller's actions: what the planner asks the actor (controller/act) to
// do, in order. The actor carries them out one by one with the controller's
// term. When an action marked `mustSucceed` fails, it stops there (the next
// plan starts from what is then observed); other actions are best effort (the
// failure is logged and the plan goes on). A plan's order is its safety: the
// record of the fence and the routing without the old primary come before a
// promote. Plain values; each carries a human reason that is logged and kept in
// the status's event list.
#pragma once

#include <string>
#include <vector>

#include "common/spec.h"
#include "controller/plan/cluster_state.h"

namespace pgvigil::plan {

enum class ActionKind {
  kFence,                   // node: tell its sidecar it is fenced (refuses writes/promotion)
  kUnfence,                 // node: rejoined as a healthy standby
  kPromote,                 // node: pg_ctl promote
  kFollow,                  // node: repoint to `upstream` (primary_conninfo + reload; start as
                            // standby when stopped)
  kRebuild,                 // node: pg_rewind or pg_basebackup from `upstream` (`method`)
  kStop,                    // node: stop PostgreSQL (`stopMode`)
  kStart,                   // node: start PostgreSQL (as it is configured)
  kPublishRouting,          // every reachable proxy: the routing table below (succeeds when
                            // every reachable proxy took it)
  kPauseProxies,            // every reachable proxy: hold new transactions
  kResumeProxies,           // every reachable proxy: release them
  kSetSynchronousStandbys,  // node (the primary): synchronous_standby_names
  kCheckpoint,              // node (the primary): CHECKPOINT, so a clean stop that follows
                            // writes little (a switchover's pause waits on that stop)
  kWriteState,              // the cluster-state register: `state`
  kAttach,                  // node: an operator's attach request is taken
  kDetach,                  // node: an operator's detach request is taken
  kRecordEvent,             // nothing to do but report `reason`
};
const char* ToString(ActionKind k);

struct RoutedStandby {
  std::string node;
  int weight = 1;
};

struct Action {
  ActionKind kind = ActionKind::kRecordEvent;
  std::string node;  // target node (empty for cluster-wide actions)
  std::string reason;
  bool mustSucceed = true;

  // kFollow, kRebuild
  std::string upstream;
  RecoveryMethod method = RecoveryMethod::kRewindOrBasebackup;  // kRebuild
  std::string stopMode = "fast";                                // kStop: "fast" | "immediate"

  // kPublishRouting
  uint64_t generation = 0;
  std::string primary;  // empty: no writable primary (writes fail closed)
  std::vector<RoutedStandby> standbys;
  std::vector<std::string> excluded;  // spec nodes routed nowhere

  // kSetSynchronousStandbys: the value, e.g. `ANY 1 ("b", "c")`, or "" for async.
  std::string synchronousStandbyNames;

  ClusterState state;  // kWriteState: the whole new state

  // "promote b: ..." style one-liner for logs and events.
  std::string Describe() const;
};

}  // namespace pgvigil::plan
