// Rolling updates of a PostgresCluster (KUBERNETES.md §4.4): the next step
// that brings every pod to the StatefulSet's update revision. The StatefulSet
// is OnDelete (render_statefulset.cc), so a changed pod template (image,
// resources, tolerations, ...) reaches a pod only when the controller deletes
// it and the StatefulSet controller creates it again from the new template.
// Pure: the controller feeds it what it knows and carries the step out.
//
// Order (replicas first, the primary last):
//  1. while any member is not settled (its pod Ready and not terminating, the
//     primary up and routed, every other member a routed streaming standby):
//     wait. So at most one pod is ever down because of the rollout, and each
//     replaced pod is back Ready and streaming before the next is deleted;
//  2. a member that is not the primary and not on the update revision: delete
//     its pod (DELETE with uid and resourceVersion preconditions: a pod
//     replaced or changed since the look is not deleted), highest ordinal first;
//  3. only the primary left on the old revision: switch over to an updated
//     routed streaming standby (synchronous ones first, then the lowest
//     ordinal); the planner moves idle sessions and fences the old primary;
//  4. the old primary, now a standby, is deleted by step 2;
//  5. the rollout ends (steady) once every member is settled again.
// A single-instance cluster has no standby to switch to: its one pod is
// deleted (writes stop until it is back).
// Never while a failover or switchover runs (state.transition), a rebuild
// runs, or a scale step is under way: scaling takes precedence and the rollout
// waits for it (the scale steps change the membership the settle check uses).
// A pod whose PostgreSQL reports a restart-only parameter change
// (pg_settings.pending_restart) counts as outdated like a pod on the old
// revision: deleting it restarts PostgreSQL with the new value.
#pragma once

#include <map>
#include <string>

#include "controller/kube/kube_scale.h"
#include "controller/plan/cluster_state.h"

namespace pgvigil::kube {

// A pod of the StatefulSet as last read.
struct RolloutPod {
  std::string uid;
  std::string resourceVersion;
  std::string revision;        // label controller-revision-hash
  bool ready = false;          // condition Ready=True
  bool terminating = false;    // metadata.deletionTimestamp set
  bool pendingRestart = false; // a restart-only parameter waits for a restart
};

struct RolloutInputs {
  std::string cluster;  // instances are NAME-0 ... NAME-(members-1)
  int members = 0;      // the membership in force (status.scale.members)
  // The StatefulSet's status.updateRevision, and whether its status is for
  // its current spec (status.observedGeneration == metadata.generation).
  std::string updateRevision;
  bool observed = false;
  bool scaling = false;  // a scale step (kube_scale.h) other than steady
  // The previous step was not steady: with every pod on the update revision,
  // the rollout ends only once every member is settled again (the last
  // replaced pod back Ready and streaming).
  bool finishing = false;
  std::string rebuilding;  // an instance with a rebuild running, "" for none
  plan::ClusterState state;
  std::map<std::string, ScaleInstance> instances;  // by name; missing: not seen
  std::map<std::string, RolloutPod> pods;          // by pod name; missing: no pod
};

enum class RolloutStepKind {
  kSteady,      // every member's pod on the update revision, none pending a restart
  kWait,        // waitReason and reason say what for
  kDeletePod,   // delete `instance`'s pod with the preconditions uid, resourceVersion
  kSwitchover,  // ask the planner to switch over from `instance` to `target`
};
const char* ToString(RolloutStepKind k);

struct RolloutStep {
  RolloutStepKind kind = RolloutStepKind::kSteady;
  std::string instance;
  std::string target;                   // kSwitchover
  std::string uid, resourceVersion;     // kDeletePod: the preconditions
  int updated = 0;                      // members whose pod is on the update revision
  int members = 0;
  std::string waitReason;  // kWait: CamelCase condition reason (Progressing)
  std::string reason;      // one log line: what and why
  bool rolling() const { return kind != RolloutStepKind::kSteady; }
};

RolloutStep NextRolloutStep(const RolloutInputs& in);

}  // namespace pgvigil::kube
