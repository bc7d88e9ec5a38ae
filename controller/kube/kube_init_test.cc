// DecideInit (kube_init.h) as a table: init only when every instance answers
// with an empty data directory, nothing running, and no primary in the state;
// to spec.primary or the first instance.
#include "controller/kube/kube_init.h"

#include <gtest/gtest.h>

#include <functional>

namespace pgvigil::kube {
namespace {

ClusterSpec Spec(const std::string& primary) {
  ClusterSpec s;
  for (const char* n : {"demo-0", "demo-1", "demo-2"}) {
    NodeSpec node;
    node.name = n;
    s.nodes.push_back(node);
  }
  s.primary = primary;
  return s;
}

plan::Observation Empty() {
  plan::Observation o;
  for (const char* n : {"demo-0", "demo-1", "demo-2"}) {
    plan::NodeObservation no;
    no.name = n;
    no.sidecarReachable = true;
    no.dataDirectoryInitialized = false;
    o.nodes.push_back(no);
  }
  return o;
}

plan::WatchdogView Settled() {
  plan::WatchdogView w;
  w.observedAt = 1;
  w.leader = "demo-1";
  w.quorum = true;
  w.writeLeasesKnown = true;
  return w;
}

// demo-0's newest operation is an init in `state`, and it has a data directory.
void InitLeftDataOnTheFirst(plan::Observation& o, plan::OperationState state) {
  plan::Operation op;
  op.kind = plan::OperationKind::kInit;
  op.state = state;
  o.nodes[0].operation = op;
  o.nodes[0].dataDirectoryInitialized = true;
}

struct Case {
  const char* name;
  std::string primarySpec;
  std::function<void(plan::ClusterState&, plan::Observation&, plan::WatchdogView&)> change;
  std::string want;        // node, "" = no init
  std::string reasonHas;
};

TEST(KubeInit, Table) {
  const Case cases[] = {
      {"AllEmpty", "", nullptr, "demo-0", "the first instance"},
      {"AllEmptySpecPrimary", "demo-2", nullptr, "demo-2", "spec.primary"},
      {"StatePrimary", "", [](auto& s, auto&, auto&) { s.primary = "demo-1"; }, "", "names primary demo-1"},
      {"OneHasData", "", [](auto&, auto& o, auto&) { o.nodes[1].dataDirectoryInitialized = true; }, "",
       "demo-1 has a data directory"},
      {"OneUnreachable", "", [](auto&, auto& o, auto&) { o.nodes[2].sidecarReachable = false; }, "",
       "demo-2 (not reachable)"},
      {"OneMissing", "", [](auto&, auto& o, auto&) { o.nodes.pop_back(); }, "", "demo-2 (not reachable)"},
      {"OneRunsPostgres", "", [](auto&, auto& o, auto&) { o.nodes[0].postgresRunning = true; }, "", "demo-0 runs PostgreSQL"},
      {"OneRunsOperation", "",
       [](auto&, auto& o, auto&) {
         plan::Operation op;
         op.kind = plan::OperationKind::kRebuild;
         op.state = plan::OperationState::kRunning;
         o.nodes[1].operation = op;
       },
       "", "demo-1 runs an operation"},
      {"FinishedOperationIsNoObstacle", "",
       [](auto&, auto& o, auto&) {
         plan::Operation op;
         op.state = plan::OperationState::kFailed;
         o.nodes[1].operation = op;
       },
       "demo-0", "initialising demo-0"},
      // An init that failed (its own fence stopped the start in it) left a data
      // directory: the next init resumes it, once the watchdog counts it live.
      {"UnfinishedInitIsSentAgain", "",
       [](auto&, auto& o, auto&) {
         InitLeftDataOnTheFirst(o, plan::OperationState::kFailed);
       },
       "demo-0", "initialising demo-0"},
      {"UnfinishedInitWaitsForTheWatchdog", "",
       [](auto&, auto& o, auto& w) {
         InitLeftDataOnTheFirst(o, plan::OperationState::kFailed);
         w.quorum = false;
       },
       "", "waiting for the watchdog"},
      {"DataAfterAFinishedInit", "",
       [](auto&, auto& o, auto&) {
         InitLeftDataOnTheFirst(o, plan::OperationState::kSucceeded);
       },
       "", "demo-0 has a data directory"},
      {"NoWatchdogLeader", "", [](auto&, auto&, auto& w) { w.leader.clear(); }, "", "waiting for the watchdog"},
      {"NoQuorum", "", [](auto&, auto&, auto& w) { w.quorum = false; }, "", "waiting for the watchdog"},
      {"NoWriteLeasesReported", "", [](auto&, auto&, auto& w) { w.writeLeasesKnown = false; }, "",
       "waiting for the watchdog"},
      {"TargetLeaseOver", "", [](auto&, auto&, auto& w) { w.writeLeaseOver = {"demo-0"}; }, "",
       "counting demo-0 live"},
      {"OtherLeaseOverIsNoObstacle", "", [](auto&, auto&, auto& w) { w.writeLeaseOver = {"demo-2"}; }, "demo-0",
       "initialising demo-0"},
  };
  for (const Case& c : cases) {
    plan::ClusterState state;
    plan::Observation obs = Empty();
    plan::WatchdogView w = Settled();
    if (c.change) c.change(state, obs, w);
    InitDecision d = DecideInit(Spec(c.primarySpec), state, obs, w);
    EXPECT_EQ(d.node, c.want) << c.name;
    EXPECT_NE(d.reason.find(c.reasonHas), std::string::npos) << c.name << ": " << d.reason;
  }
}

}  // namespace
}  // namespace pgvigil::kube

