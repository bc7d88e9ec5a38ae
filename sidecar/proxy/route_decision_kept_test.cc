// Route-once for the primary (PrimaryDecisionOutlivesAttach, used by
// session_kept_route.cc): over every statement class x protocol x session flag
// x setting, a decision it accepts, made with no backend attached, is the one
// DecideRoute makes again with the primary attached, whatever the standby
// counts and awaitPrimary became meanwhile (the inputs the clock moves).
#include <gtest/gtest.h>

#include "sidecar/proxy/route_decision.h"
#include "sidecar/proxy/route_decision_testutil.h"

namespace pgvigil::proxy {
namespace {

using route_test::Cycle;
using route_test::In;

struct Counts {
  int eligible, atFloor;
};
constexpr Counts kCounts[] = {{0, 0}, {1, 0}, {1, 1}, {2, 2}};

TEST(RouteDecisionKeptTest, KeptPrimaryDecisionIsTheOneMadeAfterTheAttach) {
  const char* sqls[] = {"SELECT 1", "INSERT INTO t VALUES (1)", "BEGIN", "BEGIN ISOLATION LEVEL SERIALIZABLE",
                        "BEGIN READ WRITE", "BEGIN READ ONLY", "SAVEPOINT a", "COMMIT", "SET x = 1",
                        "SELECT * FROM pg_prepared_xacts", "SELECT pg_backend_pid()", "RESET ALL",
                        "DISCARD ALL", "DEALLOCATE s1", "DEALLOCATE ALL", "SELECT 1 FOR UPDATE"};
  int kept = 0, kept_reads_off = 0, kept_writes = 0, kept_begins = 0;
  for (const char* sql : sqls)
    for (Protocol p : {Protocol::kSimple, Protocol::kExtendedSync, Protocol::kFunctionCall})
      for (int setting = 0; setting < 4; ++setting)
        for (int flags = 0; flags < 256; ++flags)
          for (const Counts& before : kCounts)
            for (bool has_primary : {true, false}) {
              In in;
              in.c = Cycle(sql, p);
              in.c.functionsUnknown = false;  // a cycle calling functions is never kept
              in.c.deallocateTracked = flags & 1;
              in.c.parsedOnPrimary = flags & 2;
              in.s.sessionSerializable = flags & 4;
              in.s.tempTable = flags & 8;
              in.s.wrote = flags & 16;
              in.s.readFloor = (flags & 32) ? 1000 : 0;
              in.s.floorPending = flags & 64;
              in.s.floorStale = flags & 128;
              in.s.primaryConnected = in.s.standbyConnected = false;  // queued for the primary's pool
              in.k.hasPrimary = has_primary;
              in.k.standbysEligible = before.eligible;
              in.k.standbysAtFloor = before.atFloor;
              in.k.awaitPrimary = !has_primary && (flags & 1);
              in.b.enabled = setting != 0;
              in.b.disableOnWrite = setting == 2 ? DisableOnWrite::kAlways : DisableOnWrite::kTransaction;
              in.b.readYourWrites = setting != 3;
              const RouteDecision d = DecideRoute(in.c, in.s, in.k, in.b);
              if (!PrimaryDecisionOutlivesAttach(d, in.c.kind, in.b.enabled)) continue;
              ++kept;
              kept_reads_off += d.reason == RouteReason::kBalancingOff;
              kept_writes += d.reason == RouteReason::kWrite;
              kept_begins += in.c.kind == StmtKind::kBegin;
              EXPECT_TRUE(has_primary) << sql;
              // After the grant: the primary attached; the clock may have moved
              // the standby counts (avoidances) and awaitPrimary.
              In after = in;
              after.s.primaryConnected = true;
              for (const Counts& now : kCounts)
                for (bool await : {false, true}) {
                  after.k.standbysEligible = now.eligible;
                  after.k.standbysAtFloor = now.atFloor;
                  after.k.awaitPrimary = await;
                  const RouteDecision again = DecideRoute(after.c, after.s, after.k, after.b);
                  EXPECT_EQ(Describe(again), Describe(d))
                      << sql << " " << ToString(p) << " setting=" << setting << " flags=" << flags
                      << " standbys before " << before.eligible << "/" << before.atFloor << ", after "
                      << now.eligible << "/" << now.atFloor << " await=" << await;
                }
            }
  // The cases the bench runs are among those kept.
  EXPECT_GT(kept_reads_off, 0);
  EXPECT_GT(kept_writes, 0);
  EXPECT_GT(kept_begins, 0);
  EXPECT_GT(kept, kept_reads_off + kept_writes);
}

// What is never kept: a decision that read the standby counts (it may differ
// once an avoidance expires), the BEGIN that may defer the standby's part, and
// anything not for the primary alone.
TEST(RouteDecisionKeptTest, DecisionsThatReadTheStandbysAreNotKept) {
  In in;
  in.c = Cycle("SELECT 1");
  in.k.standbysEligible = in.k.standbysAtFloor = 0;
  RouteDecision d = DecideRoute(in.c, in.s, in.k, in.b);
  ASSERT_EQ(d.reason, RouteReason::kNoStandby);
  EXPECT_FALSE(PrimaryDecisionOutlivesAttach(d, in.c.kind, true));
  in.c = Cycle("BEGIN");
  d = DecideRoute(in.c, in.s, in.k, in.b);  // no standby at the floor: not deferred
  ASSERT_EQ(d.reason, RouteReason::kBroadcast);
  EXPECT_FALSE(PrimaryDecisionOutlivesAttach(d, in.c.kind, true));
  EXPECT_TRUE(PrimaryDecisionOutlivesAttach(d, in.c.kind, false));
  in.k.standbysEligible = in.k.standbysAtFloor = 2;
  d = DecideRoute(in.c, in.s, in.k, in.b);
  ASSERT_EQ(d.reason, RouteReason::kTxBeginDeferred);
  EXPECT_FALSE(PrimaryDecisionOutlivesAttach(d, in.c.kind, true));
  in.c = Cycle("SELECT 1");
  d = DecideRoute(in.c, in.s, in.k, in.b);
  ASSERT_EQ(d.target, RouteTarget::kStandby);
  EXPECT_FALSE(PrimaryDecisionOutlivesAttach(d, in.c.kind, true));
  in.s.floorStale = true;
  d = DecideRoute(in.c, in.s, in.k, in.b);
  ASSERT_TRUE(d.fetchCommitLsn);
  EXPECT_FALSE(PrimaryDecisionOutlivesAttach(d, in.c.kind, true));
}

}  // namespace
}  // namespace pgvigil::proxy
