// Capacity after node loss (node_loss.h): one row per case of the decision,
// under both policies. Pure.
#include <gtest/gtest.h>

#include "controller/kube/node_loss.h"

namespace pgvigil::kube {
namespace {

using std::chrono::seconds;

NodeLossInstance Lost(bool fenced, Millis silent) {
  NodeLossInstance i;
  i.name = "demo-2";
  i.pod = "demo-2";
  i.podUid = "uid-2";
  i.nodeName = "node-b";
  i.fenced = fenced;
  i.silentFor = silent;
  return i;
}

TEST(NodeLoss, DecisionTable) {
  const Millis grace = seconds(60);
  struct Case {
    const char* name;
    NodeLossPolicy policy;
    NodeLossInstance instance;
    const char* step;  // "" = no decision
    const char* says;  // in the reason
  };
  auto with = [](NodeLossInstance i, auto f) {
    f(i);
    return i;
  };
  const auto W = NodeLossPolicy::kWait, R = NodeLossPolicy::kRecreateAfterFence;
  const Case cases[] = {
      {"WaitSilentWithinGrace", W, Lost(true, seconds(59)), "", ""},
      {"WaitSilentForGrace", W, Lost(false, seconds(60)), "wait-for-deletion",
       "demo-2 is lost (its sidecar has not answered for nodeLossGracePeriod (60s) on node node-b): waiting for "
       "Kubernetes to delete pod demo-2"},
      {"WaitAnswering", W, with(Lost(true, seconds(0)), [](auto& i) { i.answering = true; }), "", ""},
      {"WaitOutOfServiceAtOnce", W, with(Lost(false, seconds(0)), [](auto& i) { i.nodeOutOfService = true; }),
       "wait-for-deletion", "node node-b carries the node.kubernetes.io/out-of-service taint"},
      {"WaitNoPod", W, with(Lost(true, seconds(600)), [](auto& i) { i.pod.clear(); }), "", ""},
      {"RecreateFencedSilentForGrace", R, Lost(true, seconds(61)), "force-delete",
       "force-delete pod demo-2 (uid uid-2, gracePeriodSeconds 0)"},
      {"RecreateFencedWithinGrace", R, Lost(true, seconds(30)), "", ""},
      {"RecreateFencedAnswering", R, with(Lost(true, seconds(0)), [](auto& i) { i.answering = true; }), "", ""},
      {"RecreateNotFenced", R, Lost(false, seconds(600)), "wait-for-deletion",
       "not in status.fenced, so not force-deleted"},
      {"RecreateFencedOutOfServiceAtOnce", R,
       with(Lost(true, seconds(0)), [](auto& i) { i.nodeOutOfService = true; }), "force-delete",
       "out-of-service taint): it is fenced"},
      {"RecreateFencedNodeGone", R, with(Lost(true, seconds(1)), [](auto& i) { i.nodeGone = true; }), "force-delete",
       "node node-b no longer exists"},
      {"RecreateFencedNoUid", R, with(Lost(true, seconds(600)), [](auto& i) { i.podUid.clear(); }),
       "wait-for-deletion", "has no uid to delete it by"},
      {"RecreateNoPod", R, with(Lost(true, seconds(600)), [](auto& i) { i.pod.clear(); }), "", ""},
  };
  for (const auto& c : cases) {
    NodeLossInputs in;
    in.policy = c.policy;
    in.gracePeriod = grace;
    NodeLossInstance healthy;
    healthy.name = healthy.pod = "demo-0";
    healthy.podUid = "uid-0";
    healthy.answering = true;
    in.instances = {healthy, c.instance};
    const auto out = DecideNodeLoss(in);
    if (std::string(c.step).empty()) {
      EXPECT_TRUE(out.empty()) << c.name << ": " << (out.empty() ? "" : out[0].reason);
      continue;
    }
    ASSERT_EQ(out.size(), 1u) << c.name;
    EXPECT_EQ(ToString(out[0].step), std::string(c.step)) << c.name << ": " << out[0].reason;
    EXPECT_EQ(out[0].instance, "demo-2") << c.name;
    EXPECT_EQ(out[0].pod, "demo-2") << c.name;
    EXPECT_NE(out[0].reason.find(c.says), std::string::npos) << c.name << ": " << out[0].reason;
    if (out[0].step == NodeLossStep::kForceDelete) {
      EXPECT_EQ(out[0].podUid, "uid-2") << c.name;
    }
  }
}

// The wait's time limit (spec.podDeletionTimeout): reported stuck once the pod
// is still there that long after the first decision, with what the user can
// do; still a wait (never a force delete under Wait, never a second delete
// of a fenced pod a finalizer holds under RecreateAfterFence).
TEST(NodeLoss, APodThatDoesNotGoIsReportedStuckAfterTheTimeout) {
  const auto W = NodeLossPolicy::kWait, R = NodeLossPolicy::kRecreateAfterFence;
  auto decide = [](NodeLossPolicy policy, NodeLossInstance i) {
    NodeLossInputs in;
    in.policy = policy;
    in.gracePeriod = seconds(60);
    in.podDeletionTimeout = seconds(600);
    in.instances = {i};
    auto out = DecideNodeLoss(in);
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? NodeLossDecision{} : out[0];
  };
  NodeLossInstance i = Lost(true, seconds(700));
  i.terminating = true;
  i.waitedFor = seconds(599);
  NodeLossDecision d = decide(W, i);
  EXPECT_FALSE(d.timedOut) << d.reason;
  EXPECT_EQ(d.reason.find("STUCK"), std::string::npos) << d.reason;
  i.waitedFor = seconds(600);
  d = decide(W, i);
  EXPECT_TRUE(d.timedOut);
  EXPECT_EQ(d.step, NodeLossStep::kWaitForDeletion);
  EXPECT_NE(d.reason.find("STUCK: pod demo-2 still exists podDeletionTimeout (600s) after the first decision about "
                          "it and is terminating (its kubelet has not confirmed); still waiting"),
            std::string::npos)
      << d.reason;
  EXPECT_NE(d.reason.find("kubectl delete pod demo-2 --grace-period=0 --force"), std::string::npos) << d.reason;

  // RecreateAfterFence: a fenced pod a finalizer holds is not deleted again; stuck in turn.
  i.finalizers = {"example.com/backup"};
  i.waitedFor = seconds(30);
  d = decide(R, i);
  EXPECT_EQ(d.step, NodeLossStep::kWaitForDeletion) << d.reason;
  EXPECT_FALSE(d.timedOut);
  EXPECT_NE(d.reason.find("terminating and held by finalizers example.com/backup"), std::string::npos) << d.reason;
  i.waitedFor = seconds(601);
  d = decide(R, i);
  EXPECT_TRUE(d.timedOut) << d.reason;
  EXPECT_NE(d.reason.find("finalizers example.com/backup"), std::string::npos) << d.reason;
  // Terminating without finalizers: a force delete (grace 0) still removes it.
  i.finalizers.clear();
  d = decide(R, i);
  EXPECT_EQ(d.step, NodeLossStep::kForceDelete) << d.reason;
  EXPECT_FALSE(d.timedOut);
}

}  // namespace
}  // namespace pgvigil::kube
