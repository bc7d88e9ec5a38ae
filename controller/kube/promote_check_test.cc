// §6 (i) before a failover's promote (promote_check.h): one row per case.
#include <gtest/gtest.h>

#include "controller/kube/promote_check.h"

namespace pgvigil::kube {
namespace {

// A leader's view of demo-0: `down` live members see it down; `over`: the
// leader reports its write lease over; `known`: write leases reported at all.
plan::WatchdogView View(bool quorum, int down, bool over, bool known = true) {
  plan::WatchdogView w;
  w.leader = "demo-1";
  w.quorum = quorum;
  w.liveMembers = 2;
  w.backends["demo-0"] = plan::ConsensusHealth{down, 2 - down};
  w.writeLeasesKnown = known;
  if (over) w.writeLeaseOver = {"demo-0"};
  return w;
}

struct Row {
  const char* name;
  size_t members;
  std::optional<plan::WatchdogView> view;
  bool oldStopped;
  bool allow;
  const char* says;  // part of the reason
};

TEST(PromoteCheckTest, AMajorityMustReportTheOldPrimaryDownWithItsLeaseOver) {
  plan::WatchdogView noEntry = View(true, 0, true);
  noEntry.backends.clear();
  plan::WatchdogView fiveDown2 = View(true, 2, true);
  plan::WatchdogView fiveDown3 = View(true, 3, true);
  const Row rows[] = {
      {"cut off: two of three see it down, lease over", 3, View(true, 2, true), false, true,
       "demo-0 seen down by 2 of 3 members (watchdog leader demo-1); its write lease is over"},
      {"lease still running, sidecar silent", 3, View(true, 2, false), false, false,
       "its write lease may still run"},
      {"lease still running, its sidecar reports PostgreSQL stopped", 3, View(true, 2, false), true, true,
       "its sidecar reports its PostgreSQL stopped"},
      {"one of three sees it down", 3, View(true, 1, true), false, false, "a majority is 2"},
      {"one of three, even stopped", 3, View(true, 1, true), true, false, "seen down by 1 of 3"},
      {"nobody sees it down", 3, View(true, 0, true), true, false, "seen down by 0 of 3"},
      {"no entry for it", 3, noEntry, false, false, "seen down by 0 of 3"},
      {"leader without quorum", 3, View(false, 2, true), false, false, "holds no quorum"},
      {"no leader reachable", 3, std::nullopt, true, false, "no reachable sidecar is the watchdog leader"},
      {"write leases not reported, not stopped", 3, View(true, 2, false, false), false, false,
       "reports no write leases"},
      {"write leases not reported, stopped", 3, View(true, 2, false, false), true, true, "PostgreSQL stopped"},
      {"five members, two see it down", 5, fiveDown2, false, false, "a majority is 3"},
      {"five members, three see it down", 5, fiveDown3, false, true, "seen down by 3 of 5"},
  };
  for (const Row& r : rows) {
    PrimaryDownInputs in;
    in.old = "demo-0";
    in.members = r.members;
    in.leaderView = r.view;
    in.oldStopped = r.oldStopped;
    const PromoteDecision d = CheckPrimaryDown(in);
    EXPECT_EQ(d.allow, r.allow) << r.name << ": " << d.reason;
    EXPECT_NE(d.reason.find(r.says), std::string::npos) << r.name << ": " << d.reason;
  }
}

// Without a leader: each member's own view of the old primary (silent for
// more than deadTime, or never heard) and the down votes it counts.
TEST(PromoteCheckTest, MembersSilentForDeadTimeEndTheLeaseWithoutALeader) {
  using H = PrimaryDownInputs::Heard;
  struct HeardRow {
    const char* name;
    size_t members;
    std::vector<H> heard;
    bool allow;
    const char* says;
  };
  const HeardRow rows[] = {
      {"leader crashed with the primary: both others silent 1.6 s, 2 see it down", 3,
       {{"demo-1", 1600, 2}, {"demo-2", 1700, 2}}, true, "(their own views) and not heard for more than deadTime (1500 ms) by 2"},
      {"never heard since start counts as silent", 3, {{"demo-1", std::nullopt, 2}, {"demo-2", 1501, 2}}, true,
       "by 2 (demo-1, demo-2)"},
      {"one member heard it 1.4 s ago: it may still confirm", 3, {{"demo-1", 1400, 2}, {"demo-2", 1700, 2}},
       false, "no reachable sidecar is the watchdog leader"},
      {"exactly deadTime is not more than deadTime", 3, {{"demo-1", 1500, 2}, {"demo-2", 1700, 2}}, false,
       "no reachable sidecar"},
      {"silent, but only one sees PostgreSQL down (its sidecar alone died)", 3,
       {{"demo-1", 1600, 1}, {"demo-2", 1700, 1}}, false, "no reachable sidecar"},
      {"silent, down votes not reported", 3, {{"demo-1", 1600, -1}, {"demo-2", 1700, -1}}, false,
       "no reachable sidecar"},
      {"only one member reachable", 3, {{"demo-1", 1600, 2}}, false, "no reachable sidecar"},
      {"its own report does not count", 3, {{"demo-0", 9000, 2}, {"demo-1", 1600, 2}}, false,
       "no reachable sidecar"},
      {"five members: three silent", 5, {{"demo-1", 1600, 3}, {"demo-2", 1600, 3}, {"demo-3", 2000, 3}}, true,
       "by 3"},
      {"five members: two silent, two still hear it", 5,
       {{"demo-1", 1600, 3}, {"demo-2", 1600, 3}, {"demo-3", 200, 3}, {"demo-4", 100, 3}}, false,
       "no reachable sidecar"},
  };
  for (const HeardRow& r : rows) {
    PrimaryDownInputs in;
    in.old = "demo-0";
    in.members = r.members;
    in.deadTimeMs = 1500;
    in.heard = r.heard;
    const PromoteDecision d = CheckPrimaryDown(in);
    EXPECT_EQ(d.allow, r.allow) << r.name << ": " << d.reason;
    EXPECT_NE(d.reason.find(r.says), std::string::npos) << r.name << ": " << d.reason;
  }
  // The crashed pod was the leader and its restarted sidecar is heard again at
  // once: no silence, but it reports its PostgreSQL stopped.
  PrimaryDownInputs restarted;
  restarted.old = "demo-0";
  restarted.members = 3;
  restarted.deadTimeMs = 1500;
  restarted.heard = {{"demo-1", 100, 2}, {"demo-2", 120, 2}};
  EXPECT_FALSE(CheckPrimaryDown(restarted).allow);
  restarted.oldStopped = true;
  PromoteDecision r = CheckPrimaryDown(restarted);
  EXPECT_TRUE(r.allow) << r.reason;
  EXPECT_NE(r.reason.find("seen down by 2 of 3 members (their own views); its sidecar reports"), std::string::npos)
      << r.reason;
  restarted.heard = {{"demo-1", 100, 1}, {"demo-2", 120, 1}};  // a majority must see it down
  EXPECT_FALSE(CheckPrimaryDown(restarted).allow);

  // Two members: no majority forms without the primary, the rule does not apply.
  PrimaryDownInputs two;
  two.old = "demo-0";
  two.members = 2;
  two.deadTimeMs = 1500;
  two.heard = {{"demo-1", 5000, 2}};
  EXPECT_FALSE(CheckPrimaryDown(two).allow);
}

}  // namespace
}  // namespace pgvigil::kube
