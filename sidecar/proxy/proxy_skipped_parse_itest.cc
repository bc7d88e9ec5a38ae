// Integration: a client's Parse that PostgreSQL never ran (it
// came after an error in its sequence, so PostgreSQL skipped it up to the
// Sync; or the proxy skipped it itself, the sequence's part before it having
// failed on the other backend) prepares nothing: a later Bind of that name
// gets PostgreSQL's 26000 "prepared statement does not exist" on any backend,
// and the proxy does not parse the statement there first. Reads balanced to
// one standby (node 1). Each pipeline also goes to PostgreSQL itself (the
// primary, over its Unix socket); the client must get the same message types.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sidecar/proxy/compare_testutil.h"
#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

std::unique_ptr<ProxyUnderTest> BalancedProxy(PoolMode mode = PoolMode::kSession) {
  return StartBalancedToNode1(mode);
}

// Also under transaction pooling, where the proxy's own skip (the second
// case) left the statement tracked too.
class ProxySkippedParseTest : public ::testing::TestWithParam<PoolMode> {};

TEST_P(ProxySkippedParseTest, AParseSkippedAfterAnErrorPreparesNothing) {
  auto px = BalancedProxy(GetParam());
  ASSERT_TRUE(px);
  RawPg c(px->port), d(NodeSocket(0));
  ASSERT_TRUE(c.ready && d.ready);
  EXPECT_NE(d.Simple("CREATE TABLE IF NOT EXISTS skipped_parse_t (v int)").find('C'), std::string::npos);  // N first: it exists
  px->CatchUp();
  for (bool direct : {true, false}) {
    RawPg& x = direct ? d : c;
    SCOPED_TRACE(direct ? "PostgreSQL" : "proxy");
    // Skipped by PostgreSQL: the sequence runs on the primary (a READ WRITE
    // transaction), its error comes before the Parse. The Bind after the
    // ROLLBACK is a read (the standby, where the proxy would parse it first).
    EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
    EXPECT_EQ(x.Run(RunStatement("SELECT 1/0") + ParseMessage("after_error", "SELECT 7")), "1EZ");
    EXPECT_EQ(x.status, 'E');
    EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
    EXPECT_EQ(x.Run(BindExecute("after_error")), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    // Skipped by the proxy: the read before the Parse failed on the standby;
    // the Parse is of a write (the primary). Its Bind goes to the primary.
    EXPECT_EQ(x.Run(RunStatement("SELECT 1/0") + ParseMessage("write_after_error",
                                                              "INSERT INTO skipped_parse_t VALUES (1)")),
              "1EZ");
    EXPECT_EQ(x.status, 'I');
    EXPECT_EQ(x.Run(BindExecute("write_after_error")), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    // The names are free: a Parse of each prepares it.
    EXPECT_EQ(x.Run(ParseMessage("after_error", "SELECT 8") + BindExecute("after_error")), "12DCZ");
    EXPECT_EQ(x.lastValue, "8");
    EXPECT_EQ(x.Run(ParseMessage("write_after_error", "SELECT 9") + BindExecute("write_after_error")), "12DCZ");
    EXPECT_EQ(x.lastValue, "9");
  }
  EXPECT_EQ(d.Simple("SELECT count(*) FROM skipped_parse_t"), "TDCZ");
  EXPECT_EQ(d.lastValue, "0");
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxySkippedParseTest, ::testing::Values(PoolMode::kSession, PoolMode::kTransaction),
                         [](const ::testing::TestParamInfo<PoolMode>& i) {
                           return i.param == PoolMode::kSession ? "session" : "transaction";
                         });

// SQL EXECUTE (a simple Query) of a statement the client prepared with the
// protocol on the other backend: the proxy parses it first where the Query
// runs, in a sequence of its own ended by its own Sync. The proxy used to send
// the Query alone (26000 where PostgreSQL runs the statement). When that Parse
// fails (the table was dropped since), the Query still gets an answer (the
// backend's 26000; PostgreSQL's own error is the table's 42P01) and its
// ReadyForQuery, never a wait for a Sync.
TEST(ProxySqlExecuteTest, SqlExecuteOfAStatementParsedOnTheOtherBackend) {
  auto px = BalancedProxy();
  OnPostgresThenProxy(px, [&px](RawPg& x, bool direct) {
    // Reads: parsed on the standby; EXECUTE goes to the primary.
    EXPECT_EQ(x.Run(ParseMessage("on_standby", "SELECT 5")), "1Z");
    EXPECT_EQ(x.Simple("EXECUTE on_standby", std::chrono::seconds(5)), "TDCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "5");
    EXPECT_EQ(x.Simple("BEGIN"), "CZ");
    EXPECT_EQ(x.Simple("EXECUTE on_standby", std::chrono::seconds(5)), "TDCZ") << x.lastError;
    EXPECT_EQ(x.Simple("COMMIT"), "CZ");
    EXPECT_EQ(x.Run(BindExecute("on_standby")), "2DCZ");
    EXPECT_EQ(x.Simple("DEALLOCATE on_standby"), "CZ");
    EXPECT_EQ(x.Simple("EXECUTE on_standby"), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    // The Parse the proxy adds fails: an answer all the same, then the session goes on.
    EXPECT_EQ(x.Simple("CREATE TABLE replay_gone_t (v int)"), "CZ");
    px->CatchUp();
    EXPECT_EQ(x.Run(ParseMessage("gone", "SELECT * FROM replay_gone_t")), "1Z");
    EXPECT_EQ(x.Simple("DROP TABLE replay_gone_t"), "CZ");
    EXPECT_EQ(x.Simple("EXECUTE gone", std::chrono::seconds(5)), "EZ");
    EXPECT_EQ(x.lastError, direct ? "42P01" : "26000");
    EXPECT_EQ(x.status, 'I');
    EXPECT_EQ(x.Simple("BEGIN"), "CZ");
    EXPECT_EQ(x.Simple("EXECUTE gone", std::chrono::seconds(5)), "EZ");
    EXPECT_EQ(x.status, 'E');
    EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
    EXPECT_EQ(x.Simple("SELECT 6"), "TDCZ");
    EXPECT_EQ(x.lastValue, "6");
  });
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
