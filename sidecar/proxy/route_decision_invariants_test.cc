// Invariants of the per-statement routing decision (route_decision.h) over
// every statement class x transaction state x routing state x setting x
// protocol; the named cases are in route_decision_test.cc.
#include <gtest/gtest.h>

#include "sidecar/proxy/route_decision.h"
#include "sidecar/proxy/route_decision_testutil.h"

namespace pgvigil::proxy {
namespace {

using route_test::Base;
using route_test::Cycle;
using route_test::In;
using route_test::StandbyInTx;

// Every statement class x transaction state x routing state x setting x
// protocol: the invariants hold in every combination.
TEST(RouteDecisionTest, InvariantsOverTheWholeSpace) {
  const char* sqls[] = {"SELECT 1", "INSERT INTO t VALUES (1)", "BEGIN", "BEGIN ISOLATION LEVEL SERIALIZABLE",
                        "BEGIN READ WRITE", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SAVEPOINT a",
                        "COMMIT", "SET x = 1", "SELECT f()", "SELECT * FROM pg_prepared_xacts",
                        "SELECT pg_backend_pid()", "SET LOCAL x = 1", "ROLLBACK TO SAVEPOINT a",
                        "SET TRANSACTION READ ONLY"};
  int combos = 0;
  for (const char* sql : sqls)
    for (char tx : {'I', 'T', 'E'})
      for (int routing = 0; routing < 3; ++routing)  // normal, no primary, no standby
        for (int setting = 0; setting < 4; ++setting)
          for (Protocol p : {Protocol::kSimple, Protocol::kExtendedSync, Protocol::kPipelineFlush})
            for (int flags = 0; flags < 64; ++flags) {
              In in = Base();
              in.c = Cycle(sql, p);
              in.s.txStatus = tx;
              if (tx != 'I' && (flags & 1)) StandbyInTx(in), in.s.txStatus = tx;
              in.s.txSerializable = tx != 'I' && (flags & 2);
              in.s.sessionSerializable = flags & 4;
              in.s.readFloor = (flags & 8) ? 1000 : 0;
              in.s.standbyReplayLsn = 500;
              in.k.standbysAtFloor = (flags & 8) ? 0 : 2;
              in.s.floorStale = flags & 32;  // a write ended, its LSN not asked for yet
              // A transaction whose BEGIN deferred the standby's part.
              if (tx != 'I' && !(flags & 1) && (flags & 16))
                in.s.standbyConnected = in.s.standbyEligible = in.s.standbyTxDeferred = true;
              if (routing == 1) in.k.hasPrimary = false;
              if (routing == 2) in.k.standbysEligible = in.k.standbysAtFloor = 0;
              in.b.enabled = setting != 0;
              in.b.disableOnWrite = setting == 2 ? DisableOnWrite::kAlways : DisableOnWrite::kTransaction;
              in.b.readYourWrites = setting != 3;
              RouteDecision d = DecideRoute(in.c, in.s, in.k, in.b);
              ++combos;
              std::string where = std::string(sql) + " tx=" + tx + " routing=" + std::to_string(routing) +
                                  " setting=" + std::to_string(setting) + " " + ToString(p) +
                                  " flags=" + std::to_string(flags) + ": " + Describe(d);
              bool standby = d.target == RouteTarget::kStandby;
              // Writes never go to a standby.
              if (in.c.write) {
                EXPECT_FALSE(standby) << where;
              }
              // A serializable transaction never reads a standby.
              if (in.s.txSerializable || (tx == 'I' && in.s.sessionSerializable && !in.c.broadcast)) {
                EXPECT_FALSE(standby) << where;
              }
              if (d.txSerializable || d.txReadWrite) {
                EXPECT_NE(d.target, RouteTarget::kBoth) << where;
              }
              // A read in a transaction goes to a standby only if that standby is
              // in it, or joins it now (its deferred BEGIN goes first).
              if (tx != 'I' && standby && d.reason != RouteReason::kNoPrimaryRead) {
                EXPECT_TRUE((in.s.standbyInTx && in.s.standbyTxStatus == 'T') || d.openStandbyTx) << where;
              }
              // The standby's part opens only in a deferred transaction that has
              // not failed, never with a write, and only where the cycle goes there.
              if (d.openStandbyTx) {
                EXPECT_TRUE(in.s.standbyTxDeferred && tx != 'E' && !in.c.write) << where;
                EXPECT_TRUE(standby || d.target == RouteTarget::kBoth) << where;
              }
              // A deferred transaction's COMMIT / ROLLBACK (TO) never goes to the
              // standby, which has nothing of it.
              if (in.s.standbyTxDeferred && (in.c.kind == StmtKind::kTxEnd || in.c.kind == StmtKind::kRollbackTo)) {
                EXPECT_EQ(d.target == RouteTarget::kBoth || standby, false) << where;
              }
              // A new transaction's BEGIN never goes to a standby with a primary there; it defers the
              // standby's part only where a standby may serve the session's reads.
              if (in.c.kind == StmtKind::kBegin && tx == 'I' && in.k.hasPrimary) {
                EXPECT_NE(d.target, RouteTarget::kBoth) << where;
                EXPECT_FALSE(standby) << where;
              }
              if (d.deferStandbyTx) {
                EXPECT_EQ(d.target, RouteTarget::kPrimary) << where;
                EXPECT_TRUE(in.b.enabled) << where;
                if (in.b.readYourWrites && in.s.readFloor > 0) {
                  EXPECT_TRUE(in.s.standbyConnected ? in.s.standbyReplayLsn >= in.s.readFloor
                                                    : in.k.standbysAtFloor > 0)
                      << where;
                }
              }
              // A command the standby would need and does not get ends the deferral.
              if (in.s.standbyTxDeferred && tx != 'E' && in.c.broadcast && !d.openStandbyTx &&
                  (in.c.kind == StmtKind::kSetLocal || in.c.kind == StmtKind::kSavepoint) &&
                  d.target != RouteTarget::kWait && d.target != RouteTarget::kError) {
                EXPECT_TRUE(d.forgoStandbyTx) << where;
              }
              // Read-your-writes: an autocommit read on a standby below the floor never.
              if (tx == 'I' && standby && in.b.readYourWrites && in.s.readFloor > 0 && in.k.hasPrimary) {
                EXPECT_TRUE(in.s.standbyConnected ? in.s.standbyReplayLsn >= in.s.readFloor
                                                  : d.minReplayLsn >= in.s.readFloor)
                    << where;
              }
              // Read-your-writes with the floor not asked for yet (a write ended:
              // no transaction holds a standby then): no standby read, no BEGIN
              // deferring to one; the LSN is asked for only after a read (never a
              // write, a BEGIN or a sticky session), on the primary.
              if (in.s.floorStale && in.b.readYourWrites && in.k.hasPrimary && !in.s.standbyInTx &&
                  !in.s.standbyTxDeferred) {
                EXPECT_FALSE(standby) << where;
                EXPECT_FALSE(d.deferStandbyTx) << where;
              }
              if (d.fetchCommitLsn) {
                EXPECT_EQ(d.target, RouteTarget::kPrimary) << where;
                EXPECT_TRUE(in.s.floorStale && in.b.readYourWrites && in.b.enabled) << where;
                EXPECT_FALSE(in.c.write || in.c.broadcast || in.c.needPrimary) << where;
                EXPECT_FALSE(in.s.wrote && in.b.disableOnWrite == DisableOnWrite::kAlways) << where;
              }
              // A transaction's read of a function of unknown volatility is not balanced.
              if (tx != 'I' && in.c.functionsUnknown && in.k.hasPrimary) {
                EXPECT_FALSE(standby) << where;
              }
              // System catalogs and the backend's pid: the primary's answer while there is one.
              if (std::string(sql).find("pg_") != std::string::npos && in.k.hasPrimary) {
                EXPECT_FALSE(standby) << where;
              }
              // Balancing off: nothing balanced while a primary is there.
              if (!in.b.enabled && in.k.hasPrimary) {
                EXPECT_FALSE(standby) << where;
              }
            }
  EXPECT_GT(combos, 5000);
}

// DecidedBySequence: within a pinned sequence (and for a local command) the
// decision is the same whatever the rest of SessionView and ClusterView are,
// so the session may leave them default.
TEST(RouteDecisionTest, SequenceDecisionNeedsOnlyTheSequenceView) {
  const char* sqls[] = {"SELECT 1", "INSERT INTO t VALUES (1)", "BEGIN", "BEGIN ISOLATION LEVEL SERIALIZABLE",
                        "BEGIN READ WRITE", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SAVEPOINT a",
                        "COMMIT", "SET x = 1", "SELECT f()", "DEALLOCATE s", "SHOW pool_nodes"};
  int combos = 0;
  for (const char* sql : sqls)
    for (char tx : {'I', 'T', 'E'})
      for (Side pinned : {Side::kNone, Side::kPrimary, Side::kStandby})
        for (Protocol p : {Protocol::kSimple, Protocol::kExtendedSync, Protocol::kPipelineFlush})
          for (int flags = 0; flags < 128; ++flags) {
            In in = Base();
            in.c = Cycle(sql, p);
            in.c.portalMirrored = flags & 1;
            in.c.portal = (flags & 2) ? Side::kStandby : Side::kNone;
            in.s.txStatus = tx;
            in.s.pinned = pinned;
            in.s.standbyConnected = flags & 4;
            in.s.standbyInTx = flags & 8;
            in.s.sessionSerializable = flags & 16;
            in.s.standbyTxDeferred = (flags & 64) && !(flags & 8);
            if (!DecidedBySequence(in.c, in.s)) continue;
            ++combos;
            In seq = in;  // what the session leaves default
            seq.s = SessionView{};
            seq.s.txStatus = in.s.txStatus;
            seq.s.pinned = in.s.pinned;
            seq.s.standbyConnected = in.s.standbyConnected;
            seq.s.standbyInTx = in.s.standbyInTx;
            seq.s.sessionSerializable = in.s.sessionSerializable;
            seq.s.standbyTxDeferred = in.s.standbyTxDeferred;
            seq.k = ClusterView{};
            seq.b = BalanceSettings{};
            const std::string want = Describe(DecideRoute(seq.c, seq.s, seq.k, seq.b));
            // The rest of the view, in turn set to what could change a decision.
            for (int other = 0; other < 8; ++other) {
              In full = in;
              full.s.primaryConnected = other & 1;
              full.s.wrote = full.s.tempTable = full.s.txSerializable = full.s.txReadWrite = other & 2;
              full.s.standbyTxStatus = (other & 4) ? 'T' : 'I';
              full.s.standbyAnswersPending = full.s.floorPending = full.s.floorStale = other & 1;
              full.s.standbyEligible = other & 2;
              full.s.readFloor = (other & 4) ? 1000 : 0;
              full.k.hasPrimary = !(other & 1);
              full.k.holdNewTransactions = full.k.awaitPrimary = other & 2;
              full.k.standbysEligible = full.k.standbysAtFloor = (other & 4) ? 0 : 2;
              full.c.functionsUnknown = full.c.functionsVolatile = other & 4;
              full.c.deallocateTracked = full.c.parsedOnPrimary = other & 2;
              full.b.enabled = other & 1;
              full.b.disableOnWrite = (other & 2) ? DisableOnWrite::kAlways : DisableOnWrite::kOff;
              full.b.readYourWrites = other & 4;
              EXPECT_EQ(Describe(DecideRoute(full.c, full.s, full.k, full.b)), want)
                  << sql << " tx " << tx << " pinned " << ToString(pinned) << " flags " << flags << " other " << other;
            }
          }
  EXPECT_GT(combos, 6000);
}

}  // namespace
}  // namespace pgvigil::proxy
