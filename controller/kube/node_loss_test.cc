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

}  // namespace
}  // namespace pgvigil::kube
