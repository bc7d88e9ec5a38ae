// Capacity after node loss (KUBERNETES.md §6, spec.nodeLossPolicy and
// spec.nodeLossGracePeriod): what the acting controller does about the pod of
// an instance whose node is gone. Pure: the kube actuator (kube_actuator.h)
// feeds it what it saw (pods, the ClusterState's `fenced`, how long each
// sidecar has not answered its looks, node taints) and carries the decisions
// out.
//
// An instance counts as lost when its sidecar has not answered for
// nodeLossGracePeriod, or at once when its pod's node carries the
// node.kubernetes.io/out-of-service taint or no longer exists. For a lost
// instance whose pod still exists:
//  - Wait (default): wait for Kubernetes to delete the pod (node removed,
//    out-of-service taint, a user's force delete); the StatefulSet then
//    recreates it. Status condition WaitingForPodDeletion names the pod.
//  - RecreateAfterFence: when the instance is in the state's `fenced` (so it
//    rejoins only by rewind or rebuild under a newer term), force-delete the
//    pod (DeleteOptions preconditions {uid}, gracePeriodSeconds 0); a lost
//    instance not in `fenced` (a standby, or a primary not yet failed over)
//    is waited for as under Wait.
// An instance whose pod does not exist (the StatefulSet recreates it) or
// that is not lost gets no decision.
//
// The wait has a time limit, spec.podDeletionTimeout (10m by default), timed
// from the first decision about that pod (uid): a pod still there after it
// (its kubelet never confirms a graceful delete, a finalizer holds it) is
// reported stuck (timedOut: WaitingForPodDeletionTimedOut, a Warning Event)
// and still waited for: the controller never removes finalizers and, under
// Wait, never force-deletes, since only the user knows the node is down (a
// kubelet cut off from the API may still run the pod; the term and the write
// lease keep it from taking writes, but its volume stays attached there). The
// reason says what the user can do. Under RecreateAfterFence a fenced pod is
// force-deleted; one already Terminating with finalizers is not deleted again
// (a force delete cannot remove it), it is waited for and named stuck in turn.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "controller/kube/cluster_resource.h"

namespace pgvigil::kube {

inline constexpr char kOutOfServiceTaint[] = "node.kubernetes.io/out-of-service";

struct NodeLossInstance {
  std::string name;             // NAME-i
  std::string pod;              // its pod's name; "" when no pod exists
  std::string podUid;           // the pod's metadata.uid (the delete's precondition)
  std::string nodeName;         // the pod's spec.nodeName ("" when not scheduled)
  bool fenced = false;          // in the ClusterState's `fenced`
  bool answering = false;       // its sidecar answered the last look
  Millis silentFor{0};          // how long its sidecar has not answered (as this controller saw)
  bool nodeOutOfService = false;  // its node carries node.kubernetes.io/out-of-service
  bool nodeGone = false;          // its node does not exist (404)
  bool terminating = false;       // the pod carries metadata.deletionTimestamp
  std::vector<std::string> finalizers;  // the pod's metadata.finalizers
  Millis waitedFor{0};  // since the first decision about this pod (uid), as this controller saw
};

struct NodeLossInputs {
  NodeLossPolicy policy = NodeLossPolicy::kWait;
  Millis gracePeriod{std::chrono::minutes(5)};
  Millis podDeletionTimeout{std::chrono::minutes(10)};
  std::vector<NodeLossInstance> instances;
};

enum class NodeLossStep {
  kWaitForDeletion,  // the pod stays until Kubernetes deletes it (WaitingForPodDeletion)
  kForceDelete,      // DELETE the pod: preconditions {uid}, gracePeriodSeconds 0
};
const char* ToString(NodeLossStep s);

struct NodeLossDecision {
  NodeLossStep step = NodeLossStep::kWaitForDeletion;
  std::string instance, pod, podUid;
  // For the log, the Event and the condition message; the same while nothing
  // changes (no running durations), so it is logged once.
  std::string reason;
  // The pod is still there podDeletionTimeout after the first decision about
  // it: reported stuck (the wait goes on).
  bool timedOut = false;
};

// One decision per lost instance whose pod exists, in the order of `instances`.
std::vector<NodeLossDecision> DecideNodeLoss(const NodeLossInputs& in);

}  // namespace pgvigil::kube