namespace pgvigil::kube {
namespace {

// WhyHoldSelfFencedStart: a primary its own sidecar fenced is started again
// only while the watchdog leader's view (with quorum) counts it live.
TEST(KubeInit, SelfFencedPrimaryStartsOnlyWhenTheWatchdogCountsItLive) {
  struct Row {
    const char* name;
    uint64_t selfFencedInTerm;
    std::function<void(plan::WatchdogView&)> change;
    bool held;
  };
  const Row rows[] = {
      {"never fenced itself: nothing to hold", 0, [](plan::WatchdogView& w) { w = plan::WatchdogView{}; }, false},
      {"fenced itself, the watchdog counts it live", 3, [](plan::WatchdogView&) {}, false},
      {"fenced itself, no watchdog leader (a majority away)", 3,
       [](plan::WatchdogView& w) { w = plan::WatchdogView{}; }, true},
      {"fenced itself, the leader has no quorum", 3, [](plan::WatchdogView& w) { w.quorum = false; }, true},
      {"fenced itself, its write lease is over", 3, [](plan::WatchdogView& w) { w.writeLeaseOver = {"demo-0"}; },
       true},
      {"fenced itself, another's write lease is over", 3,
       [](plan::WatchdogView& w) { w.writeLeaseOver = {"demo-2"}; }, false},
      {"fenced itself, leases not reported", 3, [](plan::WatchdogView& w) { w.writeLeasesKnown = false; }, true},
  };
  for (const auto& r : rows) {
    plan::NodeObservation o;
    o.name = "demo-0";
    o.selfFencedInTerm = r.selfFencedInTerm;
    plan::WatchdogView w = Settled();
    r.change(w);
    const std::string why = WhyHoldSelfFencedStart(o, w);
    EXPECT_EQ(!why.empty(), r.held) << r.name << ": " << why;
    if (r.held) {
      EXPECT_NE(why.find("demo-0"), std::string::npos) << r.name << ": " << why;
      EXPECT_NE(why.find("term 3"), std::string::npos) << r.name << ": " << why;
    }
  }
}

}  // namespace
}  // namespace pgvigil::kube
