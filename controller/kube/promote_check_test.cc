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

}  // namespace
}  // namespace pgvigil::kube
