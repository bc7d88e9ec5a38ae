// The Kubernetes side of planning (KUBERNETES.md §3, §5, §6), pure: from the
// planner's ClusterState (controller/plan/cluster_state.h, unchanged on
// Kubernetes) to
//  - the labels and annotations each pod should carry, as merge patches that
//    carry the pod's metadata.resourceVersion (409 when it moved: re-read);
//  - the status phase and conditions;
//  - the manual fence annotation pgvigil.io/fenced-instances, parsed.
// No I/O, no clock: times and observations come in as values.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/spec.h"
#include "controller/kube/render_labels.h"
#include "controller/plan/cluster_state.h"
#include "controller/plan/observation.h"

namespace pgvigil::kube {

// ---- manual fencing (§6) ----

// pgvigil.io/fenced-instances on the PostgresCluster: '["demo-1"]' or '["*"]'.
struct ManualFence {
  bool all = false;
  std::vector<std::string> names;  // sorted, unique; empty when `all`
  bool Contains(const std::string& instance) const;
  // The fenced instances among `instances` ("*" expanded), sorted.
  std::vector<std::string> Expand(const std::vector<std::string>& instances) const;
  bool operator==(const ManualFence& o) const { return all == o.all && names == o.names; }
};

// An absent or empty annotation is no fence. Anything but a JSON list of
// instance names of this cluster (or "*") is an error naming the annotation
// and the problem; the caller then keeps the fence it had: nothing changes.
Result<ManualFence> ParseFencedInstances(const std::string& annotation,
                                         const std::vector<std::string>& instances);

// What the annotation asks of the state's operator-detached list.
struct FenceChange {
  std::vector<std::string> fence;    // to detach (PostgreSQL stopped, not routed)
  std::vector<std::string> unfence;  // to rejoin (follow or rewind)
  bool empty() const { return fence.empty() && unfence.empty(); }
};
// Detached instances that are not members (any more), and `leaving` (the
// instance a scale-down takes out, kube_scale.h), are never unfenced.
FenceChange ManualFenceChange(const ManualFence& fence, const plan::ClusterState& state,
                              const std::vector<std::string>& instances, const std::string& leaving = "");

// ---- pod labels (§5) ----

enum class PodRole { kPrimary, kReplica, kFenced, kUnrouted };
const char* ToString(PodRole r);

// Whether a majority of watchdog members sees an instance's sidecar live.
enum class Liveness { kUnknown, kLive, kNotLive };

// The majority view from the watchdog leader's member list: with a live leader
// holding quorum (a majority renews its lease) and write leases reported, an
// instance whose host can no longer hold a write lease (the leader has not heard
// it for deadTime) is not live, the others are. Anything less: unknown.
std::map<std::string, Liveness> LivenessFromWatchdog(const plan::WatchdogView& view,
                                                     const std::vector<std::string>& instances);

struct LabelInputs {
  plan::ClusterState state;
  uint64_t term = 0;                         // the acting controller's term
  std::vector<std::string> instances;        // NAME-0 ... as in status
  std::map<std::string, Liveness> liveness;  // absent: unknown
  std::vector<std::string> manuallyFenced;   // ManualFence::Expand
  // Replay lag in bytes where known; a routed standby past `delayThreshold`
  // (proxy.loadBalancing.delayThreshold; 0: no check) is labelled unrouted.
  std::map<std::string, uint64_t> lagBytes;
  uint64_t delayThreshold = 0;
};

// `fenced` (in state.fenced, manually fenced, or the outgoing primary of a
// transition), else `primary` (the routed primary), else `replica` (a routed
// standby within the lag limit), else `unrouted`.
PodRole RoleOf(const LabelInputs& in, const std::string& instance);

// A pod as the watch cache holds it.
struct PodMeta {
  std::string name;
  std::string resourceVersion;
  std::map<std::string, std::string> labels, annotations;
  std::string uid;       // metadata.uid
  std::string nodeName;  // spec.nodeName ("" until scheduled)
  bool terminating = false;             // metadata.deletionTimestamp is set
  std::vector<std::string> finalizers;  // metadata.finalizers
};

struct PodPatch {
  std::string pod;
  web::json::value patch;  // application/merge-patch+json
  PodRole role = PodRole::kUnrouted;
  bool demotes = false;  // takes the pod out of NAME-rw, NAME-ro or NAME
};

// The patches that bring each instance's pod to its labels
// (pgvigil.io/role; pgvigil.io/pool "true" when live by majority, removed
// when not, untouched when unknown) and annotations (pgvigil.io/term,
// pgvigil.io/routing-generation); pods already right get none. Demotions come
// first (the old primary is labelled fenced before anyone is labelled primary).
// Error when a pod carries a term above `in.term` (this controller is deposed
// and must patch nothing) or an instance's pod has no resourceVersion.
Result<std::vector<PodPatch>> PodLabelPatches(const LabelInputs& in,
                                              const std::vector<PodMeta>& pods);

// ---- status phase and conditions (§3) ----

// status.instancesStatus: {healthy, down, rebuilding}, each a list of instance
// names in the order of `instances`. Healthy: PostgreSQL answers as primary or
// as a streaming standby; rebuilding: a rebuild runs (even if also healthy);
// down: every other instance. Names not among `instances` are ignored.
web::json::value InstancesStatusJson(const std::vector<std::string>& instances,
                                     const std::vector<std::string>& healthy,
                                     const std::vector<std::string>& rebuilding);

// A wait of the controller's, with its time limit (§3: PodPending, PVCPending,
// NoConsensus, WaitingForLeaseExpiry, TargetUnreachable, NoEligibleStandby,
// RewindFailed, RebuildFailed, WaitingForPodDeletion, RBACDenied).
struct Wait {
  std::string reason;
  std::string message;
  bool timedOut = false;
};

struct StatusInputs {
  plan::ClusterState state;
  int64_t generation = 0;  // the custom resource's metadata.generation
  int instances = 0;
  int readyInstances = 0;
  std::vector<std::string> rebuilding;  // instances with a rebuild running
  // Declared standbys not streaming from the primary (StandbysNotStreaming,
  // status_report.h): Degraded, reason StandbysNotStreaming, once bootstrapped
  // and no failover or switchover runs.
  std::vector<std::string> notStreaming;
  bool specValid = true;
  std::string specErrors;       // "spec.path: reason" lines
  ReplicationSpec replication;  // of the accepted spec
  bool consensusKnown = false;  // the watchdog view was observed
  bool quorum = false;          // a leader holds a majority lease
  std::vector<std::string> manuallyFenced;
  std::optional<Wait> wait;
  // Members that did not take the accepted postgres.parameters ("demo-1:
  // spec.postgres.parameters.work_mem: why"): Degraded, ParametersNotApplied.
  std::vector<std::string> parameterFailures;
  // The accepted resource's postgres.parameters a sidecar's PostgreSQL would
  // refuse (KubeActuator::CheckParameters), "" for none: SpecValid=False,
  // reason ParametersInvalid; the last applied spec stays in force.
  std::string parametersRefused;
  std::string now;                                       // RFC 3339, for lastTransitionTime
  web::json::value previous = web::json::value::null();  // status.conditions before
};

inline constexpr size_t kMaxConditionMessage = 4096;

struct Condition {
  std::string type;
  std::string status;   // "True", "False", "Unknown"
  std::string reason;   // CamelCase
  std::string message;  // at most kMaxConditionMessage bytes
  std::string lastTransitionTime;
  int64_t observedGeneration = 0;
  web::json::value ToJson() const;
};

struct StatusSummary {
  std::string
      phase;  // Creating Healthy Degraded FailingOver SwitchingOver Rebuilding Unrecoverable
  std::string phaseReason;
  std::vector<Condition> conditions;  // Ready SpecValid Progressing Degraded ConsensusHealthy
                                      // SyncReplicationSatisfied Fenced, in that order
  const Condition* Find(const std::string& type) const;
  web::json::value ConditionsJson() const;
};

// lastTransitionTime moves to `now` only when a condition's status changes.
StatusSummary SummarizeStatus(const StatusInputs& in);

}  // namespace pgvigil::kube
