// Status phase and conditions (KUBERNETES.md §3) from the cluster state, as a
// table of the states users see: creating, healthy, each way of being
// degraded, failover and switchover, rebuilding, waits within and past their
// limits, a bad spec, fences; and lastTransitionTime kept while a condition's
// status holds.
#include <gtest/gtest.h>

#include <functional>

#include "controller/kube/kube_plan.h"

namespace pgvigil::kube {
namespace {

using plan::TransitionKind;
using plan::TransitionStep;
using web::json::value;

StatusInputs Healthy() {
  StatusInputs in;
  in.state.primary = in.state.routedPrimary = "demo-0";
  in.state.timeline = 2;
  in.state.routedStandbys = {"demo-1", "demo-2"};
  in.state.synchronousStandbys = {"demo-1"};
  in.state.synchronousCount = 1;
  in.replication.mode = ReplicationMode::kSync;
  in.replication.synchronousCount = 1;
  in.generation = 4;
  in.instances = in.readyInstances = 3;
  in.consensusKnown = in.quorum = true;
  in.now = "2026-12-05T20:00:00Z";
  return in;
}

// "Phase | Ready=True(PrimaryRouted) ..." with the conditions in their order.
std::string Show(const StatusSummary& s) {
  std::string out = s.phase + " |";
  for (const auto& c : s.conditions) out += " " + c.type + "=" + c.status + "(" + c.reason + ")";
  return out;
}

TEST(KubePlanStatusTest, PhasesAndConditions) {
  struct Case {
    const char* name;
    std::function<void(StatusInputs&)> change;
    const char* shown;
  };
  const Case cases[] = {
      {"healthy", [](StatusInputs&) {},
       "Healthy | Ready=True(PrimaryRouted) SpecValid=True(Accepted) Progressing=False(Settled) "
       "Degraded=False(AllInstancesHealthy) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=False(NoneFenced)"},
      {"creating, pods pending",
       [](StatusInputs& in) {
         in.state = plan::ClusterState{};
         in.readyInstances = 0;
         in.consensusKnown = false;
         in.wait = Wait{"PodPending", "demo-0 is Pending", false};
       },
       "Creating | Ready=False(Creating) SpecValid=True(Accepted) Progressing=True(PodPending) "
       "Degraded=True(InstancesNotReady) ConsensusHealthy=Unknown(NotObserved) "
       "SyncReplicationSatisfied=False(NotEnoughSynchronousStandbys) Fenced=False(NoneFenced)"},
      {"failover",
       [](StatusInputs& in) {
         in.state.transition = {TransitionKind::kFailover, "demo-0", "demo-1"};
         in.state.routedPrimary = "";
         in.state.fenced = {"demo-0"};
         in.readyInstances = 2;
       },
       "FailingOver | Ready=False(FailingOver) SpecValid=True(Accepted) "
       "Progressing=True(FailingOver) "
       "Degraded=True(NoRoutedPrimary) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=True(InstancesFenced)"},
      {"switchover",
       [](StatusInputs& in) {
         in.state.transition = {TransitionKind::kSwitchover, "demo-0", "demo-1",
                                TransitionStep::kPaused};
       },
       "SwitchingOver | Ready=False(SwitchingOver) SpecValid=True(Accepted) "
       "Progressing=True(SwitchingOver) "
       "Degraded=False(AllInstancesHealthy) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=False(NoneFenced)"},
      {"rebuilding",
       [](StatusInputs& in) {
         in.rebuilding = {"demo-2"};
         in.readyInstances = 2;
       },
       "Rebuilding | Ready=True(PrimaryRouted) SpecValid=True(Accepted) "
       "Progressing=True(Rebuilding) "
       "Degraded=True(InstancesNotReady) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=False(NoneFenced)"},
      {"no eligible standby past its limit: unrecoverable",
       [](StatusInputs& in) {
         in.state.routedPrimary = "";
         in.state.fenced = {"demo-0"};
         in.readyInstances = 0;
         in.wait = Wait{"NoEligibleStandby", "no standby within maximumLagBytes", true};
       },
       "Unrecoverable | Ready=False(NoRoutedPrimary) SpecValid=True(Accepted) "
       "Progressing=False(NoEligibleStandbyTimedOut) Degraded=True(NoRoutedPrimary) "
       "ConsensusHealthy=True(MajorityLive) SyncReplicationSatisfied=True(Satisfied) "
       "Fenced=True(InstancesFenced)"},
      {"a wait past its limit while writes work",
       [](StatusInputs& in) {
         in.readyInstances = 2;
         in.wait = Wait{"WaitingForPodDeletion", "demo-2 on a lost node", true};
       },
       "Degraded | Ready=True(PrimaryRouted) SpecValid=True(Accepted) "
       "Progressing=False(WaitingForPodDeletionTimedOut) Degraded=True(InstancesNotReady) "
       "ConsensusHealthy=True(MajorityLive) SyncReplicationSatisfied=True(Satisfied) "
       "Fenced=False(NoneFenced)"},
      {"sync standbys missing", [](StatusInputs& in) { in.state.synchronousStandbys = {}; },
       "Degraded | Ready=True(PrimaryRouted) SpecValid=True(Accepted) Progressing=False(Settled) "
       "Degraded=True(SyncReplicationNotSatisfied) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=False(NotEnoughSynchronousStandbys) Fenced=False(NoneFenced)"},
      {"async replication needs no sync standby",
       [](StatusInputs& in) {
         in.replication.mode = ReplicationMode::kAsync;
         in.state.synchronousStandbys = {};
       },
       "Healthy | Ready=True(PrimaryRouted) SpecValid=True(Accepted) Progressing=False(Settled) "
       "Degraded=False(AllInstancesHealthy) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(NotRequired) Fenced=False(NoneFenced)"},
      {"no watchdog majority", [](StatusInputs& in) { in.quorum = false; },
       "Degraded | Ready=True(PrimaryRouted) SpecValid=True(Accepted) Progressing=False(Settled) "
       "Degraded=True(NoConsensus) ConsensusHealthy=False(NoConsensus) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=False(NoneFenced)"},
      {"manual fence",
       [](StatusInputs& in) {
         in.manuallyFenced = {"demo-2"};
         in.readyInstances = 2;
       },
       "Degraded | Ready=True(PrimaryRouted) SpecValid=True(Accepted) Progressing=False(Settled) "
       "Degraded=True(InstancesNotReady) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=True(ManualFence)"},
      // The standbys' base backups failed: their pods answer, nothing streams.
      {"standbys up but not streaming",
       [](StatusInputs& in) {
         in.notStreaming = {"demo-1", "demo-2"};
         in.replication.mode = ReplicationMode::kAsync;
         in.state.synchronousStandbys = {};
       },
       "Degraded | Ready=True(PrimaryRouted) SpecValid=True(Accepted) Progressing=False(Settled) "
       "Degraded=True(StandbysNotStreaming) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(NotRequired) Fenced=False(NoneFenced)"},
      {"a standby not streaming and not ready: both reasons, not-ready first",
       [](StatusInputs& in) {
         in.notStreaming = {"demo-2"};
         in.readyInstances = 2;
       },
       "Degraded | Ready=True(PrimaryRouted) SpecValid=True(Accepted) Progressing=False(Settled) "
       "Degraded=True(InstancesNotReady) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=False(NoneFenced)"},
      {"a rebuild keeps its phase over a standby not streaming",
       [](StatusInputs& in) {
         in.notStreaming = {"demo-2"};
         in.rebuilding = {"demo-2"};
         in.readyInstances = 2;
       },
       "Rebuilding | Ready=True(PrimaryRouted) SpecValid=True(Accepted) Progressing=True(Rebuilding) "
       "Degraded=True(InstancesNotReady) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=False(NoneFenced)"},
      {"a switchover in progress is not also called not streaming",
       [](StatusInputs& in) {
         in.state.transition = {TransitionKind::kSwitchover, "demo-0", "demo-1", TransitionStep::kPaused};
         in.notStreaming = {"demo-2"};
       },
       "SwitchingOver | Ready=False(SwitchingOver) SpecValid=True(Accepted) "
       "Progressing=True(SwitchingOver) "
       "Degraded=False(AllInstancesHealthy) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=False(NoneFenced)"},
      {"a bad spec changes nothing else",
       [](StatusInputs& in) {
         in.specValid = false;
         in.specErrors = "spec.vip: refused on Kubernetes";
       },
       "Healthy | Ready=True(PrimaryRouted) SpecValid=False(Invalid) Progressing=False(Settled) "
       "Degraded=False(AllInstancesHealthy) ConsensusHealthy=True(MajorityLive) "
       "SyncReplicationSatisfied=True(Satisfied) Fenced=False(NoneFenced)"},
  };
  for (const auto& c : cases) {
    StatusInputs in = Healthy();
    c.change(in);
    EXPECT_EQ(Show(SummarizeStatus(in)), c.shown) << c.name;
  }
}

TEST(KubePlanStatusTest, MessagesSayWhat) {
  StatusInputs in = Healthy();
  in.specValid = false;
  in.specErrors = "spec.vip: refused on Kubernetes";
  in.manuallyFenced = {"demo-2"};
  in.state.fenced = {"demo-1"};
  in.readyInstances = 1;
  StatusSummary s = SummarizeStatus(in);
  EXPECT_EQ(s.Find("SpecValid")->message,
            "spec.vip: refused on Kubernetes\nthe last accepted spec stays in force");
  EXPECT_EQ(s.Find("Fenced")->message, "fenced: demo-1, demo-2");
  EXPECT_EQ(s.Find("Degraded")->message, "1/3 ready; fenced: demo-1, demo-2");
  EXPECT_EQ(s.phaseReason, "1/3 ready");
  EXPECT_EQ(s.Find("Ready")->observedGeneration, 4);
  in = Healthy();
  in.state.transition = {TransitionKind::kSwitchover, "demo-0", "demo-1",
                         TransitionStep::kStopping};
  EXPECT_EQ(SummarizeStatus(in).phaseReason, "switchover from demo-0 to demo-1 (stopping)");
}

TEST(KubePlanStatusTest, StandbysNotStreamingNameThePrimaryAndTheStandbys) {
  StatusInputs in = Healthy();
  in.notStreaming = {"demo-1", "demo-2"};
  const StatusSummary s = SummarizeStatus(in);
  EXPECT_EQ(s.phase, "Degraded");
  EXPECT_EQ(s.phaseReason, "not streaming from the primary demo-0: demo-1, demo-2");
  EXPECT_EQ(s.Find("Degraded")->message, "not streaming from the primary demo-0: demo-1, demo-2");
}

// A member that did not take the accepted postgres.parameters (its push
// answered `failed`) makes the cluster Degraded, naming the pod and setting.
TEST(KubePlanStatusTest, ParametersNotTakenAreDegradedNamingThePodAndSetting) {
  StatusInputs in = Healthy();
  in.parameterFailures = {"demo-1: spec.postgres.parameters.work_mem: PostgreSQL refused work_mem"};
  StatusSummary s = SummarizeStatus(in);
  EXPECT_EQ(s.phase, "Degraded");
  ASSERT_NE(s.Find("Degraded"), nullptr);
  EXPECT_EQ(s.Find("Degraded")->status, "True");
  EXPECT_EQ(s.Find("Degraded")->reason, "ParametersNotApplied");
  EXPECT_NE(s.Find("Degraded")->message.find("demo-1: spec.postgres.parameters.work_mem"), std::string::npos)
      << s.Find("Degraded")->message;
  EXPECT_NE(s.phaseReason.find("work_mem"), std::string::npos) << s.phaseReason;
}

TEST(KubePlanStatusTest, LongMessagesAreBounded) {
  StatusInputs in = Healthy();
  in.specValid = false;
  for (int i = 0; i < 2000; ++i) in.specErrors += "spec.x: \u00e9 refused\n";
  const StatusSummary summary = SummarizeStatus(in);
  const std::string& m = summary.Find("SpecValid")->message;
  EXPECT_LE(m.size(), kMaxConditionMessage);
  EXPECT_EQ(m.rfind("spec.x: ", 0), 0u);
  EXPECT_NE(m.find("bytes in all)"), std::string::npos);
  EXPECT_TRUE(value::string(m).serialize().size() > 0);  // still valid UTF-8 for the JSON body
}

TEST(KubePlanStatusTest, TransitionTimeMovesOnlyWithTheStatus) {
  StatusInputs in = Healthy();
  in.now = "2026-12-05T20:00:00Z";
  value first = SummarizeStatus(in).ConditionsJson();
  EXPECT_EQ(first.at(0).at("lastTransitionTime").as_string(), "2026-12-05T20:00:00Z");
  EXPECT_EQ(first.at(0).at("type").as_string(), "Ready");
  EXPECT_EQ(first.size(), 7u);

  in.previous = first;
  in.now = "2026-12-05T20:05:00Z";
  in.quorum = false;  // ConsensusHealthy and Degraded flip; the rest holds
  StatusSummary second = SummarizeStatus(in);
  EXPECT_EQ(second.Find("Ready")->lastTransitionTime, "2026-12-05T20:00:00Z");
  EXPECT_EQ(second.Find("SpecValid")->lastTransitionTime, "2026-12-05T20:00:00Z");
  EXPECT_EQ(second.Find("ConsensusHealthy")->lastTransitionTime, "2026-12-05T20:05:00Z");
  EXPECT_EQ(second.Find("Degraded")->lastTransitionTime, "2026-12-05T20:05:00Z");
  // A reason change under the same status keeps the time.
  in.previous = second.ConditionsJson();
  in.now = "2026-12-05T20:09:00Z";
  in.readyInstances = 2;
  EXPECT_EQ(SummarizeStatus(in).Find("Degraded")->reason, "InstancesNotReady");
  EXPECT_EQ(SummarizeStatus(in).Find("Degraded")->lastTransitionTime, "2026-12-05T20:05:00Z");
  // Garbage in the previous conditions is ignored.
  in.previous = value::parse(R"([1, {"type": 3}, {"type": "Ready"}])");
  EXPECT_EQ(SummarizeStatus(in).Find("Ready")->lastTransitionTime, "2026-12-05T20:09:00Z");
}

// status.instancesStatus: every instance in exactly one list, in instance
// order; a rebuild running counts as rebuilding even when the instance answers;
// names that are not instances are ignored.
TEST(InstancesStatus, EachInstanceInOneListInOrder) {
  const std::vector<std::string> names = {"demo-0", "demo-1", "demo-2"};
  EXPECT_EQ(InstancesStatusJson(names, {"demo-2", "demo-0", "demo-1"}, {}).serialize(),
            R"({"healthy":["demo-0","demo-1","demo-2"],"down":[],"rebuilding":[]})");
  EXPECT_EQ(InstancesStatusJson(names, {"demo-1"}, {"demo-0"}).serialize(),
            R"({"healthy":["demo-1"],"down":["demo-2"],"rebuilding":["demo-0"]})");
  EXPECT_EQ(InstancesStatusJson(names, {"demo-2", "other-0"}, {"demo-2"}).serialize(),
            R"({"healthy":[],"down":["demo-0","demo-1"],"rebuilding":["demo-2"]})");
  EXPECT_EQ(InstancesStatusJson(names, {}, {}).serialize(),
            R"({"healthy":[],"down":["demo-0","demo-1","demo-2"],"rebuilding":[]})");
}

}  // namespace
}  // namespace pgvigil::kube
