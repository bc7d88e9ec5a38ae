#include "controller/kube/node_loss.h"

#include "common/strings.h"

namespace pgvigil::kube {

const char* ToString(NodeLossStep s) {
  return s == NodeLossStep::kForceDelete ? "force-delete" : "wait-for-deletion";
}

namespace {

std::string Seconds(Millis d) { return std::to_string(d.count() / 1000) + "s"; }

// Why the instance counts as lost; "" when it does not.
std::string LostBecause(const NodeLossInstance& i, Millis grace) {
  const std::string node = "node " + (i.nodeName.empty() ? std::string("(none)") : i.nodeName);
  if (i.nodeOutOfService) return node + " carries the " + std::string(kOutOfServiceTaint) + " taint";
  if (i.nodeGone) return node + " no longer exists";
  if (!i.answering && i.silentFor >= grace)
    return "its sidecar has not answered for nodeLossGracePeriod (" + Seconds(grace) + ")" +
           (i.nodeName.empty() ? "" : " on " + node);
  return "";
}

}  // namespace

std::vector<NodeLossDecision> DecideNodeLoss(const NodeLossInputs& in) {
  std::vector<NodeLossDecision> out;
  for (const auto& i : in.instances) {
    if (i.pod.empty()) continue;  // gone: the StatefulSet recreates it
    const std::string lost = LostBecause(i, in.gracePeriod);
    if (lost.empty()) continue;
    NodeLossDecision d;
    d.instance = i.name;
    d.pod = i.pod;
    d.podUid = i.podUid;
    const std::string head = i.name + " is lost (" + lost + "): ";
    const std::string wait = "waiting for Kubernetes to delete pod " + i.pod +
                             " (node removed, out-of-service taint or a force delete); the StatefulSet recreates it";
    const bool held = i.terminating && !i.finalizers.empty();
    if (in.policy == NodeLossPolicy::kWait) {
      d.reason = head + wait + " (nodeLossPolicy Wait)";
    } else if (i.fenced && held) {
      d.reason = head + "it is fenced, but pod " + i.pod + " is terminating and held by finalizers " +
                 Join(i.finalizers) + ", which a force delete cannot remove; " + wait +
                 " (nodeLossPolicy RecreateAfterFence)";
    } else if (!i.fenced) {
      d.reason = head + "not in status.fenced, so not force-deleted; " + wait + " (nodeLossPolicy RecreateAfterFence)";
    } else if (i.podUid.empty()) {
      d.reason = head + "pod " + i.pod + " has no uid to delete it by; " + wait;
    } else {
      d.step = NodeLossStep::kForceDelete;
      d.reason = head + "it is fenced (it rejoins only by rewind or rebuild under a newer term): force-delete pod " +
                 i.pod + " (uid " + i.podUid + ", gracePeriodSeconds 0) so the StatefulSet recreates it " +
                 "(nodeLossPolicy RecreateAfterFence)";
    }
    if (i.waitedFor >= in.podDeletionTimeout && d.step == NodeLossStep::kWaitForDeletion) {
      d.timedOut = true;
      d.reason += "; STUCK: pod " + i.pod + " still exists podDeletionTimeout (" + Seconds(in.podDeletionTimeout) +
                  ") after the first decision about it" +
                  (i.terminating ? " and is terminating (its kubelet has not confirmed)" : "") +
                  (i.finalizers.empty() ? "" : ", finalizers " + Join(i.finalizers)) +
                  "; still waiting, never force-deleted by the controller here: once node " +
                  (i.nodeName.empty() ? std::string("(none)") : i.nodeName) +
                  " is known down, taint it " + kOutOfServiceTaint + " or run kubectl delete pod " + i.pod +
                  " --grace-period=0 --force" + (i.finalizers.empty() ? "" : " after the finalizers' owners let go");
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace pgvigil::kube
