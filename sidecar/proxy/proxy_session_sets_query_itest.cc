// Integration: a Query of several statements is followed statement by
// statement for the settings a backend joining the session is given, as
// PostgreSQL runs it (session_sets_query.cc): a ROLLBACK among its statements
// drops the SETs before it, not those after it (the implicit transaction, or
// a BEGIN in the same Query); SAVEPOINT, ROLLBACK TO and RELEASE among them,
// or in a block already open, undo or keep what followed the savepoint; after
// an error in a block, a later ROLLBACK TO a savepoint of the Query recovers
// what came before it. Each case runs on PostgreSQL itself (the primary) and
// then through the proxy (reads balanced to node 1, in session mode and in
// transaction mode with the client pinned); the settings a read shows (on the
// standby, which joins at the first read or is in the session already) must be
// those the primary session shows.
#include <gtest/gtest.h>

#include <string>

#include "sidecar/proxy/compare_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

class ProxySessionSetsQueryTest : public ::testing::TestWithParam<PoolMode> {};

// work_mem and statement_timeout, on the session's standby (a read) and on the primary.
void ExpectMemTimeout(RawPg& x, const std::string& want) {
  ExpectReadAndPrimary(x, "SELECT current_setting('work_mem') || ' ' || current_setting('statement_timeout')", want);
}

void Baseline(RawPg& x) {
  EXPECT_EQ(x.Simple("SET work_mem = '3MB'"), "CZ") << x.lastError;
  EXPECT_EQ(x.Simple("SET statement_timeout = '7s'"), "CZ") << x.lastError;
}

// Session mode; transaction pooling with the pin policy (a SET among several
// statements pins the client; refused otherwise).
std::unique_ptr<ProxyUnderTest> Start(PoolMode mode) {
  return StartBalancedToNode1(mode, mode == PoolMode::kSession ? SessionStatePolicy::kRefuse
                                                               : SessionStatePolicy::kPin);
}

TEST_P(ProxySessionSetsQueryTest, ARollbackAmongTheStatementsDropsOnlyTheSetsBeforeIt) {
  auto px = Start(GetParam());
  // The implicit transaction: ROLLBACK ends it (with a warning); the
  // statements after it run in another, committed at the end.
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    EXPECT_EQ(x.Simple("SET statement_timeout = '8s'; ROLLBACK; SET work_mem = '5MB'"), "CNCCZ") << x.lastError;
    ExpectMemTimeout(x, "5MB 7s");
  });
  // BEGIN ... ROLLBACK in the same Query.
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    EXPECT_EQ(x.Simple("BEGIN; SET statement_timeout = '8s'; ROLLBACK; SET work_mem = '5MB'"), "CCCCZ")
        << x.lastError;
    ExpectMemTimeout(x, "5MB 7s");
  });
  // A COMMIT keeps what came before it, an error after it drops the rest.
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    EXPECT_EQ(x.Simple("SET work_mem = '5MB'; COMMIT; SET statement_timeout = '8s'; SELECT 1/0"), "CNCCEZ");
    EXPECT_EQ(x.lastError, "22012");
    ExpectMemTimeout(x, "5MB 7s");
  });
  // The standby in the session already: it is given what it missed.
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    ExpectMemTimeout(x, "3MB 7s");
    EXPECT_EQ(x.Simple("SET statement_timeout = '8s'; ROLLBACK; SET work_mem = '6MB'"), "CNCCZ") << x.lastError;
    ExpectMemTimeout(x, "6MB 7s");
  });
  // BEGIN takes the implicit transaction's SETs into the block.
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    EXPECT_EQ(x.Simple("SET work_mem = '5MB'; BEGIN; SET statement_timeout = '8s'"), "CCCZ") << x.lastError;
    EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
    ExpectMemTimeout(x, "3MB 7s");
    EXPECT_EQ(x.Simple("SET work_mem = '5MB'; BEGIN; SET statement_timeout = '8s'"), "CCCZ") << x.lastError;
    EXPECT_EQ(x.Simple("COMMIT"), "CZ");
    ExpectMemTimeout(x, "5MB 8s");
  });
}

TEST_P(ProxySessionSetsQueryTest, SavepointCommandsAmongTheStatementsAreFollowed) {
  auto px = Start(GetParam());
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    EXPECT_EQ(x.Simple("BEGIN; SET work_mem = '5MB'; SAVEPOINT s; SET statement_timeout = '8s'; ROLLBACK TO s; "
                       "COMMIT"),
              "CCCCCCZ")
        << x.lastError;
    ExpectMemTimeout(x, "5MB 7s");
  });
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    EXPECT_EQ(x.Simple("BEGIN; SET work_mem = '5MB'; SAVEPOINT s; SET statement_timeout = '8s'; RELEASE s; "
                       "COMMIT"),
              "CCCCCCZ")
        << x.lastError;
    ExpectMemTimeout(x, "5MB 8s");
  });
  // An error in the block: ROLLBACK TO a savepoint of the Query recovers what came before it.
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    EXPECT_EQ(x.Simple("BEGIN; SET work_mem = '5MB'; SAVEPOINT s; SET statement_timeout = '8s'; SELECT 1/0"),
              "CCCCEZ");
    EXPECT_EQ(x.lastError, "22012");
    EXPECT_EQ(x.Simple("ROLLBACK TO s"), "CZ");
    EXPECT_EQ(x.Simple("COMMIT"), "CZ");
    ExpectMemTimeout(x, "5MB 7s");
  });
  // A block open already, holding a SET: savepoint commands in a Query.
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    Baseline(x);
    EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
    EXPECT_EQ(x.Simple("SET work_mem = '5MB'"), "CZ");
    EXPECT_EQ(x.Simple("SAVEPOINT s; SET statement_timeout = '8s'; ROLLBACK TO s; SELECT 1"), "CCCTDCZ")
        << x.lastError;
    EXPECT_EQ(x.Simple("COMMIT"), "CZ");
    ExpectMemTimeout(x, "5MB 7s");
  });
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxySessionSetsQueryTest,
                         ::testing::Values(PoolMode::kSession, PoolMode::kTransaction),
                         [](const ::testing::TestParamInfo<PoolMode>& i) {
                           return i.param == PoolMode::kSession ? "session" : "transaction";
                         });

}  // namespace
}  // namespace pgvigil::proxy::testenv
