// Synchronous-mode scenarios: which standby may be promoted (FIRST/ANY rules)
// and the record-then-set / set-then-record order of synchronous_standby_names.
// Base: a primary with `ANY 1 ("b", "c")` in effect and recorded.
#include <gtest/gtest.h>

#include "controller/plan/plan_fixture.h"

namespace pgvigil::plan::testing {
namespace {

void FirstOneB(World& w) {  // c tagged noFailover: only b is listed and recorded
  w.S("c").noFailover = true;
  w.N("a").synchronousStandbyNames = "FIRST 1 (\"b\")";
  w.state.synchronousStandbys = {"b"};
  w.state.synchronousCount = 1;
}

// a crashed, failing over to c whose promotion failed (c was down when chosen);
// b has received less than c.
void PromotionOfCFailed(World& w) {
  w.Crash("a");
  w.N("b").receivedLsn = 99 * kMB;
  w.state.transition = {TransitionKind::kFailover, "a", "c", TransitionStep::kFencing, kNow - 300, 0};
  w.state.fenced = {"a"};
  w.state.routedPrimary = "";
  w.N("c").operation = Op(OperationKind::kPromote, OperationState::kFailed);
}

const std::vector<Scenario>& SyncScenarios() {
  static const std::vector<Scenario> all = {
      {"sync_healthy_does_nothing", [](World&) {}, "", H, DONE},
      {"sync_any1_of_2_both_seen_promotes_the_highest",
       [](World& w) {
         w.N("b").receivedLsn = 99 * kMB;
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:b,c | promote c", F, AGAIN},
      {"sync_any1_of_2_only_one_seen_no_failover",
       [](World& w) {
         w.Crash("a");
         w.PgDown("c");
       },
       "write-state | publish-routing -:b", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_NE(p.summary.find("2 are needed"), std::string::npos) << p.summary;
       }},
      {"sync_first1_recorded_standby_promoted_though_behind_an_async_one",
       [](World& w) {
         FirstOneB(w);
         w.N("b").receivedLsn = 99 * kMB;
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:b,c | promote b", F, AGAIN},
      {"sync_first1_recorded_standby_down_no_failover",
       [](World& w) {
         FirstOneB(w);
         w.Crash("a");
         w.PgDown("b");
       },
       "write-state | publish-routing -:c", D, AGAIN},
      {"sync_newest_recorded_standby_not_promotable_no_failover",
       [](World& w) {
         w.S("c").noFailover = true;  // tagged after it was recorded
         w.N("b").receivedLsn = 99 * kMB;
         w.Crash("a");
       },
       "write-state | publish-routing -:b,c", D, AGAIN},
      // A standby restarted while the primary is down has no receive position
      // until it has replayed its own pg_wal (observed as 0): how much WAL it holds
      // is not known yet, so it does not count among the standbys seen.
      {"sync_restarted_standby_still_replaying_is_not_counted",
       [](World& w) {
         w.Crash("a");
         w.N("b").upstream.clear();
         w.N("b").receivedLsn = 0;
         w.N("b").replayedLsn = 90 * kMB;
       },
       "write-state | publish-routing -:b,c", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_NE(p.summary.find("WAL position not known yet: b"), std::string::npos) << p.summary;
       }},
      // Its promotion failed (it was down when chosen); back as a standby with the
      // newest WAL, it is promoted again rather than the failover staying stuck.
      {"sync_failed_candidate_back_is_promoted_again", PromotionOfCFailed, "promote c", F, AGAIN},
      {"sync_failed_candidate_still_down_stays_stuck",
       [](World& w) {
         PromotionOfCFailed(w);
         w.PgDown("c");
       },
       "write-state | publish-routing -:b", F, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_NE(p.summary.find("stuck"), std::string::npos) << p.summary;
       }},
      {"sync_nothing_recorded_no_failover",
       [](World& w) {
         w.state.synchronousStandbys.clear();
         w.state.synchronousCount = 0;
         w.N("a").synchronousStandbyNames.clear();
         w.Crash("a");
       },
       "write-state | publish-routing -:b,c", D, AGAIN},
      {"sync_first2_one_seen_is_enough",
       [](World& w) {
         w = HealthySync3(2);
         w.Crash("a");
         w.PgDown("c");
       },
       "fence a | write-state | publish-routing -:b | promote b", F, AGAIN},
      {"sync_new_standby_is_recorded_before_it_is_listed",
       [](World& w) {
         w.N("a").synchronousStandbyNames = "FIRST 1 (\"b\")";
         w.state.synchronousStandbys = {"b"};
       },
       "write-state | set-synchronous-standbys a 'ANY 1 (\"b\", \"c\")'", H, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_EQ(p.actions[0].state.synchronousStandbys, (std::vector<std::string>{"b", "c"}));
         EXPECT_EQ(p.actions[0].state.synchronousCount, 1);
       }},
      {"sync_lost_standby_is_unlisted_before_it_is_unrecorded", [](World& w) { w.Crash("c"); },
       "set-synchronous-standbys a 'FIRST 1 (\"b\")' | write-state | publish-routing a:b", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_EQ(p.actions[1].state.synchronousStandbys, (std::vector<std::string>{"b", "c"}));
       }},
      {"sync_smaller_list_in_effect_waits_for_its_members_to_flush",
       [](World& w) {
         w.Crash("c");
         w.state.routedStandbys = {"b"};
         w.N("a").synchronousStandbyNames = "FIRST 1 (\"b\")";
         w.N("a").currentLsn = 100 * kMB + 4096;
       },
       "write-state", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_EQ(p.actions[0].state.syncShrinkLsn, 100 * kMB + 4096);
         EXPECT_EQ(p.actions[0].state.synchronousStandbys, (std::vector<std::string>{"b", "c"}));
       }},
      {"sync_smaller_list_recorded_once_flushed",
       [](World& w) {
         w.Crash("c");
         w.state.routedStandbys = {"b"};
         w.state.syncShrinkLsn = 100 * kMB;
         w.N("a").synchronousStandbyNames = "FIRST 1 (\"b\")";
         w.N("a").currentLsn = 100 * kMB + 4096;
       },
       "write-state", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_EQ(p.actions[0].state.synchronousStandbys, std::vector<std::string>{"b"});
         EXPECT_EQ(p.actions[0].state.syncShrinkLsn, 0u);
       }},
      {"sync_no_standby_left_clears_the_list",
       [](World& w) {
         w.PgDown("b");
         w.PgDown("c");
       },
       "start b | start c | set-synchronous-standbys a '' | write-state | publish-routing a:", R,
       AGAIN},
      {"sync_standby_still_catching_up_is_not_listed",
       [](World& w) { w.N("a").replication[1].state = "catchup"; },
       "set-synchronous-standbys a 'FIRST 1 (\"b\")'", H, AGAIN},
      {"sync_raising_the_count_sets_before_recording",
       [](World& w) { w.spec.replication.synchronousCount = 2; },
       "set-synchronous-standbys a 'FIRST 2 (\"b\", \"c\")'", H, AGAIN},
      {"sync_raised_count_in_effect_is_recorded_once_flushed",
       [](World& w) {
         w.spec.replication.synchronousCount = 2;
         w.N("a").synchronousStandbyNames = "FIRST 2 (\"b\", \"c\")";
       },
       "write-state", H, AGAIN,
       [](const World&, const Plan& p) { EXPECT_EQ(p.actions[0].state.synchronousCount, 2); }},
      {"async_mode_clears_the_list_first",
       [](World& w) { w.spec.replication.mode = ReplicationMode::kAsync; },
       "set-synchronous-standbys a ''", H, AGAIN},
      {"async_mode_then_clears_the_record",
       [](World& w) {
         w.spec.replication.mode = ReplicationMode::kAsync;
         w.N("a").synchronousStandbyNames.clear();
       },
       "write-state", H, AGAIN},
  };
  return all;
}

class PlanSyncScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(PlanSyncScenario, ActionsPhaseOutcome) { RunScenario(GetParam(), HealthySync3()); }

INSTANTIATE_TEST_SUITE_P(Table, PlanSyncScenario, ::testing::ValuesIn(SyncScenarios()),
                         ScenarioName);

}  // namespace
}  // namespace pgvigil::plan::testing
