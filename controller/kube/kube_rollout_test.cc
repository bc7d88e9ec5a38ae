// NextRolloutStep (kube_rollout.h) as a table: replicas first, highest ordinal
// first, only when every member is settled; a switchover to an updated
// standby when only the primary is left; waits with their reasons; and a walk
// through a whole rollout where the world follows each step.
#include "controller/kube/kube_rollout.h"

#include <gtest/gtest.h>

#include <functional>

namespace pgvigil::kube {
namespace {

constexpr const char* kOld = "demo-old";
constexpr const char* kNew = "demo-new";

// demo-0 the routed primary, demo-1 .. demo-(n-1) routed streaming standbys,
// every pod Ready on the old revision; the StatefulSet's update revision new.
RolloutInputs Settled(int n) {
  RolloutInputs in;
  in.cluster = "demo";
  in.members = n;
  in.updateRevision = kNew;
  in.observed = true;
  in.state.primary = in.state.routedPrimary = "demo-0";
  in.state.timeline = 1;
  for (int i = 0; i < n; ++i) {
    const std::string name = InstanceName("demo", i);
    in.pods[name] = RolloutPod{"uid-" + name, std::to_string(100 + i), kOld, true, false, false};
    if (i == 0) {
      in.instances[name].primary = true;
      continue;
    }
    in.instances[name].streaming = true;
    plan::AddName(&in.state.routedStandbys, name);
  }
  return in;
}

void Updated(RolloutInputs& in, const std::string& pod) {
  in.pods[pod].revision = kNew;
  in.pods[pod].uid = "new-" + pod;
}

void MakePrimary(RolloutInputs& in, const std::string& to) {
  plan::RemoveName(&in.state.routedStandbys, to);
  plan::AddName(&in.state.routedStandbys, in.state.primary);
  in.instances[in.state.primary] = ScaleInstance{false, true};
  in.instances[to] = ScaleInstance{true, false};
  in.state.primary = in.state.routedPrimary = to;
}

struct Case {
  const char* name;
  int members;
  std::function<void(RolloutInputs&)> change;
  RolloutStepKind want;
  std::string instance;   // "" = not checked
  std::string extra;      // kSwitchover: target; kWait: waitReason; kDeletePod: uid
  std::string reasonHas;  // part of the log line
};

TEST(KubeRollout, Table) {
  using K = RolloutStepKind;
  const Case cases[] = {
      {"SteadyWhenEveryPodIsUpdated", 3,
       [](RolloutInputs& in) {
         for (auto& [n, p] : in.pods) p.revision = kNew;
       },
       K::kSteady, "", "", "every pod is on revision demo-new"},
      {"HighestOrdinalStandbyFirst", 3, nullptr, K::kDeletePod, "demo-2", "uid-demo-2",
       "demo-2 is a standby and its pod is on revision demo-old"},
      {"ThenTheNextStandby", 3, [](RolloutInputs& in) { Updated(in, "demo-2"); }, K::kDeletePod, "demo-1",
       "uid-demo-1", "(1/3 updated)"},
      {"APrimaryOnTheHighestOrdinalIsNotDeletedFirst", 3, [](RolloutInputs& in) { MakePrimary(in, "demo-2"); },
       K::kDeletePod, "demo-1", "uid-demo-1", "demo-1 is a standby"},
      {"SwitchoverWhenOnlyThePrimaryIsLeft", 3,
       [](RolloutInputs& in) {
         Updated(in, "demo-1");
         Updated(in, "demo-2");
       },
       K::kSwitchover, "demo-0", "demo-1", "switch over to demo-1"},
      {"SwitchoverPrefersASynchronousStandby", 3,
       [](RolloutInputs& in) {
         Updated(in, "demo-1");
         Updated(in, "demo-2");
         in.state.synchronousStandbys = {"demo-2"};
         in.state.synchronousCount = 1;
       },
       K::kSwitchover, "demo-0", "demo-2", "(a synchronous standby)"},
      {"TheOldPrimaryIsDeletedOnceAStandby", 3,
       [](RolloutInputs& in) {
         Updated(in, "demo-1");
         Updated(in, "demo-2");
         MakePrimary(in, "demo-1");
       },
       K::kDeletePod, "demo-0", "uid-demo-0", "demo-0 is a standby"},
      {"NoSwitchoverToAStandbyNotStreaming", 3,
       [](RolloutInputs& in) {
         Updated(in, "demo-1");
         Updated(in, "demo-2");
         in.instances["demo-1"].streaming = false;
       },
       K::kWait, "", "InstanceNotReady", "demo-1 is not streaming"},
      {"SingleInstanceIsDeleted", 1, nullptr, K::kDeletePod, "demo-0", "uid-demo-0", "no standby to switch over to"},
      // --- waits: never two pods down, never during another change ---------------
      {"WaitsForTheReplacedPodToBeReady", 3,
       [](RolloutInputs& in) {
         Updated(in, "demo-2");
         in.pods["demo-2"].ready = false;
       },
       K::kWait, "", "InstanceNotReady", "demo-2's pod is not Ready"},
      {"WaitsForTheReplacedPodToStream", 3,
       [](RolloutInputs& in) {
         Updated(in, "demo-2");
         in.instances["demo-2"].streaming = false;
       },
       K::kWait, "", "InstanceNotReady", "demo-2 is not streaming"},
      {"WaitsUntilItIsRoutedAgain", 3,
       [](RolloutInputs& in) {
         Updated(in, "demo-2");
         plan::RemoveName(&in.state.routedStandbys, "demo-2");
       },
       K::kWait, "", "InstanceNotReady", "demo-2 is not routed"},
      {"WaitsForAMissingPod", 3, [](RolloutInputs& in) { in.pods.erase("demo-1"); }, K::kWait, "",
       "InstanceNotReady", "demo-1 has no pod"},
      {"WaitsForATerminatingPod", 3, [](RolloutInputs& in) { in.pods["demo-2"].terminating = true; }, K::kWait, "",
       "InstanceNotReady", "demo-2's pod is terminating"},
      {"WaitsForAnUnobservedInstance", 3, [](RolloutInputs& in) { in.instances.erase("demo-1"); }, K::kWait, "",
       "InstanceNotReady", "demo-1 is not observed"},
      {"WaitsForAWritablePrimary", 3, [](RolloutInputs& in) { in.instances["demo-0"].primary = false; }, K::kWait,
       "", "InstanceNotReady", "demo-0 is not the routed writable primary"},
      {"WaitsForATransition", 3,
       [](RolloutInputs& in) {
         in.state.transition.kind = plan::TransitionKind::kFailover;
         in.state.transition.from = "demo-0";
         in.state.transition.to = "demo-1";
       },
       K::kWait, "", "TransitionRunning", "failover from demo-0 to demo-1"},
      {"WaitsForARebuild", 3, [](RolloutInputs& in) { in.rebuilding = "demo-1"; }, K::kWait, "", "RebuildRunning",
       "rebuild of demo-1"},
      {"ScalingGoesFirst", 3, [](RolloutInputs& in) { in.scaling = true; }, K::kWait, "", "Scaling",
       "scaling goes first"},
      {"WaitsForAPrimary", 3, [](RolloutInputs& in) { in.state = plan::ClusterState{}; }, K::kWait, "", "NoPrimary",
       "waits for a primary"},
      {"WaitsUntilTheStatefulSetIsObserved", 3, [](RolloutInputs& in) { in.observed = false; }, K::kWait, "",
       "StatefulSetNotObserved", "update revision"},
      {"BootstrapWithEveryPodUpdatedIsSteady", 3,
       [](RolloutInputs& in) {
         in.state = plan::ClusterState{};
         for (auto& [n, p] : in.pods) p.revision = kNew;
       },
       K::kSteady, "", "", "every pod"},
      // --- restart-only parameters ---------------------------------------------------
      {"PendingRestartOnAnUpdatedStandby", 3,
       [](RolloutInputs& in) {
         for (auto& [n, p] : in.pods) p.revision = kNew;
         in.pods["demo-1"].pendingRestart = true;
       },
       K::kDeletePod, "demo-1", "uid-demo-1", "restart-only parameter change pending"},
      {"PendingRestartOnThePrimaryAlone", 3,
       [](RolloutInputs& in) {
         for (auto& [n, p] : in.pods) p.revision = kNew;
         in.pods["demo-0"].pendingRestart = true;
       },
       K::kSwitchover, "demo-0", "demo-1", "restart-only parameter"},
      {"EndsOnlyOnceTheLastReplacedPodIsBack", 3,
       [](RolloutInputs& in) {
         for (auto& [n, p] : in.pods) p.revision = kNew;
         in.pods["demo-0"].ready = false;
         in.finishing = true;
       },
       K::kWait, "", "InstanceNotReady", "every pod is updated; ends once demo-0 is settled"},
      {"NotFinishingAnUnreadyPodIsNotTheRollouts", 3,
       [](RolloutInputs& in) {
         for (auto& [n, p] : in.pods) p.revision = kNew;
         in.pods["demo-0"].ready = false;
       },
       K::kSteady, "", "", "every pod"},
      // Pods beyond the membership (a scale-down under way) are not the rollout's.
      {"PodsBeyondTheMembersAreIgnored", 3,
       [](RolloutInputs& in) {
         for (auto& [n, p] : in.pods) p.revision = kNew;
         in.pods["demo-3"] = RolloutPod{"u3", "1", kOld, false, false, false};
       },
       K::kSteady, "", "", "every pod"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    RolloutInputs in = Settled(c.members);
    if (c.change) c.change(in);
    RolloutStep s = NextRolloutStep(in);
    EXPECT_EQ(ToString(s.kind), std::string(ToString(c.want))) << s.reason;
    if (!c.instance.empty()) {
      EXPECT_EQ(s.instance, c.instance) << s.reason;
    }
    if (c.want == K::kSwitchover) {
      EXPECT_EQ(s.target, c.extra);
    }
    if (c.want == K::kWait) {
      EXPECT_EQ(s.waitReason, c.extra);
    }
    if (c.want == K::kDeletePod) {
      EXPECT_EQ(s.uid, c.extra);
      EXPECT_EQ(s.resourceVersion, in.pods[s.instance].resourceVersion) << "the precondition is the pod as read";
    }
    EXPECT_NE(s.reason.find(c.reasonHas), std::string::npos) << s.reason;
    EXPECT_EQ(s.rolling(), c.want != K::kSteady);
  }
}

// A whole rollout of three instances: the world follows each step (a deleted
// pod comes back on the new revision, not Ready, then Ready and streaming; a
// switchover happens). Never a delete while another pod is not settled; the
// primary's pod last.
TEST(KubeRollout, WalkThrough) {
  RolloutInputs in = Settled(3);
  std::vector<std::string> trail;
  int down = 0;
  for (int round = 0; round < 40; ++round) {
    RolloutStep s = NextRolloutStep(in);
    in.finishing = s.rolling();
    if (s.kind == RolloutStepKind::kSteady) break;
    if (s.kind == RolloutStepKind::kWait) {
      ASSERT_EQ(s.waitReason, "InstanceNotReady") << s.reason;
      // The replaced pod comes back: Ready, streaming, routed.
      for (auto& [n, p] : in.pods)
        if (!p.ready) {
          p.ready = true;
          in.instances[n] = ScaleInstance{false, true};
          plan::AddName(&in.state.routedStandbys, n);
          --down;
        }
      continue;
    }
    trail.push_back(std::string(ToString(s.kind)) + " " + s.instance);
    if (s.kind == RolloutStepKind::kSwitchover) {
      MakePrimary(in, s.target);
      continue;
    }
    ASSERT_EQ(down, 0) << "a second pod deleted while one is down: " << s.reason;
    ASSERT_NE(s.instance, in.state.primary) << "the primary's pod deleted: " << s.reason;
    ++down;
    RolloutPod& p = in.pods[s.instance];
    p = RolloutPod{"new-" + s.instance, "900", kNew, false, false, false};
    in.instances.erase(s.instance);
    plan::RemoveName(&in.state.routedStandbys, s.instance);
  }
  const std::vector<std::string> want = {"delete-pod demo-2", "delete-pod demo-1", "switchover demo-0",
                                         "delete-pod demo-0"};
  EXPECT_EQ(trail, want);
  EXPECT_EQ(down, 0) << "steady only once the last replaced pod is back";
  for (const auto& [n, p] : in.pods) EXPECT_EQ(p.revision, kNew) << n;
  EXPECT_EQ(in.state.primary, "demo-1") << "the lowest ordinal among the updated standbys (none synchronous)";
}

}  // namespace
}  // namespace pgvigil::kube
