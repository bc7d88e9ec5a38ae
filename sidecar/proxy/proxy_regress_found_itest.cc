// Integration: what PostgreSQL's own regression suite (src/test/regress, run
// by pg_regress with psql through the proxy: bench/client_suites.sh
// --pg-regress) found in session mode with read balancing. Reads balanced to
// one standby (node 1). Each case also runs on PostgreSQL itself (the
// primary, over its Unix socket); the client must get the same messages.
#include <gtest/gtest.h>

#include <string>

#include "sidecar/proxy/compare_testutil.h"
#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

// A Describe of the prepared statement `name`.
std::string DescribeStatement(const std::string& name) {
  std::string s;
  AppendMessage(&s, 'D', "S" + name + std::string(1, '\0'));
  return s;
}

// psql's \gdesc (psql.sql): the unnamed statement parsed in one sequence,
// described in the next. After a write the read's Parse goes to the
// primary with the proxy's own commit LSN query right behind it
// (read-your-writes); that simple Query made PostgreSQL drop the client's
// unnamed statement there, and the Describe got 26000 "unnamed prepared
// statement does not exist" where PostgreSQL describes it.
TEST(ProxyRegressFoundTest, UnnamedStatementOutlivesTheProxysOwnQuery) {
  auto px = StartBalancedToNode1(PoolMode::kSession, SessionStatePolicy::kRefuse, /*read_your_writes=*/true);
  ASSERT_TRUE(px);
  {
    RawPg d(NodeSocket(0));
    ASSERT_TRUE(d.ready);
    EXPECT_EQ(d.Simple("CREATE TABLE IF NOT EXISTS regress_found_unnamed (v int)").back(), 'Z');
  }
  px->CatchUp();
  OnPostgresThenProxy(px, [](RawPg& x, bool) {
    EXPECT_EQ(x.Simple("INSERT INTO regress_found_unnamed VALUES (1)"), "CZ") << x.lastError;
    EXPECT_EQ(x.Run(ParseMessage("", "SELECT 7 AS seven, $1::text AS t")), "1Z") << x.lastError;
    EXPECT_EQ(x.Run(DescribeStatement("")), "tTZ") << x.lastError;
    EXPECT_EQ(x.Run(ParseMessage("", "SELECT 8 AS eight")), "1Z") << x.lastError;
    EXPECT_EQ(x.Run(BindExecute("")), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "8");
  });
}

// temp.sql: with pg_temp first in search_path, a CREATE TABLE without a
// schema makes a temporary table, and current_schema() creates the
// temporary schema. The proxy saw neither as a temporary table: a read of
// the table went to the standby (42P01, it is not there) and so did
// current_schema() (25006 "cannot create temporary tables during recovery").
TEST(ProxyRegressFoundTest, SearchPathWithPgTempFirstKeepsReadsOnThePrimary) {
  auto px = StartBalancedToNode1(PoolMode::kSession);
  OnPostgresThenProxy(px, [&px](RawPg& x, bool direct) {
    EXPECT_EQ(x.Simple("SET search_path TO 'pg_temp'"), "CZ") << x.lastError;
    EXPECT_EQ(x.Simple("CREATE TABLE regress_found_temp (v int)"), "CZ") << x.lastError;
    EXPECT_EQ(x.Simple("INSERT INTO regress_found_temp VALUES (5)"), "CZ") << x.lastError;
    if (!direct) px->CatchUp();
    EXPECT_EQ(x.Simple("SELECT v FROM regress_found_temp"), "TDCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "5");
    EXPECT_EQ(x.Simple("BEGIN"), "CZ");
    EXPECT_EQ(x.Simple("SELECT current_schema() ~ 'pg_temp'"), "TDCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "t");
    EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
  });
}

// The same with pg_temp only named first by SET LOCAL inside the
// transaction: current_schema() there needs the primary too.
TEST(ProxyRegressFoundTest, SetLocalSearchPathWithPgTempFirst) {
  auto px = StartBalancedToNode1(PoolMode::kSession);
  OnPostgresThenProxy(px, [](RawPg& x, bool) {
    EXPECT_EQ(x.Simple("BEGIN"), "CZ");
    EXPECT_EQ(x.Simple("SET LOCAL search_path TO pg_temp, public"), "CZ") << x.lastError;
    EXPECT_EQ(x.Simple("SELECT current_schema() ~ 'pg_temp'"), "TDCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "t");
    EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
  });
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
