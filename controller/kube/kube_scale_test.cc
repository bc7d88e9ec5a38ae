// NextScaleStep (kube_scale.h) as a table: one instance at a time, up only when
// every member is settled, down by switchover (the primary leaving), detach,
// membership, then replicas; waits with their reasons.
#include "controller/kube/kube_scale.h"

#include <gtest/gtest.h>

#include <functional>

namespace pgvigil::kube {
namespace {

// demo-0 the routed primary, demo-1 .. demo-(n-1) routed streaming standbys;
// members and replicas n.
ScaleInputs Settled(int n, int desired) {
  ScaleInputs in;
  in.cluster = "demo";
  in.desired = desired;
  in.members = in.replicas = n;
  in.state.primary = in.state.routedPrimary = "demo-0";
  in.state.timeline = 1;
  in.instances["demo-0"].primary = true;
  for (int i = 1; i < n; ++i) {
    const std::string name = InstanceName("demo", i);
    in.instances[name].streaming = true;
    plan::AddName(&in.state.routedStandbys, name);
  }
  return in;
}

void MakePrimary(ScaleInputs& in, const std::string& to) {
  plan::RemoveName(&in.state.routedStandbys, to);
  plan::AddName(&in.state.routedStandbys, in.state.primary);
  in.instances[in.state.primary] = ScaleInstance{false, true};
  in.instances[to] = ScaleInstance{true, false};
  in.state.primary = in.state.routedPrimary = to;
}

struct Case {
  const char* name;
  int members, desired;
  std::function<void(ScaleInputs&)> change;
  ScaleStepKind want;
  int wantMembers, wantReplicas;
  std::string instance;   // the step's instance ("" = not checked)
  std::string extra;      // kSwitchover: target; kWait: waitReason
  std::string reasonHas;  // part of the log line
};

TEST(KubeScale, Table) {
  using K = ScaleStepKind;
  const Case cases[] = {
      {"Steady", 3, 3, nullptr, K::kSteady, 3, 3, "", "", "3 instances"},
      // --- up -------------------------------------------------------------------
      {"UpAddsTheNextOrdinal", 3, 5, nullptr, K::kAddInstance, 4, 4, "demo-3", "", "demo-3 joins"},
      {"UpWaitsForTheNewInstanceToStream", 4, 5,
       [](ScaleInputs& in) {
         in.instances["demo-3"].streaming = false;
         plan::RemoveName(&in.state.routedStandbys, "demo-3");
       },
       K::kWait, 4, 4, "", "InstanceNotStreaming", "demo-3 is not yet"},
      {"UpWaitsUntilTheNewInstanceIsRouted", 4, 5,
       [](ScaleInputs& in) { plan::RemoveName(&in.state.routedStandbys, "demo-3"); }, K::kWait, 4, 4, "",
       "InstanceNotStreaming", "demo-3"},
      {"UpWaitsForABrokenMember", 3, 5, [](ScaleInputs& in) { in.instances.erase("demo-1"); }, K::kWait, 3, 3, "",
       "InstanceNotStreaming", "demo-1"},
      {"UpAfterTheLastOneStreams", 4, 5, nullptr, K::kAddInstance, 5, 5, "demo-4", "", "members 4 -> 5"},
      {"UpWaitsForATransition", 3, 5,
       [](ScaleInputs& in) {
         in.state.transition.kind = plan::TransitionKind::kFailover;
         in.state.transition.from = "demo-0";
         in.state.transition.to = "demo-1";
       },
       K::kWait, 3, 3, "", "TransitionRunning", "failover from demo-0 to demo-1"},
      {"UpWaitsForAPrimary", 3, 5, [](ScaleInputs& in) { in.state = plan::ClusterState{}; }, K::kWait, 3, 3, "",
       "NoPrimary", "bootstrap"},
      {"UpWhenThePrimaryIsNotRouted", 3, 4, [](ScaleInputs& in) { in.state.routedPrimary.clear(); }, K::kWait, 3,
       3, "", "InstanceNotStreaming", "demo-0"},
      {"FewerReplicasThanMembersAreRestored", 4, 4, [](ScaleInputs& in) { in.replicas = 3; }, K::kAddInstance, 4,
       4, "demo-3", "", "3 replicas for 4 members"},
      // --- down -----------------------------------------------------------------
      {"DownDetachesTheHighestOrdinalFirst", 5, 3, nullptr, K::kDetach, 5, 5, "demo-4", "", "out of routing first"},
      {"DownWaitsForRoutingWithoutIt", 5, 3, [](ScaleInputs& in) { plan::AddName(&in.state.detached, "demo-4"); },
       K::kWait, 5, 5, "", "RoutingNotUpdated", "routing without it"},
      {"DownShrinksTheMembershipOnceUnrouted", 5, 3,
       [](ScaleInputs& in) {
         plan::AddName(&in.state.detached, "demo-4");
         plan::RemoveName(&in.state.routedStandbys, "demo-4");
       },
       K::kRemoveMember, 4, 5, "demo-4", "", "members 5 -> 4"},
      {"DownThenTheReplica", 4, 3, [](ScaleInputs& in) { in.replicas = 5; }, K::kRemoveReplica, 4, 4, "demo-4", "",
       "replicas 5 -> 4"},
      {"DownTheReplicaEvenAtTheTarget", 4, 4, [](ScaleInputs& in) { in.replicas = 5; }, K::kRemoveReplica, 4, 4,
       "demo-4", "", "no longer a member"},
      {"DownTheReplicaEvenDuringATransition", 4, 3,
       [](ScaleInputs& in) {
         in.replicas = 5;
         in.state.transition.kind = plan::TransitionKind::kSwitchover;
       },
       K::kRemoveReplica, 4, 4, "demo-4", "", ""},
      {"DownNextMemberAfterTheReplica", 4, 3, nullptr, K::kDetach, 4, 4, "demo-3", "", "demo-3 leaves"},
      {"UpAgainTakesBackARemovedMembersPod", 4, 5, [](ScaleInputs& in) { in.replicas = 5; }, K::kAddInstance, 5, 5,
       "demo-4", "", "demo-4 joins"},
      {"DownThePrimarySwitchesOverFirst", 5, 3, [](ScaleInputs& in) { MakePrimary(in, "demo-4"); }, K::kSwitchover,
       5, 5, "demo-4", "demo-0", "switch over to demo-0"},
      {"DownThePrimaryPrefersASynchronousStandby", 5, 3,
       [](ScaleInputs& in) {
         MakePrimary(in, "demo-4");
         in.state.synchronousStandbys = {"demo-2"};
         in.state.synchronousCount = 1;
       },
       K::kSwitchover, 5, 5, "demo-4", "demo-2", "a synchronous standby"},
      {"DownThePrimaryNoEligibleStandby", 4, 3,
       [](ScaleInputs& in) {
         MakePrimary(in, "demo-3");
         for (const char* n : {"demo-0", "demo-1", "demo-2"}) in.instances[n].streaming = false;
       },
       K::kWait, 4, 4, "", "NoEligibleStandby", "needs a switchover first"},
      {"DownWaitsWhenTheRestWouldHaveNoMajority", 5, 4,
       [](ScaleInputs& in) {
         plan::AddName(&in.state.detached, "demo-4");
         plan::RemoveName(&in.state.routedStandbys, "demo-4");
         in.instances.erase("demo-1");
         in.instances.erase("demo-2");
       },
       K::kWait, 5, 5, "", "WouldLoseMajority", "2 of the 4 remaining members"},
      {"DownWaitsForATransition", 5, 3,
       [](ScaleInputs& in) { in.state.transition.kind = plan::TransitionKind::kSwitchover; }, K::kWait, 5, 5, "",
       "TransitionRunning", "switchover"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScaleInputs in = Settled(c.members, c.desired);
    if (c.change) c.change(in);
    ScaleStep s = NextScaleStep(in);
    EXPECT_EQ(ToString(s.kind), std::string(ToString(c.want))) << s.reason;
    EXPECT_EQ(s.members, c.wantMembers) << s.reason;
    EXPECT_EQ(s.replicas, c.wantReplicas) << s.reason;
    if (!c.instance.empty()) {
      EXPECT_EQ(s.instance, c.instance) << s.reason;
    }
    if (c.want == K::kSwitchover) {
      EXPECT_EQ(s.target, c.extra);
    }
    if (c.want == K::kWait) {
      EXPECT_EQ(s.waitReason, c.extra) << s.reason;
    }
    EXPECT_NE(s.reason.find(c.reasonHas), std::string::npos) << s.reason;
    EXPECT_EQ(s.scaling(), c.want != K::kSteady);
  }
}

// Steps carried out one after another reach the target one instance at a time:
// each step changes members or replicas by at most one.
TEST(KubeScale, UpAndDownOneAtATime) {
  ScaleInputs in = Settled(3, 5);
  std::vector<std::string> trail;
  for (int round = 0; round < 40; ++round) {
    ScaleStep s = NextScaleStep(in);
    if (s.kind == ScaleStepKind::kSteady) break;
    ASSERT_NE(s.kind, ScaleStepKind::kWait) << s.reason;
    EXPECT_LE(std::abs(s.members - in.members), 1) << s.reason;
    EXPECT_LE(std::abs(s.replicas - in.replicas), 1) << s.reason;
    trail.push_back(std::string(ToString(s.kind)) + " " + s.instance);
    // The world follows: a joined instance streams and is routed; a detached one is
    // unrouted; a member removed is forgotten by the planner; a switchover happens.
    switch (s.kind) {
      case ScaleStepKind::kAddInstance:
        in.instances[s.instance] = ScaleInstance{false, true};
        plan::AddName(&in.state.routedStandbys, s.instance);
        break;
      case ScaleStepKind::kDetach:
        plan::AddName(&in.state.detached, s.instance);
        plan::RemoveName(&in.state.routedStandbys, s.instance);
        break;
      case ScaleStepKind::kRemoveMember:
        plan::RemoveName(&in.state.detached, s.instance);
        break;
      case ScaleStepKind::kRemoveReplica:
        in.instances.erase(s.instance);
        break;
      case ScaleStepKind::kSwitchover:
        MakePrimary(in, s.target);
        break;
      default:
        break;
    }
    in.members = s.members;
    in.replicas = s.replicas;
    if (trail.size() == 2) {
      in.desired = 3;  // back down at once, with the primary on the highest ordinal
      MakePrimary(in, "demo-4");
    }
  }
  const std::vector<std::string> want = {
      "add-instance demo-3",   "add-instance demo-4",   "switchover demo-4",     "detach demo-4",
      "remove-member demo-4",  "remove-replica demo-4", "detach demo-3",         "remove-member demo-3",
      "remove-replica demo-3",
  };
  EXPECT_EQ(trail, want);
  EXPECT_EQ(in.members, 3);
  EXPECT_EQ(in.replicas, 3);
  EXPECT_EQ(in.state.primary, "demo-0");
}

}  // namespace
}  // namespace pgvigil::kube
