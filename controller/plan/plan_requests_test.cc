// Operator requests (and, on Kubernetes, the scale steps' detach and
// switchover) stay pending until a plan answers them: carried out, already in
// effect, or refused with an event. The reconcile loop used to clear every
// pending request whenever a plan had actions, so a request the plan did not
// look at (a recover while a failover runs, a detach filed while the round
// ran) was dropped. Each row: the world, the requests, what the plan
// answered, what stays pending after RemoveAnswered.
#include <gtest/gtest.h>

#include "controller/plan/plan_fixture.h"

namespace pgvigil::plan::testing {
namespace {

std::string Names(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : ",") + n;
  return s;
}

// "switchover b; recover c; attach -; detach c,d" (empty parts left out).
std::string Show(const Requests& r) {
  std::string s;
  auto part = [&](const char* what, const std::string& names) {
    if (!names.empty()) s += (s.empty() ? "" : "; ") + std::string(what) + " " + names;
  };
  part("switchover", r.switchoverTo);
  part("recover", Names(r.recover));
  part("attach", Names(r.attach));
  part("detach", Names(r.detach));
  return s;
}

struct RequestCase {
  const char* name;
  std::function<void(World&)> setup;  // sets the world and w.in.requests
  std::string actions;                // Render(plan)
  std::string answered;               // Show(plan.answered)
  std::string pending;                // Show(requests after RemoveAnswered)
};

void PrintTo(const RequestCase& c, std::ostream* os) { *os << c.name; }

class PlanRequests : public ::testing::TestWithParam<RequestCase> {};

TEST_P(PlanRequests, AnsweredOrPending) {
  const RequestCase& c = GetParam();
  World w = Healthy3();
  c.setup(w);
  const Plan p = w.Run();
  EXPECT_EQ(Render(p), c.actions) << p.summary;
  EXPECT_EQ(Show(p.answered), c.answered) << p.summary;
  Requests pending = w.in.requests;
  RemoveAnswered(p.answered, &pending);
  EXPECT_EQ(Show(pending), c.pending) << p.summary;
}

void SwitchoverRunning(World& w, const std::string& to) {
  w.state.transition.kind = TransitionKind::kSwitchover;
  w.state.transition.from = "a";
  w.state.transition.to = to;
  w.state.transition.step = TransitionStep::kPaused;
  w.state.transition.startedAt = kNow - 100;
  w.N("a").currentLsn = 101 * kMB;  // the target has not caught up yet
}

INSTANTIATE_TEST_SUITE_P(
    Table, PlanRequests,
    ::testing::Values(
        RequestCase{"detach_carried_out", [](World& w) { w.in.requests.detach = {"c"}; },
                    "detach c | write-state | publish-routing a:b", "detach c", ""},
        RequestCase{"detach_of_the_primary_refused", [](World& w) { w.in.requests.detach = {"a"}; }, "event",
                    "detach a", ""},
        RequestCase{"detach_already_in_effect",
                    [](World& w) {
                      w.state.detached = {"c"};
                      w.state.routedStandbys = {"b"};
                      w.in.requests.detach = {"c"};
                    },
                    "", "detach c", ""},
        RequestCase{"attach_of_an_attached_node_in_effect", [](World& w) { w.in.requests.attach = {"c"}; }, "",
                    "attach c", ""},
        // The scale logic's detach while the watchdog has no quorum: nothing is
        // planned, the request waits for a plan that looks at it.
        RequestCase{"detach_waits_without_quorum",
                    [](World& w) {
                      w.obs.watchdog.quorum = false;
                      w.in.requests.detach = {"c"};
                    },
                    "", "", "detach c"},
        RequestCase{"recover_carried_out", [](World& w) { w.in.requests.recover = {"c"}; },
                    "rebuild c <-a | write-state | publish-routing a:b", "recover c", ""},
        RequestCase{"recover_of_the_primary_refused", [](World& w) { w.in.requests.recover = {"a"}; }, "event",
                    "recover a", ""},
        RequestCase{"recover_of_a_detached_node_refused",
                    [](World& w) {
                      w.state.detached = {"c"};
                      w.state.routedStandbys = {"b"};
                      w.in.requests.recover = {"c"};
                    },
                    "event", "recover c", ""},
        RequestCase{"recover_waits_for_a_running_operation",
                    [](World& w) {
                      w.N("c").operation = Op(OperationKind::kRestart, OperationState::kRunning);
                      w.in.requests.recover = {"c"};
                    },
                    "write-state | publish-routing a:b", "", "recover c"},
        // The plan has actions (the failover's) but does not look at the
        // recover: it stays pending (it used to be dropped here).
        RequestCase{"recover_stays_pending_through_a_failover",
                    [](World& w) {
                      w.Crash("a");
                      w.in.requests.recover = {"c"};
                    },
                    "fence a | write-state | publish-routing -:b,c | promote b", "", "recover c"},
        RequestCase{"switchover_started", [](World& w) { w.in.requests.switchoverTo = "c"; },
                    "write-state | checkpoint a | pause-proxies", "switchover c", ""},
        RequestCase{"switchover_to_the_primary_in_effect", [](World& w) { w.in.requests.switchoverTo = "a"; }, "",
                    "switchover a", ""},
        RequestCase{"switchover_to_a_down_node_refused",
                    [](World& w) {
                      w.PgDown("c");
                      w.in.requests.switchoverTo = "c";
                    },
                    "event | start c | write-state | publish-routing a:b", "switchover c", ""},
        RequestCase{"switchover_to_the_running_target_in_effect",
                    [](World& w) {
                      SwitchoverRunning(w, "b");
                      w.in.requests.switchoverTo = "b";
                    },
                    "", "switchover b", ""},
        RequestCase{"switchover_elsewhere_while_one_runs_refused",
                    [](World& w) {
                      SwitchoverRunning(w, "b");
                      w.in.requests.switchoverTo = "c";
                    },
                    "event", "switchover c", ""},
        // A failover with failover.automatic off: the operator's switchover
        // picks the node to promote.
        RequestCase{"switchover_request_chooses_the_failover_target",
                    [](World& w) {
                      w.spec.failover.automatic = false;
                      w.Crash("a");
                      w.in.requests.switchoverTo = "c";
                      w.in.requests.detach = {"b"};
                    },
                    "detach b | fence a | write-state | publish-routing -:c | promote c", "switchover c; detach b",
                    ""}),
    [](const ::testing::TestParamInfo<RequestCase>& i) { return std::string(i.param.name); });

TEST(PlanRequestsRemove, RequestsFiledAfterThePlanWasMadeStay) {
  Requests answered;
  answered.switchoverTo = "b";
  answered.detach = {"c"};
  answered.recover = {"c"};
  Requests pending;
  pending.switchoverTo = "c";        // a newer switchover replaced the one planned
  pending.detach = {"c", "d"};       // d filed while the round ran
  pending.recover = {"c", "c"};      // filed twice: once answered
  pending.attach = {"e"};
  RemoveAnswered(answered, &pending);
  EXPECT_EQ(Show(pending), "switchover c; recover c; attach e; detach d");
}

}  // namespace
}  // namespace pgvigil::plan::testing
