// Scaling a PostgresCluster (KUBERNETES.md §3 scale subresource, §4.4): the next
// step from spec.instances towards the membership in force, one instance at a
// time. Pure: the controller feeds it what it knows and carries the step out.
//
// Two numbers are in force and recorded in the status (`status.scale`):
//   members  - the nodes of the rendered spec: NAME-config, what the planner
//              (controller/plan, unchanged) sees, the sidecars' watchdog members;
//   replicas - the StatefulSet's replicas.
// Scale up, NAME-m added: members and replicas m+1 together (the new pod's
// sidecar must find itself in NAME-config); the planner then rebuilds it by
// pg_basebackup and routes it once it streams. The next instance is added only
// when every member is settled (primary, or a routed streaming standby).
// Scale down, NAME-(m-1) removed: a switchover first when it is the primary (or
// the switchover's target); then `detach` (the planner takes it out of routing);
// then members m-1 (the planner forgets it, NAME-config and the sidecars shrink);
// then replicas m-1 (the StatefulSet deletes the pod).
// Majorities of N and N+1 members overlap, so one member at a time keeps any
// two majorities of consecutive memberships meeting; a step that would leave the
// new membership without a settled majority waits.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "controller/kube/cluster_resource.h"
#include "controller/plan/cluster_state.h"

namespace pgvigil::kube {

// One instance as the controller's last look saw it.
struct ScaleInstance {
  bool primary = false;    // writable, the recorded primary
  bool streaming = false;  // a standby whose WAL receiver streams from the primary
};

struct ScaleInputs {
  std::string cluster;  // metadata.name (instances are NAME-0 ... NAME-(n-1))
  int desired = 0;      // spec.instances
  int members = 0;      // in force (status.scale.members)
  int replicas = 0;     // in force (status.scale.replicas)
  plan::ClusterState state;
  std::map<std::string, ScaleInstance> instances;  // by name; missing: not seen
};

enum class ScaleStepKind {
  kSteady,         // members == replicas == desired
  kWait,           // reason says what for
  kAddInstance,    // members and replicas to the step's values (NAME-m joins)
  kSwitchover,     // ask the planner to switch over from `instance` to `target`
  kDetach,         // ask the planner to take `instance` out of routing
  kRemoveMember,   // members to the step's value (`instance` leaves the membership)
  kRemoveReplica,  // replicas to the step's value (the pod of `instance` is deleted)
};
const char* ToString(ScaleStepKind k);

struct ScaleStep {
  ScaleStepKind kind = ScaleStepKind::kSteady;
  int members = 0;       // in force after the step
  int replicas = 0;      // in force after the step
  std::string instance;  // the instance the step is about
  std::string target;    // kSwitchover: the new primary
  std::string waitReason;  // kWait: CamelCase condition reason (Progressing)
  std::string reason;      // one log line: what and why
  bool scaling() const { return kind != ScaleStepKind::kSteady; }
};

ScaleStep NextScaleStep(const ScaleInputs& in);

// The resource as it runs at `members` members and `replicas` replicas: `full` is
// the conversion with at least max(members, replicas) instances (the spec's
// count, or the count in force when that is higher); its nodes are cut to the
// first `members`. members >= 1, members <= full.instances.
ClusterResource AtScale(const ClusterResource& full, int members, int replicas);

}  // namespace pgvigil::kube
