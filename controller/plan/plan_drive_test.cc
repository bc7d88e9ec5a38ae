// Multi-call scenarios: plan, apply the plan's effects with the toy executor,
// observe again, until the planner has nothing left to do. They check where
// the cluster ends up and the order of the steps taken on the way.
#include <gtest/gtest.h>

#include "controller/plan/plan_fixture.h"

namespace pgvigil::plan::testing {
namespace {

// Plans and applies until a plan has no action and no requeue (or `limit`
// rounds); returns every action rendered, one plan per line.
std::string Converge(World& w, Plan* last, int limit = 20) {
  std::string log;
  for (int i = 0; i < limit; ++i) {
    *last = w.Run();
    if (last->actions.empty() && last->outcome != Outcome::kRequeueAfter) return log;
    log += Render(*last) + "\n";
    Apply(w, *last);
    w.in.now += 200;
    for (auto& o : w.obs.nodes) o.pgObservedAt = o.sidecarObservedAt = w.in.now;
    w.obs.watchdog.observedAt = w.in.now;
    w.in.requests = Requests{};
  }
  ADD_FAILURE() << "no convergence:\n" << log << last->summary;
  return log;
}

TEST(PlanDrive, PrimaryCrashFailsOverAndTheOtherStandbyFollows) {
  World w = Healthy3();
  w.N("c").receivedLsn = 99 * kMB;
  w.Crash("a");
  Plan last;
  const std::string log = Converge(w, &last);
  EXPECT_EQ(log,
            "fence a | write-state | publish-routing -:b,c | promote b\n"
            "write-state | write-state | publish-routing b: | follow c ->b\n"
            "write-state | publish-routing b:c\n");
  EXPECT_EQ(w.state.primary, "b");
  EXPECT_EQ(w.state.timeline, 2u);
  EXPECT_EQ(w.state.fenced, std::vector<std::string>{"a"});
  EXPECT_EQ(w.N("c").upstream, "b");
  EXPECT_EQ(last.phase, Phase::kDegraded);  // a is still down
}

TEST(PlanDrive, OldPrimaryReturnsIsRebuiltThenRoutedAgain) {
  World w = Healthy3();
  w.Crash("a");
  Plan last;
  (void)Converge(w, &last);
  // a's host comes back with PostgreSQL running as a primary on timeline 1.
  NodeObservation& a = w.N("a");
  a.sidecarReachable = a.pgReachable = a.postgresRunning = true;
  a.currentLsn = 100 * kMB + 8192;
  w.obs.watchdog.liveMembers = 3;
  w.obs.watchdog.backends["a"] = {0, 3};
  const std::string log = Converge(w, &last);
  EXPECT_EQ(log,
            "stop a immediate | rebuild a <-b | publish-routing b:c\n"  // a's proxy was away
            "write-state | unfence a | write-state | publish-routing b:a,c\n");
  EXPECT_TRUE(w.state.fenced.empty());
  EXPECT_EQ(w.state.routedStandbys, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(last.phase, Phase::kHealthy);
}

TEST(PlanDrive, SwitchoverPausesStopsPromotesFollowsResumes) {
  World w = Healthy3();
  w.spec.primary = "b";
  Plan last;
  const std::string log = Converge(w, &last);
  EXPECT_EQ(log,
            "write-state | checkpoint a | pause-proxies\n"
            "write-state | publish-routing -:b,c | stop a fast\n"
            "write-state | promote b\n"
            "write-state | publish-routing b: | resume-proxies | follow a ->b | follow c ->b\n"
            "write-state | publish-routing b:a,c\n");
  EXPECT_EQ(w.state.primary, "b");
  EXPECT_FALSE(w.state.transition.active());
  EXPECT_TRUE(w.state.fenced.empty());
  EXPECT_FALSE(w.N("a").proxyPaused);
  EXPECT_EQ(last.phase, Phase::kHealthy);
}

TEST(PlanDrive, SyncFailoverReestablishesSynchronousStandbys) {
  World w = HealthySync3();
  w.N("c").receivedLsn = 99 * kMB;
  w.Crash("a");
  Plan last;
  (void)Converge(w, &last);
  EXPECT_EQ(w.state.primary, "b");
  EXPECT_EQ(w.N("b").synchronousStandbyNames, "FIRST 1 (\"c\")");
  EXPECT_EQ(w.state.synchronousStandbys, std::vector<std::string>{"c"});
  EXPECT_EQ(w.state.synchronousCount, 1);
}

TEST(PlanDrive, BootstrapBuildsAnEmptyStandbyByBaseBackup) {
  World w = Healthy3();
  w.state = ClusterState{};
  w.AddNode("d");
  NodeObservation& d = w.N("d");
  d.pgObservedAt = d.sidecarObservedAt = kNow - 100;
  d.sidecarReachable = true;
  d.dataDirectoryInitialized = false;
  Plan last;
  const std::string log = Converge(w, &last);
  EXPECT_EQ(log,
            "write-state | rebuild d <-a basebackup | write-state | publish-routing a:b,c\n"
            "write-state | publish-routing a:b,c,d\n");
  EXPECT_EQ(last.phase, Phase::kHealthy);
}

// A new cluster whose primary's sidecar started first and fenced it (no
// majority within its lease): a is started again, recorded as the primary, and
// the standbys stream from it; a is never one of two writable nodes.
TEST(PlanDrive, BootstrapStartsTheFencedPrimaryAgain) {
  World w = Healthy3();
  w.state = ClusterState{};
  for (auto& o : w.obs.nodes) o.routingGeneration = 0;
  w.PgDown("a");
  w.N("a").dataDirectoryRole = DataDirectoryRole::kPrimary;
  Plan last;
  const std::string log = Converge(w, &last);
  EXPECT_EQ(log,
            "start a\n"
            "write-state | write-state | publish-routing a:b,c\n");
  EXPECT_EQ(w.state.primary, "a");
  EXPECT_EQ(w.state.timeline, 1u);
  EXPECT_EQ(last.phase, Phase::kHealthy);
}

// The whole cluster restarted and the primary's sidecar fenced it before the
// others were up: it is started again, then the stopped standbys.
TEST(PlanDrive, WholeClusterRestartStartsTheRecordedPrimaryAgain) {
  World w = Healthy3();
  for (const char* n : {"a", "b", "c"}) w.PgDown(n);
  w.N("a").dataDirectoryRole = DataDirectoryRole::kPrimary;
  w.N("b").dataDirectoryRole = w.N("c").dataDirectoryRole = DataDirectoryRole::kStandby;
  Plan last;
  const std::string log = Converge(w, &last);
  EXPECT_EQ(log.substr(0, log.find('\n')), "start a | write-state | publish-routing -:") << log;
  EXPECT_EQ(w.state.primary, "a");
  EXPECT_EQ(w.state.timeline, 1u);
  EXPECT_TRUE(w.state.fenced.empty());
  EXPECT_EQ(w.N("b").upstream, "a");
  EXPECT_EQ(w.N("c").upstream, "a");
  EXPECT_EQ(last.phase, Phase::kHealthy);
}

}  // namespace
}  // namespace pgvigil::plan::testing
