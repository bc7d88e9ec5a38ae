// Table-driven planner scenarios: each starts from a healthy three-node cluster
// (a primary, b and c streaming; see plan_fixture.h), changes what is observed
// or recorded, and asserts the exact action sequence, the phase and the outcome.
#include <gtest/gtest.h>

#include <functional>

#include "controller/plan/plan_fixture.h"

namespace pgvigil::plan::testing {
namespace {

// The cluster after a failover a -> b: b primary on timeline 2 (forked at 100MB),
// c still on timeline 1 pointed at a, a crashed and fenced.
World AfterFailover() {
  World w = Healthy3();
  w.Crash("a");
  NodeObservation& b = w.N("b");
  b.inRecovery = false;
  b.timeline = 2;
  b.history = {{1, 100 * kMB}};
  b.currentLsn = 101 * kMB;
  b.upstream = b.configuredUpstream = "";
  NodeObservation& c = w.N("c");
  c.replayedLsn = c.receivedLsn = 99 * kMB;
  w.state.primary = "b";
  w.state.timeline = 2;
  w.state.fenced = {"a"};
  w.state.routingGeneration = 7;
  w.state.routedPrimary = "b";
  w.state.routedStandbys = {};
  for (auto& o : w.obs.nodes) o.routingGeneration = 7;
  return w;
}

// c rebuilt/following b on timeline 2, a back: PostgreSQL up as an old primary.
World OldPrimaryBack() {
  World w = AfterFailover();
  NodeObservation& c = w.N("c");
  c.timeline = 2;
  c.upstream = c.configuredUpstream = "b";
  c.receivedLsn = c.replayedLsn = 101 * kMB;
  w.state.routedStandbys = {"c"};
  NodeObservation& a = w.N("a");
  a.sidecarReachable = a.pgReachable = a.postgresRunning = true;
  a.inRecovery = false;
  a.currentLsn = 100 * kMB + 4096;
  w.obs.watchdog.liveMembers = 3;
  w.obs.watchdog.backends["a"] = {0, 3};
  return w;
}

// PostgreSQL on n stopped, its data directory the given role (its sidecar says).
void Stopped(World& w, const std::string& n, DataDirectoryRole role) {
  w.PgDown(n);
  w.N(n).dataDirectoryRole = role;
}

// A new cluster: nothing recorded, a's sidecar fenced its primary (it heard no
// majority within its lease), b and c running standbys.
World NewClusterPrimaryFenced() {
  World w = Healthy3();
  w.state = ClusterState{};
  for (auto& o : w.obs.nodes) o.routingGeneration = 0;
  Stopped(w, "a", DataDirectoryRole::kPrimary);
  return w;
}

// The whole cluster restarted: a recorded primary, its sidecar fenced it; b and
// c stopped too (nothing can be promoted).
void AllStoppedPrimaryFenced(World& w) {
  Stopped(w, "a", DataDirectoryRole::kPrimary);
  Stopped(w, "b", DataDirectoryRole::kStandby);
  Stopped(w, "c", DataDirectoryRole::kStandby);
}

bool SummaryHas(const Plan& p, const std::string& text) {
  return p.summary.find(text) != std::string::npos;
}

Transition Switchover(TransitionStep step) {
  Transition t;
  t.kind = TransitionKind::kSwitchover;
  t.from = "a";
  t.to = "b";
  t.step = step;
  t.startedAt = kNow - 100;
  t.stopLsn = 100 * kMB;
  return t;
}

// A row's check: the plan's summary says `text`.
std::function<void(const World&, const Plan&)> SummarySays(std::string text) {
  return [text](const World&, const Plan& p) { EXPECT_TRUE(SummaryHas(p, text)) << p.summary; };
}

// b, a standby of a, promoted: writable on timeline 2, forked where a stopped.
void BPromoted(World& w) {
  NodeObservation& b = w.N("b");
  b.inRecovery = false;
  b.timeline = 2;
  b.history = {{1, 100 * kMB + 104}};
  b.upstream = b.configuredUpstream = "";
}

// A switchover a -> b in its stopping step: routing without a writable
// primary published, a stopped cleanly.
void SwitchoverStoppedOldPrimary(World& w) {
  w.spec.primary = "b";
  w.state.transition = Switchover(TransitionStep::kStopping);
  w.state.routedPrimary = "";
  w.state.routingGeneration = 6;
  for (auto& o : w.obs.nodes) o.routingGeneration = 6;
  w.PgDown("a");
}

// ... and b replayed all it received, but not a's shutdown checkpoint.
void SwitchoverTargetWithoutTheShutdownCheckpoint(World& w) {
  SwitchoverStoppedOldPrimary(w);
  w.N("a").checkpointLsn = 100 * kMB + 200;
  w.N("b").receivedLsn = w.N("b").replayedLsn = 100 * kMB + 104;
}

// ... past the step's time limit: the switchover aborts and a is to be
// restarted.
void AbortedSwitchoverOldPrimaryStopped(World& w) {
  SwitchoverTargetWithoutTheShutdownCheckpoint(w);
  w.state.transition.startedAt = kNow - 30'000;
}

// A switchover a -> b in its promoting step: a stopped, b replayed all its
// WAL and its promote was sent (the sidecar runs it).
void SwitchoverPromotingTarget(World& w) {
  SwitchoverStoppedOldPrimary(w);
  w.state.transition.step = TransitionStep::kPromoting;
  w.N("b").receivedLsn = w.N("b").replayedLsn = 100 * kMB + 104;
  w.N("b").operation = Op(OperationKind::kPromote, OperationState::kRunning);
}

// ... and b is not observed: its host cut off (the last values kept say a
// standby, its promote running).
void SwitchoverPromotingTargetUnobserved(World& w) {
  SwitchoverPromotingTarget(w);
  w.Crash("b");
}

// The state the plan leaves: its last write, or the world's.
const ClusterState& StateLeft(const World& w, const Plan& p) {
  const ClusterState* last = &w.state;
  for (const auto& a : p.actions)
    if (a.kind == ActionKind::kWriteState) last = &a.state;
  return *last;
}

// A row's check: the switchover is still in its promoting step, not aborted.
void StillPromoting(const World& w, const Plan& p) {
  const ClusterState& s = StateLeft(w, p);
  EXPECT_EQ(s.transition.kind, TransitionKind::kSwitchover) << Render(p);
  EXPECT_EQ(s.transition.step, TransitionStep::kPromoting) << Render(p);
  EXPECT_EQ(s.switchoverBackoffUntil, w.state.switchoverBackoffUntil) << Render(p);
}

// A failover a -> b recorded: a crashed and fenced, no writable primary
// routed, b's promote sent (its sidecar runs it).
void FailoverPromotingTarget(World& w) {
  w.Crash("a");
  w.state.transition = {TransitionKind::kFailover, "a",        "b",
                        TransitionStep::kFencing,  kNow - 300, 0};
  w.state.fenced = {"a"};
  w.state.routedPrimary = "";
  w.N("b").operation = Op(OperationKind::kPromote, OperationState::kRunning);
}

// ... and b is not observed, as in the switchover's rows.
void FailoverPromotingTargetUnobserved(World& w) {
  FailoverPromotingTarget(w);
  w.Crash("b");
}

// A row's check: the failover still goes to b, no other node promoted.
void StillFailingOverToB(const World& w, const Plan& p) {
  const ClusterState& s = StateLeft(w, p);
  EXPECT_EQ(s.transition.kind, TransitionKind::kFailover) << Render(p);
  EXPECT_EQ(s.transition.to, "b") << Render(p);
  for (const auto& a : p.actions) EXPECT_NE(a.kind, ActionKind::kPromote) << Render(p);
}

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario> all = {
      // --- steady state, quorum, staleness -------------------------------------------
      {"healthy_cluster_does_nothing", [](World&) {}, "", H, DONE},
      {"no_quorum_does_nothing_even_with_primary_down",
       [](World& w) {
         w.Crash("a");
         w.obs.watchdog.quorum = false;
       },
       "", Q, AGAIN},
      {"stale_watchdog_view_waits",
       [](World& w) {
         w.Crash("a");
         w.obs.watchdog.observedAt = kNow - 60'000;
       },
       "", D, AGAIN},
      {"stale_node_observation_waits",
       [](World& w) {
         w.Crash("a");
         w.N("b").pgObservedAt = kNow - 60'000;
       },
       "", D, AGAIN},
      {"crashed_primary_with_old_timestamps_is_not_stale",
       [](World& w) {
         w.Crash("a");  // the observer dates a part by its last successful read
         w.N("a").pgObservedAt = w.N("a").sidecarObservedAt = kNow - 60'000;
       },
       "fence a | write-state | publish-routing -:b,c | promote b", F, AGAIN},
      // --- self-fencing gate (issue 14 item 10) ---------------------------------------
      {"unreachable_primary_whose_host_may_still_hold_a_write_lease_waits",
       [](World& w) {
         w.Crash("a");
         w.obs.watchdog.writeLeasesKnown = true;
       },
       "write-state | publish-routing -:b,c", D, AGAIN},
      {"unreachable_primary_whose_write_lease_is_over_fails_over",
       [](World& w) {
         w.Crash("a");
         w.obs.watchdog.writeLeasesKnown = true;
         w.obs.watchdog.writeLeaseOver = {"a"};
       },
       "fence a | write-state | publish-routing -:b,c | promote b", F, AGAIN},
      {"primary_down_with_its_sidecar_answering_is_stopped_then_promoted",
       [](World& w) {
         w.PgDown("a");
         w.obs.watchdog.writeLeasesKnown = true;
       },
       "fence a | write-state | publish-routing -:b,c | stop a immediate | promote b", F, AGAIN},
      {"stale_sidecar_observation_waits",
       [](World& w) {
         w.Crash("a");
         w.N("c").sidecarObservedAt = kNow - 60'000;
       },
       "", D, AGAIN},
      {"proxy_behind_gets_current_routing_again", [](World& w) { w.N("c").routingGeneration = 4; },
       "publish-routing a:b,c", H, AGAIN},
      {"routing_carries_spec_weights_and_no_load_balance_as_zero",
       [](World& w) {
         w.S("b").weight = 3;
         w.S("c").noLoadBalance = true;
         w.N("c").routingGeneration = 4;
       },
       "publish-routing a:b,c", H, AGAIN,
       [](const World&, const Plan& p) {
         const Action& a = p.actions[0];
         EXPECT_EQ(a.generation, 5u);
         ASSERT_EQ(a.standbys.size(), 2u);
         EXPECT_EQ(a.standbys[0].weight, 3);
         EXPECT_EQ(a.standbys[1].weight, 0);
         EXPECT_TRUE(a.excluded.empty());
       }},
      {"changed_weight_is_published_in_a_new_generation",
       [](World& w) {
         w.state.routedWeights = {1, 1};
         w.S("c").weight = 5;
       },
       "write-state | publish-routing a:b,c", H, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_EQ(p.actions[1].generation, 6u);
         EXPECT_EQ(p.actions[0].state.routedWeights, (std::vector<int>{1, 5}));
       }},
      {"unrecorded_weights_are_not_compared", [](World& w) { w.S("c").weight = 5; }, "", H, DONE},
      // --- failover ------------------------------------------------------------------
      {"primary_crash_fails_over_to_most_received",
       [](World& w) {
         w.N("c").receivedLsn = 99 * kMB;
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:b,c | promote b", F, AGAIN,
       [](const World&, const Plan& p) {
         const ClusterState& s = p.actions[1].state;
         EXPECT_EQ(s.fenced, std::vector<std::string>{"a"});
         EXPECT_EQ(s.transition.kind, TransitionKind::kFailover);
         EXPECT_EQ(s.transition.to, "b");
         EXPECT_EQ(s.routingGeneration, 6u);
         EXPECT_EQ(p.requeueAfter, Millis(200));
       }},
      {"primary_postgres_down_sidecar_up_is_stopped_before_promote",
       [](World& w) {
         w.N("c").receivedLsn = 99 * kMB;
         w.PgDown("a");
       },
       "fence a | write-state | publish-routing -:b,c | stop a immediate | promote b", F, AGAIN},
      {"primary_seen_down_by_one_sidecar_no_failover",
       [](World& w) {
         w.N("a").pgReachable = false;
         w.SeenDownBy("a", 1);
       },
       "", H, DONE},
      {"primary_unreachable_without_consensus_requirement_fails_over",
       [](World& w) {
         w.spec.failover.requireConsensus = false;
         w.N("a").pgReachable = false;
         w.SeenDownBy("a", 1);
         w.N("b").receivedLsn = 99 * kMB;
       },
       "fence a | write-state | publish-routing -:b,c | stop a immediate | promote c", F, AGAIN},
      {"candidates_with_different_lsns_pick_the_most_received",
       [](World& w) {
         w.N("b").receivedLsn = 90 * kMB;
         w.N("c").receivedLsn = 95 * kMB;
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:b,c | promote c", F, AGAIN},
      {"equal_lsns_pick_the_first_by_name", [](World& w) { w.Crash("a"); },
       "fence a | write-state | publish-routing -:b,c | promote b", F, AGAIN},
      {"candidate_beyond_maximum_lag_is_skipped",
       [](World& w) {
         w.N("b").receivedLsn = 80 * kMB;  // 20MB behind a's last LSN
         w.N("c").receivedLsn = 99 * kMB;
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:b,c | promote c", F, AGAIN},
      {"all_candidates_beyond_maximum_lag_no_failover",
       [](World& w) {
         w.N("b").receivedLsn = 80 * kMB;
         w.N("c").receivedLsn = 70 * kMB;
         w.Crash("a");
       },
       "write-state | publish-routing -:b,c", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_NE(p.summary.find("maximumLagBytes"), std::string::npos) << p.summary;
       }},
      {"no_failover_tag_is_skipped",
       [](World& w) {
         w.S("b").noFailover = true;
         w.N("c").receivedLsn = 99 * kMB;
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:b,c | promote c", F, AGAIN},
      {"all_standbys_tagged_no_failover_no_failover",
       [](World& w) {
         w.S("b").noFailover = true;
         w.S("c").noFailover = true;
         w.Crash("a");
       },
       "write-state | publish-routing -:b,c", D, AGAIN},
      {"automatic_false_reports_and_waits",
       [](World& w) {
         w.spec.failover.automatic = false;
         w.Crash("a");
       },
       "write-state | publish-routing -:b,c", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_EQ(p.actions[0].state.primary, "a");
         EXPECT_FALSE(p.actions[0].state.transition.active());
         EXPECT_NE(p.summary.find("failover.automatic is false"), std::string::npos) << p.summary;
       }},
      {"automatic_false_operator_choice_fails_over",
       [](World& w) {
         w.spec.failover.automatic = false;
         w.Crash("a");
         w.in.requests.switchoverTo = "c";
       },
       "fence a | write-state | publish-routing -:b,c | promote c", F, AGAIN},
      {"ineligible_operator_choice_falls_back_to_automatic_failover",
       [](World& w) {
         w.Crash("a");
         w.PgDown("c");
         w.in.requests.switchoverTo = "c";
       },
       "event | fence a | write-state | publish-routing -:b | promote b", F, AGAIN},
      {"operation_seen_on_a_crashed_primary_does_not_block_failover",
       [](World& w) {
         w.N("a").operation = Op(OperationKind::kRestart, OperationState::kRunning);
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:b,c | promote b", F, AGAIN},
      {"standby_on_another_timeline_is_not_a_candidate",
       [](World& w) {
         w.N("b").timeline = 3;
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:c | promote c", F, AGAIN},
      {"rebuild_running_elsewhere_does_not_block_failover",
       [](World& w) {
         w.N("c").operation = Op(OperationKind::kRebuild, OperationState::kRunning);
         w.Crash("a");
       },
       "fence a | write-state | publish-routing -:b | promote b", F, AGAIN},
      {"failover_waits_for_running_promotion",
       [](World& w) {
         w.Crash("a");
         w.state.transition = {TransitionKind::kFailover, "a",        "b",
                               TransitionStep::kFencing,  kNow - 300, 0};
         w.state.fenced = {"a"};
         w.state.routedPrimary = "";
         w.state.routedStandbys = {"c"};  // b is being promoted: not routed
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kRunning);
       },
       "", F, OPWAIT},
      {"failover_reissues_promotion_not_seen",
       [](World& w) {
         w.Crash("a");
         w.state.transition = {TransitionKind::kFailover, "a",        "b",
                               TransitionStep::kFencing,  kNow - 300, 0};
         w.state.fenced = {"a"};
         w.state.routedPrimary = "";
       },
       "promote b", F, AGAIN},
      {"failover_promotion_failed_promotes_next_candidate",
       [](World& w) {
         w.Crash("a");
         w.state.transition = {TransitionKind::kFailover, "a",        "b",
                               TransitionStep::kFencing,  kNow - 300, 0};
         w.state.fenced = {"a"};
         w.state.routedPrimary = "";
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kFailed);
       },
       "write-state | promote c", F, AGAIN},
      // The promote of b was sent and b is not observed: b may be writable
      // already (its last values, a standby, say nothing), so c is not
      // promoted beside it; the failover waits for b.
      {"failover_promoting_an_unobserved_target_waits_without_promoting_another",
       FailoverPromotingTargetUnobserved, "write-state | publish-routing -:c", F, AGAIN,
       [](const World& w, const Plan& p) {
         StillFailingOverToB(w, p);
         SummarySays("failover a -> b: the promotion of b was sent and b is not observed: not "
                     "promoting another node while b may be writable")(w, p);
       }},
      // ... the same when only b's PostgreSQL does not answer (a look past the
      // deadline), even with the promote failed: one that timed out may still
      // finish.
      {"failover_promoting_a_target_whose_postgres_does_not_answer_waits",
       [](World& w) {
         FailoverPromotingTarget(w);
         w.N("b").pgReachable = false;
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kFailed);
       },
       "", F, AGAIN, StillFailingOverToB},
      // ... and when b answers a standby but the watchdog majority sees it down,
      // its promote done: it is about to be writable.
      {"failover_promoted_target_seen_down_waits_to_see_it_writable",
       [](World& w) {
         FailoverPromotingTarget(w);
         w.SeenDownBy("b", 2);
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kSucceeded);
       },
       "write-state | publish-routing -:c", F, AGAIN,
       [](const World& w, const Plan& p) {
         StillFailingOverToB(w, p);
         SummarySays("b promoted, waiting to see it writable")(w, p);
       }},
      // b's host holds no write lease: its sidecar fenced any writable
      // PostgreSQL there, so the failover moves on to c.
      {"failover_promoting_an_unobserved_target_without_a_write_lease_promotes_the_next",
       [](World& w) {
         FailoverPromotingTargetUnobserved(w);
         w.obs.watchdog.writeLeasesKnown = true;
         w.obs.watchdog.writeLeaseOver = {"a", "b"};
       },
       "write-state | publish-routing -:c | write-state | promote c", F, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_EQ(p.actions[2].state.transition.to, "c");
         EXPECT_NE(p.actions[3].reason.find("b is not observed and its host holds no watchdog "
                                            "write lease"),
                   std::string::npos)
             << p.actions[3].reason;
       }},
      // ... but not while a majority of the watchdog members still sees b up:
      // a member in contact with b may keep its lease (contact_lease.h).
      {"failover_promoting_an_unobserved_target_seen_up_by_the_majority_waits",
       [](World& w) {
         FailoverPromotingTargetUnobserved(w);
         w.SeenDownBy("b", 0);
         w.obs.watchdog.writeLeasesKnown = true;
         w.obs.watchdog.writeLeaseOver = {"a", "b"};
       },
       "", F, AGAIN, StillFailingOverToB},
      // b's sidecar says its PostgreSQL does not run: not writable, move on.
      {"failover_promoting_a_target_whose_postgres_stopped_promotes_the_next",
       [](World& w) {
         FailoverPromotingTarget(w);
         w.PgDown("b");
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kFailed);
       },
       "write-state | publish-routing -:c | write-state | promote c", F, AGAIN},
      {"failover_finishes_when_candidate_writable_and_others_follow",
       [](World& w) {
         w = AfterFailover();
         w.state.transition = {TransitionKind::kFailover, "a",        "b",
                               TransitionStep::kFencing,  kNow - 300, 0};
         w.state.primary = "a";
         w.state.timeline = 1;
         w.state.routedPrimary = "";
         w.state.routedStandbys = {"b", "c"};
       },
       "write-state | write-state | publish-routing b: | follow c ->b", F, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_EQ(p.actions[0].state.primary, "b");
         EXPECT_EQ(p.actions[0].state.timeline, 2u);
         EXPECT_FALSE(p.actions[0].state.transition.active());
       }},
      // --- old primary, divergence, following ----------------------------------------
      {"old_primary_back_after_failover_is_stopped_and_rebuilt",
       [](World& w) { w = OldPrimaryBack(); }, "stop a immediate | rebuild a <-b", R, AGAIN},
      {"old_primary_back_unrecorded_is_fenced_stopped_and_rebuilt",
       [](World& w) {
         w = OldPrimaryBack();
         w.state.fenced.clear();
       },
       "fence a | write-state | stop a immediate | rebuild a <-b", R, AGAIN},
      {"fenced_old_primary_stopped_is_rebuilt",
       [](World& w) {
         w = OldPrimaryBack();
         w.PgDown("a");
       },
       "rebuild a <-b", R, AGAIN},
      {"fenced_node_streaming_again_is_unfenced_and_routed",
       [](World& w) {
         w = OldPrimaryBack();
         NodeObservation& a = w.N("a");
         a.inRecovery = true;
         a.timeline = 2;
         a.upstream = a.configuredUpstream = "b";
         a.receivedLsn = a.replayedLsn = 101 * kMB;
         a.operation = Op(OperationKind::kRebuild, OperationState::kSucceeded);
       },
       "write-state | unfence a | write-state | publish-routing b:a,c", R, AGAIN},
      {"fenced_node_whose_rebuild_failed_waits_for_operator",
       [](World& w) {
         w = OldPrimaryBack();
         w.PgDown("a");
         w.N("a").operation = Op(OperationKind::kRebuild, OperationState::kFailed);
       },
       "", D, DONE},
      {"recover_request_retries_a_failed_rebuild",
       [](World& w) {
         w = OldPrimaryBack();
         w.PgDown("a");
         w.N("a").operation = Op(OperationKind::kRebuild, OperationState::kFailed);
         w.in.requests.recover = {"a"};
       },
       "rebuild a <-b", R, AGAIN},
      {"fenced_node_with_recovery_automatic_off_waits",
       [](World& w) {
         w = OldPrimaryBack();
         w.PgDown("a");
         w.spec.recovery.automatic = false;
       },
       "", D, DONE},
      {"standby_streaming_from_the_primary_is_not_rebuilt_whatever_timeline_it_reports",
       [](World& w) {
         w = AfterFailover();
         NodeObservation& c = w.N("c");
         c.upstream = c.configuredUpstream = "b";
         c.replayedLsn = c.receivedLsn = 101 * kMB;  // past the switch point, timeline 1 reported
       },
       "write-state | publish-routing b:c", D, AGAIN},  // a is still down
      {"standby_that_can_follow_is_repointed_not_rebuilt", [](World& w) { w = AfterFailover(); },
       "follow c ->b", R, AGAIN},
      // It looked able to follow (the new timeline's history file was in its
      // pg_wal) but holds old-timeline WAL past the fork: the follow fails at
      // wait-streaming. It is rewound, not repointed again and again.
      {"standby_whose_follow_failed_to_stream_is_rebuilt",
       [](World& w) {
         w = AfterFailover();
         NodeObservation& c = w.N("c");
         c.timeline = 2;
         c.configuredUpstream = "b";
         c.upstream = "";
         c.operation = Op(OperationKind::kFollow, OperationState::kFailed);
       },
       "rebuild c <-b", R, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_NE(p.actions[0].reason.find("does not stream from b after following it"), std::string::npos)
             << p.actions[0].reason;
       }},
      {"diverged_standby_is_rewound",
       [](World& w) {
         w = AfterFailover();
         w.N("c").replayedLsn = w.N("c").receivedLsn = 100 * kMB + 8192;
       },
       "rebuild c <-b", R, AGAIN},
      {"diverged_standby_with_basebackup_method",
       [](World& w) {
         w = AfterFailover();
         w.spec.recovery.method = RecoveryMethod::kBasebackup;
         w.N("c").replayedLsn = 100 * kMB + 8192;
       },
       "rebuild c <-b basebackup", R, AGAIN},
      {"standby_with_unknown_lineage_is_left_alone",
       [](World& w) {
         w = AfterFailover();
         w.N("b").history.clear();
       },
       "", D, DONE},
      {"cascading_standby_is_repointed_to_the_primary",
       [](World& w) { w.N("c").configuredUpstream = w.N("c").upstream = "b"; }, "follow c ->a", R,
       AGAIN},
      {"stray_writable_node_is_fenced_stopped_and_rebuilt",
       [](World& w) {
         w.N("c").inRecovery = false;
         w.N("c").upstream.clear();
       },
       "fence c | write-state | stop c immediate | rebuild c <-a | write-state | publish-routing "
       "a:b",
       R, AGAIN},
      {"primary_seen_in_recovery_is_not_routed", [](World& w) { w.N("a").inRecovery = true; },
       "write-state | publish-routing -:b,c", D, AGAIN},
      // --- standbys down, online recovery ----------------------------------------------
      {"standby_host_crash_is_unrouted", [](World& w) { w.Crash("c"); },
       "write-state | publish-routing a:b", D, AGAIN},
      {"standby_postgres_crash_is_started", [](World& w) { w.PgDown("c"); },
       "start c | write-state | publish-routing a:b", R, AGAIN},
      {"stopped_node_with_a_primary_data_directory_is_rebuilt_not_started",
       [](World& w) { Stopped(w, "c", DataDirectoryRole::kPrimary); },  // last seen a standby
       "fence c | write-state | rebuild c <-a | write-state | publish-routing a:b", R, AGAIN,
       [](const World&, const Plan& p) {
         ASSERT_FALSE(p.actions.empty());
         EXPECT_EQ(p.actions[0].reason, "c's data directory is a primary's");
       }},
      {"stopped_standby_data_directory_is_started",
       [](World& w) { Stopped(w, "c", DataDirectoryRole::kStandby); },
       "start c | write-state | publish-routing a:b", R, AGAIN},
      {"standby_start_failed_is_rebuilt",
       [](World& w) {
         w.PgDown("c");
         w.N("c").operation = Op(OperationKind::kStart, OperationState::kFailed);
       },
       "rebuild c <-a | write-state | publish-routing a:b", R, AGAIN},
      {"standby_running_but_unanswering_is_not_restarted",
       [](World& w) {
         w.PgDown("c");
         w.N("c").postgresRunning = true;
       },
       "write-state | publish-routing a:b", D, AGAIN},
      {"both_standbys_postgres_down_are_started",
       [](World& w) {
         w.PgDown("b");
         w.PgDown("c");
       },
       "start b | start c | write-state | publish-routing a:", R, AGAIN},
      {"both_standby_hosts_down_lose_quorum",
       [](World& w) {
         w.Crash("b");
         w.Crash("c");
         w.obs.watchdog.quorum = false;
       },
       "", Q, AGAIN},
      {"recovery_automatic_off_leaves_a_down_standby",
       [](World& w) {
         w.spec.recovery.automatic = false;
         w.PgDown("c");
       },
       "write-state | publish-routing a:b", D, AGAIN},
      // ...and takes it out of read balancing (it is about to stop).
      {"recover_request_rebuilds_a_standby", [](World& w) { w.in.requests.recover = {"c"}; },
       "rebuild c <-a | write-state | publish-routing a:b", R, AGAIN},
      {"recover_request_for_the_primary_is_refused",
       [](World& w) { w.in.requests.recover = {"a"}; }, "event", H, AGAIN},
      // --- spec changes ----------------------------------------------------------------
      {"node_added_with_empty_data_directory_gets_a_base_backup",
       [](World& w) {
         w.AddNode("d");
         NodeObservation& d = w.N("d");
         d.pgObservedAt = d.sidecarObservedAt = kNow - 100;
         d.sidecarReachable = true;
         d.dataDirectoryInitialized = false;
       },
       "rebuild d <-a basebackup | publish-routing a:b,c", R, AGAIN},  // d's proxy is behind
      {"node_added_not_yet_observed_waits", [](World& w) { w.AddNode("d"); }, "", D, DONE},
      {"node_added_streaming_is_routed",
       [](World& w) {
         w.AddNode("d");
         NodeObservation& d = w.N("d");
         d = w.N("b");
         d.name = "d";
       },
       "write-state | publish-routing a:b,c,d", H, AGAIN},
      {"node_removed_from_spec_is_unrouted_and_forgotten",
       [](World& w) {
         w.spec.nodes.pop_back();  // c
         w.state.detached = {"c"};
       },
       "write-state | publish-routing a:b", H, AGAIN,
       [](const World&, const Plan& p) { EXPECT_TRUE(p.actions[0].state.detached.empty()); }},
      {"primary_removed_from_spec_stays_primary",
       [](World& w) { w.spec.nodes.erase(w.spec.nodes.begin()); }, "", D, DONE},
      // --- operator requests -------------------------------------------------------------
      {"detach_request_unroutes_the_node", [](World& w) { w.in.requests.detach = {"c"}; },
       "detach c | write-state | publish-routing a:b", H, AGAIN},
      {"detach_of_the_primary_is_refused", [](World& w) { w.in.requests.detach = {"a"}; }, "event",
       H, AGAIN},
      {"attach_request_routes_the_node_again",
       [](World& w) {
         w.state.detached = {"c"};
         w.state.routedStandbys = {"b"};
         w.in.requests.attach = {"c"};
       },
       "attach c | write-state | publish-routing a:b,c", H, AGAIN},
      // --- operations --------------------------------------------------------------------
      {"operation_running_on_a_standby_means_wait",
       [](World& w) {
         w.N("c").operation = Op(OperationKind::kRebuild, OperationState::kRunning);
         w.state.routedStandbys = {"b"};
       },
       "", R, OPWAIT},
      {"promotion_running_means_wait",
       [](World& w) { w.N("b").operation = Op(OperationKind::kPromote, OperationState::kRunning); },
       "", D, OPWAIT},
      // --- first primary -----------------------------------------------------------------
      {"bootstrap_records_the_only_writable_node",
       [](World& w) {
         w.state = ClusterState{};
         for (auto& o : w.obs.nodes) o.routingGeneration = 0;
       },
       "write-state | write-state | publish-routing a:b,c", H, AGAIN},
      {"bootstrap_with_two_writable_nodes_keeps_the_spec_primary",
       [](World& w) {
         w.state = ClusterState{};
         w.spec.primary = "a";
         w.N("b").inRecovery = false;
       },
       "write-state | fence b | write-state | stop b immediate | rebuild b <-a | write-state | "
       "publish-routing a:c",
       R, AGAIN},
      {"bootstrap_with_two_writable_nodes_prefers_the_newest_timeline",
       [](World& w) {
         w.state = ClusterState{};
         w.spec.primary = "a";
         w.N("b").inRecovery = false;
         w.N("b").timeline = 2;
         w.N("b").history = {{1, 100 * kMB}};
         w.N("c").upstream = w.N("c").configuredUpstream = "b";
       },
       "write-state | fence a | write-state | stop a immediate | rebuild a <-b | write-state | "
       "publish-routing b:c",
       R, AGAIN},
      {"bootstrap_with_two_writable_nodes_and_no_choice_waits",
       [](World& w) {
         w.state = ClusterState{};
         w.N("b").inRecovery = false;
       },
       "", D, AGAIN},
      {"bootstrap_without_a_writable_node_waits",
       [](World& w) {
         w.state = ClusterState{};
         w.PgDown("a");
       },
       "", D, AGAIN},
      // --- a primary's data directory stopped (its sidecar fenced it) ------------------
      // No primary recorded: the one stopped primary data directory is started;
      // the next plan records it as the only writable node.
      {"bootstrap_starts_the_only_stopped_primary_data_directory",
       [](World& w) { w = NewClusterPrimaryFenced(); }, "start a", R, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "no primary yet: starting a as the primary")) << p.summary;
         ASSERT_FALSE(p.actions.empty());
         EXPECT_NE(p.actions[0].reason.find("only primary's data directory"), std::string::npos);
       }},
      {"bootstrap_starts_it_with_the_standbys_stopped_too",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         Stopped(w, "b", DataDirectoryRole::kStandby);
         Stopped(w, "c", DataDirectoryRole::kUnknown);
       },
       "start a", R, AGAIN},
      {"bootstrap_starts_neither_of_two_stopped_primary_data_directories",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         Stopped(w, "b", DataDirectoryRole::kPrimary);
       },
       "", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "on a, b: which one holds the newest data is not known"))
             << p.summary;
       }},
      {"bootstrap_never_starts_a_standby_data_directory",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").dataDirectoryRole = DataDirectoryRole::kStandby;
       },
       "", D, AGAIN},
      {"bootstrap_never_starts_when_the_sidecar_does_not_say",  // an older sidecar
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").dataDirectoryRole = DataDirectoryRole::kUnknown;
       },
       "", D, AGAIN},
      {"bootstrap_does_not_start_an_empty_data_directory",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").dataDirectoryInitialized = false;
       },
       "", D, AGAIN},
      {"bootstrap_does_not_start_while_postgres_runs_unseen_elsewhere",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("b").pgReachable = false;  // runs, but does not answer: may be a primary
       },
       "", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "not starting a: PostgreSQL on b runs but does not answer"))
             << p.summary;
       }},
      {"bootstrap_does_not_start_when_a_node_was_last_seen_writable",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.Crash("b");
         w.N("b").inRecovery = false;
       },
       "", D, AGAIN},
      {"bootstrap_does_not_start_under_a_newer_timeline",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("b").timeline = 2;  // a standby of a node promoted since a ran
       },
       "", D, AGAIN},
      {"bootstrap_does_not_start_without_a_write_lease",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.obs.watchdog.writeLeasesKnown = true;
         w.obs.watchdog.writeLeaseOver = {"a"};
       },
       "", D, AGAIN},
      {"bootstrap_does_not_start_it_again_after_a_failed_start",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").operation = Op(OperationKind::kStart, OperationState::kFailed);
       },
       "", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "starting a failed (exit status 1)")) << p.summary;
       }},
      // Kubernetes mode: the start ran while the other members had stopped
      // answering, so the sidecar fenced it (in the start's own term): planned
      // again (the actuator asks for the newer term the sidecar needs).
      {"bootstrap_starts_it_again_after_its_own_fence_stopped_the_start",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").operation = Op(OperationKind::kStart, OperationState::kFailed);
         w.N("a").operation->term = 2;
         w.N("a").selfFencedInTerm = 2;
       },
       "start a", R, AGAIN},
      // Kubernetes mode: a node that fenced itself, its start held until the
      // watchdog leader counts it live (PlanInputs::startHolds): not planned,
      // the hold is the summary's (rather than a start withheld every round).
      {"bootstrap_does_not_start_a_node_whose_start_the_mode_holds",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").selfFencedInTerm = 2;
         w.in.startHolds = {{"a", "waiting for the watchdog to count a live"}};
       },
       "", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "not starting a: waiting for the watchdog to count a live")) << p.summary;
       }},
      // Kubernetes mode: an init that did not finish is sent again (kube_init.cc),
      // never completed by a plain start (the roles it creates would be missing).
      {"bootstrap_does_not_start_a_node_whose_init_did_not_finish",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").operation = Op(OperationKind::kInit, OperationState::kFailed);
       },
       "", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "the init of a did not finish")) << p.summary;
       }},
      // A fence before that start (an older term) does not explain its failure.
      {"bootstrap_does_not_start_it_again_after_a_start_that_failed_after_an_older_fence",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").operation = Op(OperationKind::kStart, OperationState::kFailed);
         w.N("a").operation->term = 3;
         w.N("a").selfFencedInTerm = 2;
       },
       "", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "starting a failed (exit status 1)")) << p.summary;
       }},
      // A sidecar that does not say the operation's term: as before.
      {"bootstrap_does_not_start_it_again_after_a_failed_start_of_unknown_term",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").operation = Op(OperationKind::kStart, OperationState::kFailed);
         w.N("a").selfFencedInTerm = 2;
       },
       "", D, AGAIN},
      {"bootstrap_waits_for_the_start_it_asked_for",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.N("a").operation = Op(OperationKind::kStart, OperationState::kRunning);
       },
       "", R, AGAIN},
      {"bootstrap_does_not_start_a_fenced_node",
       [](World& w) {
         w = NewClusterPrimaryFenced();
         w.state.fenced = {"a"};
       },
       "", D, AGAIN},
      // A primary recorded (the whole cluster restarted), nothing to promote.
      {"stopped_primary_without_a_promotable_standby_is_started_again",
       [](World& w) { AllStoppedPrimaryFenced(w); }, "start a | write-state | publish-routing -:", R, AGAIN,
       [](const World&, const Plan& p) {
         ASSERT_FALSE(p.actions.empty());
         EXPECT_NE(p.actions[0].reason.find("start it again as the primary"), std::string::npos);
       }},
      {"stopped_primary_is_started_again_after_its_own_fence_stopped_the_start",
       [](World& w) {
         AllStoppedPrimaryFenced(w);
         w.N("a").operation = Op(OperationKind::kStart, OperationState::kFailed);
         w.N("a").operation->term = 4;
         w.N("a").selfFencedInTerm = 4;
       },
       "start a | write-state | publish-routing -:", R, AGAIN},
      {"stopped_primary_is_not_started_again_while_the_mode_holds_its_start",
       [](World& w) {
         AllStoppedPrimaryFenced(w);
         w.N("a").selfFencedInTerm = 4;
         w.in.startHolds = {{"a", "waiting for the watchdog to count a live"}};
       },
       "write-state | publish-routing -:", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "not starting it again: waiting for the watchdog to count a live")) << p.summary;
       }},
      // A hold on another node does not keep the primary down.
      {"stopped_primary_is_started_again_when_only_another_node_is_held",
       [](World& w) {
         AllStoppedPrimaryFenced(w);
         w.in.startHolds = {{"b", "held"}};
       },
       "start a | write-state | publish-routing -:", R, AGAIN},
      {"stopped_primary_while_its_standbys_are_rebuilt_is_started_again",
       [](World& w) {
         Stopped(w, "a", DataDirectoryRole::kPrimary);
         for (const char* n : {"b", "c"}) {
           w.N(n).operation = Op(OperationKind::kRebuild, OperationState::kRunning);
           w.N(n).dataDirectoryInitialized = false;
         }
       },
       "start a | write-state | publish-routing -:", R, AGAIN},
      {"stopped_primary_is_started_again_without_automatic_failover",
       [](World& w) {
         w.spec.failover.automatic = false;
         Stopped(w, "a", DataDirectoryRole::kPrimary);
       },
       "start a | write-state | publish-routing -:b,c", R, AGAIN},
      {"stopped_primary_with_a_promotable_standby_still_fails_over",
       [](World& w) {
         w.N("c").receivedLsn = 99 * kMB;
         Stopped(w, "a", DataDirectoryRole::kPrimary);
       },
       "fence a | write-state | publish-routing -:b,c | stop a immediate | promote b", F, AGAIN},
      {"stopped_primary_not_started_when_a_node_is_on_a_newer_timeline",
       [](World& w) {
         AllStoppedPrimaryFenced(w);
         NodeObservation& c = w.N("c");  // a standby of a node promoted since
         c.pgReachable = c.postgresRunning = true;
         c.timeline = 2;
       },
       "write-state | publish-routing -:", D, AGAIN,
       [](const World&, const Plan& p) {
         EXPECT_TRUE(SummaryHas(p, "not starting it again: c is on timeline 2")) << p.summary;
       }},
      {"stopped_primary_with_a_standby_data_directory_is_not_started",
       [](World& w) {
         AllStoppedPrimaryFenced(w);
         w.N("a").dataDirectoryRole = DataDirectoryRole::kStandby;
       },
       "write-state | publish-routing -:", D, AGAIN},
      // --- switchover --------------------------------------------------------------------
      {"desired_primary_changed_starts_a_switchover", [](World& w) { w.spec.primary = "b"; },
       "write-state | checkpoint a | pause-proxies", S, AGAIN},
      {"switchover_request_starts_a_switchover", [](World& w) { w.in.requests.switchoverTo = "c"; },
       "write-state | checkpoint a | pause-proxies", S, AGAIN},
      {"switchover_to_a_lagging_target_waits",
       [](World& w) {
         w.spec.primary = "b";
         w.N("b").replayedLsn = 60 * kMB;
       },
       "", H, AGAIN},
      {"switchover_to_an_unknown_node_is_refused",
       [](World& w) { w.in.requests.switchoverTo = "zz"; }, "event", H, AGAIN},
      {"switchover_paused_waits_for_the_target_to_catch_up",
       [](World& w) {
         w.spec.primary = "b";
         w.state.transition = Switchover(TransitionStep::kPaused);
         w.N("b").replayedLsn = 99 * kMB;
       },
       "", S, AGAIN},
      {"switchover_caught_up_fences_routing_and_stops_the_old_primary",
       [](World& w) {
         w.spec.primary = "b";
         w.state.transition = Switchover(TransitionStep::kPaused);
       },
       "write-state | publish-routing -:b,c | stop a fast", S, AGAIN},
      {"switchover_waits_for_transactions_in_progress_at_the_proxies",
       [](World& w) {
         w.spec.primary = "b";
         w.state.transition = Switchover(TransitionStep::kPaused);
         w.N("c").proxyInTransaction = 2;
       },
       "", S, AGAIN},
      {"switchover_stops_the_old_primary_past_the_pause_limit_with_transactions_open",
       [](World& w) {
         w.spec.primary = "b";
         w.state.transition = Switchover(TransitionStep::kPaused);
         w.state.transition.startedAt = kNow - 6000;
         w.N("a").proxyInTransaction = 1;
       },
       "write-state | publish-routing -:b,c | stop a fast", S, AGAIN},
      {"switchover_ignores_transactions_reported_by_an_unreachable_sidecar",
       [](World& w) {
         w.spec.primary = "b";
         w.state.transition = Switchover(TransitionStep::kPaused);
         w.N("c").proxyInTransaction = 3;
         w.N("c").sidecarReachable = false;
       },
       "write-state | publish-routing -:b,c | stop a fast", S, AGAIN},
      {"switchover_past_the_pause_limit_aborts",
       [](World& w) {
         w.spec.primary = "b";
         w.state.transition = Switchover(TransitionStep::kPaused);
         w.state.transition.startedAt = kNow - 6000;
         w.N("b").replayedLsn = 99 * kMB;
       },
       "write-state | resume-proxies | event", S, AGAIN},
      {"switchover_old_primary_stopped_promotes_the_target",
       [](World& w) {
         SwitchoverStoppedOldPrimary(w);
         w.N("b").receivedLsn = w.N("b").replayedLsn = 100 * kMB + 104;
         w.N("a").checkpointLsn = 100 * kMB + 40;  // b received past it
       },
       "write-state | promote b", S, AGAIN},
      {"switchover_target_not_done_replaying_waits",
       [](World& w) {
         SwitchoverStoppedOldPrimary(w);
         w.N("b").receivedLsn = 100 * kMB + 104;
       },
       "", S, AGAIN},
      {"switchover_target_without_the_shutdown_checkpoint_waits",
       SwitchoverTargetWithoutTheShutdownCheckpoint,
       "", S, AGAIN},
      {"switchover_target_that_never_gets_the_last_wal_restarts_the_old_primary",
       AbortedSwitchoverOldPrimaryStopped,
       "write-state | start a | resume-proxies | event", S, AGAIN},
      // The same abort, the restart of a held by WhyNotStartAsPrimary (the one
      // rule for starting a node as the primary): not planned, the summary
      // says why; the abort is still committed and the proxies resumed.
      {"switchover_aborted_does_not_restart_an_old_primary_the_mode_holds",
       [](World& w) {
         AbortedSwitchoverOldPrimaryStopped(w);
         w.in.startHolds = {{"a", "waiting for the watchdog to count a live"}};
       },
       "write-state | resume-proxies | event", S, AGAIN,
       SummarySays("not restarting the primary a: waiting for the watchdog to count a live")},
      {"switchover_aborted_does_not_restart_an_old_primary_without_a_write_lease",
       [](World& w) {
         AbortedSwitchoverOldPrimaryStopped(w);
         w.obs.watchdog.writeLeasesKnown = true;
         w.obs.watchdog.writeLeaseOver = {"a"};
       },
       "write-state | resume-proxies | event", S, AGAIN,
       SummarySays("not restarting the primary a: a's host holds no watchdog write lease")},
      // b promoted by hand while a was being stopped: the switchover aborts
      // (b is no running standby); a is not started beside a writable b (b,
      // a writable node that is not the primary, is fenced and stopped).
      {"switchover_aborted_does_not_restart_the_old_primary_while_another_node_is_writable",
       [](World& w) {
         AbortedSwitchoverOldPrimaryStopped(w);
         BPromoted(w);
       },
       "write-state | publish-routing -:c | write-state | resume-proxies | event | fence b | write-state | stop b immediate",
       S, AGAIN, SummarySays("not restarting the primary a: b is writable")},
      // The promote of b was sent and b is not observed: b may be writable
      // already (its last values, a standby, say nothing), so a is not
      // restarted and the switchover stays in its promoting step.
      {"switchover_promoting_an_unobserved_target_waits_without_restarting_the_old_primary",
       SwitchoverPromotingTargetUnobserved, "write-state | publish-routing -:c", S, AGAIN,
       [](const World& w, const Plan& p) {
         StillPromoting(w, p);
         SummarySays("the promotion of b was sent and b is not observed: not restarting a while b "
                     "may be writable")(w, p);
       }},
      // ... the same when only b's sidecar does not answer one round.
      {"switchover_promoting_a_target_whose_sidecar_does_not_answer_waits",
       [](World& w) {
         SwitchoverPromotingTarget(w);
         w.N("b").sidecarReachable = false;
       },
       "", S, AGAIN, StillPromoting},
      // ... or only its PostgreSQL (a look past the deadline), even with the
      // promote failed: a promote that timed out may still finish.
      {"switchover_promoting_a_target_whose_postgres_does_not_answer_waits",
       [](World& w) {
         SwitchoverPromotingTarget(w);
         w.N("b").pgReachable = false;
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kFailed);
       },
       "", S, AGAIN, StillPromoting},
      // b's host holds no write lease: its sidecar fenced any writable
      // PostgreSQL there, so the switchover aborts and a is restarted.
      {"switchover_promoting_an_unobserved_target_without_a_write_lease_restarts_the_old_primary",
       [](World& w) {
         SwitchoverPromotingTargetUnobserved(w);
         w.obs.watchdog.writeLeasesKnown = true;
         w.obs.watchdog.writeLeaseOver = {"b"};
       },
       "write-state | publish-routing -:c | write-state | start a | resume-proxies | event", S,
       AGAIN},
      // ... but not while a majority of the watchdog members still sees b up:
      // a member in contact with b may keep its lease (contact_lease.h).
      {"switchover_promoting_an_unobserved_target_seen_up_by_the_majority_waits",
       [](World& w) {
         SwitchoverPromotingTargetUnobserved(w);
         w.SeenDownBy("b", 0);
         w.obs.watchdog.writeLeasesKnown = true;
         w.obs.watchdog.writeLeaseOver = {"b"};
       },
       "", S, AGAIN, StillPromoting},
      // Seen again a running standby, its promote failed: abort, a restarted.
      {"switchover_promote_failed_restarts_the_old_primary",
       [](World& w) {
         SwitchoverPromotingTarget(w);
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kFailed);
       },
       "write-state | start a | resume-proxies | event", S, AGAIN},
      // Its sidecar says PostgreSQL does not run on b: b is not writable.
      {"switchover_promoting_a_target_whose_postgres_stopped_restarts_the_old_primary",
       [](World& w) {
         SwitchoverPromotingTarget(w);
         w.PgDown("b");
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kSucceeded);
       },
       "write-state | publish-routing -:c | write-state | start a | resume-proxies | event", S,
       AGAIN},
      // Seen again a running standby, its promote done: wait to see it writable.
      {"switchover_promoted_target_not_yet_seen_writable_waits",
       [](World& w) {
         SwitchoverPromotingTarget(w);
         w.N("b").operation = Op(OperationKind::kPromote, OperationState::kSucceeded);
       },
       "", S, AGAIN, StillPromoting},
      {"switchover_completes_old_primary_and_others_follow",
       [](World& w) {
         w.spec.primary = "b";
         w.state.transition = Switchover(TransitionStep::kPromoting);
         w.state.routedPrimary = "";
         w.PgDown("a");
         BPromoted(w);
       },
       "write-state | publish-routing b: | resume-proxies | follow a ->b | follow c ->b", S, AGAIN},
  };
  return all;
}

class PlanScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(PlanScenario, ActionsPhaseOutcome) { RunScenario(GetParam(), Healthy3()); }

// The stop of an old primary whose host may still hold a write lease must succeed
// before the promotion runs; once the lease is over it is best effort, as before.
TEST(PlanSelfFence, StopMustSucceedWhileTheOldPrimarysLeaseMayHold) {
  for (bool over : {false, true}) {
    World w = Healthy3();
    w.PgDown("a");
    w.obs.watchdog.writeLeasesKnown = true;
    if (over) w.obs.watchdog.writeLeaseOver = {"a"};
    Plan p = w.Run();
    const Action* stop = nullptr;
    for (const auto& a : p.actions)
      if (a.kind == ActionKind::kStop) stop = &a;
    ASSERT_NE(stop, nullptr) << Render(p);
    EXPECT_EQ(stop->mustSucceed, !over) << Render(p);
  }
  World w = Healthy3();
  w.Crash("a");
  w.obs.watchdog.writeLeasesKnown = true;
  Plan p = w.Run();
  EXPECT_NE(p.summary.find("write lease"), std::string::npos) << p.summary;
}

INSTANTIATE_TEST_SUITE_P(Table, PlanScenario, ::testing::ValuesIn(Scenarios()), ScenarioName);

}  // namespace
}  // namespace pgvigil::plan::testing
