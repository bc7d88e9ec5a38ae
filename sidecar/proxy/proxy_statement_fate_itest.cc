// Integration: the proxy's table of a client's prepared statements follows
// what PostgreSQL did with each Parse and Close, not what the client sent:
//  * a Close that PostgreSQL skipped (behind an error in its sequence)
//    closes nothing: the statement still runs, also on the other backend;
//  * an unnamed Parse that PostgreSQL skipped leaves the unnamed statement as
//    it was; one that fails drops it (PostgreSQL drops the unnamed statement
//    when it starts a Parse of a new one, before parsing);
//  * a Parse of a name the client has already (no Close first) gets
//    PostgreSQL's 42P05 on whichever backend it goes to, and the statement
//    stays as it was;
//  * transaction pooling, a client pinned to its backends: SQL DEALLOCATE of
//    a statement it prepared with the protocol deallocates it.
// Reads balanced to one standby (node 1); statements parsed by a read are on
// the standby, and a Bind in a READ WRITE transaction goes to the primary,
// where the proxy parses them first. Each step also goes to PostgreSQL itself
// (the primary, over its Unix socket); the client must get the same answers.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "sidecar/proxy/compare_testutil.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy::testenv {
namespace {

std::string CloseStatement(const std::string& name) {
  std::string s;
  AppendClose(&s, 'S', name);
  return s;
}

// Prepares "rw" (BEGIN READ WRITE) and "rb" (ROLLBACK), for RunOnPrimary.
bool PrepareTransactionStatements(RawPg& x) {
  return x.Run(ParseMessage("rw", "BEGIN READ WRITE") + ParseMessage("rb", "ROLLBACK")) == "11Z";
}

// Bind and Execute of `statement` in a READ WRITE transaction (on the
// primary through the proxy), all by the extended protocol (a simple Query
// would drop the unnamed statement): the message types answering that Bind
// and Execute and the ReadyForQuery; the transaction is rolled back.
std::string RunOnPrimary(RawPg& x, const std::string& statement) {
  std::string got = x.Run(BindExecute("rw") + BindExecute(statement));
  if (got.rfind("2C", 0) != 0) return "BEGIN failed: " + got;
  if (x.Run(BindExecute("rb")) != "2CZ") return got + " ROLLBACK failed";
  return got.substr(2);
}

// OnPostgresThenProxy, each client having "rw" and "rb" prepared.
template <typename F>
void OnBoth(const std::unique_ptr<ProxyUnderTest>& px, F&& steps) {
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    ASSERT_TRUE(PrepareTransactionStatements(x));
    steps(x);
  });
}

class ProxyStatementFateTest : public ::testing::TestWithParam<PoolMode> {};

TEST_P(ProxyStatementFateTest, ACloseSkippedAfterAnErrorClosesNothing) {
  OnBoth(StartBalancedToNode1(GetParam()), [](RawPg& x) {
    EXPECT_EQ(x.Run(ParseMessage("kept", "SELECT 4")), "1Z");
    // The Close comes after an error in its sequence: skipped.
    EXPECT_EQ(x.Run(RunStatement("SELECT 1/0") + CloseStatement("kept")), "1EZ");
    EXPECT_EQ(x.Run(BindExecute("kept")), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "4");
    EXPECT_EQ(RunOnPrimary(x, "kept"), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "4");
    // A Close that runs closes it, on either backend.
    EXPECT_EQ(x.Run(CloseStatement("kept")), "3Z");
    EXPECT_EQ(x.Run(BindExecute("kept")), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    EXPECT_EQ(RunOnPrimary(x, "kept"), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    // Closed and prepared again in one sequence: the new statement.
    EXPECT_EQ(x.Run(ParseMessage("again", "SELECT 5")), "1Z");
    EXPECT_EQ(x.Run(CloseStatement("again") + ParseMessage("again", "SELECT 6") + BindExecute("again")), "312DCZ")
        << x.lastError;
    EXPECT_EQ(x.lastValue, "6");
    EXPECT_EQ(RunOnPrimary(x, "again"), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "6");
    EXPECT_EQ(x.Run(CloseStatement("again") + CloseStatement("rw") + CloseStatement("rb")), "333Z");
  });
}

TEST_P(ProxyStatementFateTest, AnUnnamedParseSkippedKeepsTheUnnamedStatementOneThatFailsDropsIt) {
  OnBoth(StartBalancedToNode1(GetParam()), [](RawPg& x) {
    EXPECT_EQ(x.Run(ParseMessage("bad", "SELECT 1/0") + ParseMessage("ok", "SELECT 10")), "11Z");
    EXPECT_EQ(x.Run(ParseMessage("", "SELECT 11")), "1Z");
    // Skipped: the unnamed statement stays SELECT 11.
    EXPECT_EQ(x.Run(BindExecute("bad") + ParseMessage("", "SELECT 12")), "EZ");
    EXPECT_EQ(x.Run(BindExecute("")), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "11");
    EXPECT_EQ(RunOnPrimary(x, ""), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "11");
    // Fails (first in its sequence, or after a statement that ran): no
    // unnamed statement is left, on either backend.
    for (const std::string& before : {std::string(), BindExecute("ok")}) {
      EXPECT_EQ(x.Run(ParseMessage("", "SELECT 13")), "1Z");
      EXPECT_EQ(RunOnPrimary(x, ""), "2DCZ") << x.lastError;  // the primary has it too
      EXPECT_EQ(x.Run(before + ParseMessage("", "SELEC 14")), before.empty() ? "EZ" : "2DCEZ");
      EXPECT_EQ(x.lastError, "42601");
      EXPECT_EQ(x.Run(BindExecute("")), "EZ");
      EXPECT_EQ(x.lastError, "26000");
      EXPECT_EQ(RunOnPrimary(x, ""), "EZ");
      EXPECT_EQ(x.lastError, "26000");
    }
    EXPECT_EQ(x.Run(CloseStatement("bad") + CloseStatement("ok") + CloseStatement("rw") + CloseStatement("rb")),
              "3333Z");
  });
}

// PostgreSQL refuses DISCARD ALL in a transaction block, explicit or
// implicit (25001): nothing is discarded, the statements stay, on either
// backend. One that runs discards them.
TEST_P(ProxyStatementFateTest, ADiscardAllRefusedInATransactionBlockDiscardsNothing) {
  OnBoth(StartBalancedToNode1(GetParam()), [](RawPg& x) {
    EXPECT_EQ(x.Run(ParseMessage("kd", "SELECT 21")), "1Z");
    EXPECT_EQ(x.Run(BindExecute("kd")), "2DCZ") << x.lastError;
    EXPECT_EQ(x.Simple("BEGIN"), "CZ");
    EXPECT_EQ(x.Simple("DISCARD ALL"), "EZ");
    EXPECT_EQ(x.lastError, "25001");
    EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
    EXPECT_EQ(x.Run(BindExecute("kd")), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "21");
    EXPECT_EQ(RunOnPrimary(x, "kd"), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "21");
    // Implicit: two statements in one Query.
    EXPECT_EQ(x.Simple("SELECT 1; DISCARD ALL"), "TDCEZ");
    EXPECT_EQ(x.lastError, "25001");
    EXPECT_EQ(x.Run(BindExecute("kd")), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "21");
    EXPECT_EQ(RunOnPrimary(x, "kd"), "2DCZ") << x.lastError;
    // Outside a transaction block it runs: every statement is gone.
    EXPECT_EQ(x.Simple("DISCARD ALL"), "CZ") << x.lastError;
    EXPECT_EQ(x.Run(BindExecute("kd")), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    EXPECT_EQ(x.Run(BindExecute("rw")), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    // By the extended protocol, first in its pipeline: it runs; a statement
    // parsed behind it in the same pipeline stays.
    EXPECT_EQ(x.Run(ParseMessage("kd", "SELECT 23") + ParseMessage("", "DISCARD ALL") + BindExecute("") +
                    ParseMessage("kn", "SELECT 22") + BindExecute("kn")),
              "112C12DCZ")
        << x.lastError;
    EXPECT_EQ(x.Run(BindExecute("kn")), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "22");
    EXPECT_EQ(x.Run(BindExecute("kd")), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    EXPECT_EQ(x.Run(CloseStatement("kn")), "3Z");
  });
}

// A DISCARD ALL that PostgreSQL refuses (in a transaction block, explicit or
// implicit: 25001; in a failed one: 25P02) leaves the session's settings as
// they were, also on a backend that joins the session afterwards (the
// standby, at the first read: the SETs are replayed there). One that runs,
// by either protocol, resets them everywhere, and nothing is replayed.
TEST_P(ProxyStatementFateTest, ADiscardAllRefusedKeepsTheSessionSettings) {
  for (auto policy : Policies(GetParam())) {
    SCOPED_TRACE(policy == SessionStatePolicy::kPin ? "pin" : "refuse");
    const bool replayed = GetParam() == PoolMode::kSession || policy == SessionStatePolicy::kPin;
    const std::string kept = replayed ? "3MB kept" : "4MB kept";
    auto set = [&](RawPg& x) { SetSessionSettings(x, replayed); };
    OnPostgresThenProxy(StartBalancedToNode1(GetParam(), policy), [&](RawPg& x, bool) {
      set(x);
      // A READ WRITE transaction stays on the primary: the standby joins
      // the session only at the read after it.
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      EXPECT_EQ(x.Simple("DISCARD ALL"), "EZ");
      EXPECT_EQ(x.lastError, "25001");
      EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
      ExpectSettings(x, kept);
      EXPECT_EQ(x.Simple("SELECT 1; DISCARD ALL"), "TDCEZ");
      EXPECT_EQ(x.lastError, "25001");
      EXPECT_EQ(x.Simple("BEGIN"), "CZ");
      EXPECT_EQ(x.Simple("DISCARD ALL"), "EZ");
      EXPECT_EQ(x.lastError, "25001");
      EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
      EXPECT_EQ(x.Simple("BEGIN"), "CZ");
      EXPECT_EQ(x.Simple("SELECT 1/0"), "EZ");
      EXPECT_EQ(x.Simple("DISCARD ALL"), "EZ");
      EXPECT_EQ(x.lastError, "25P02");
      EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
      ExpectSettings(x, kept);
      EXPECT_EQ(x.Simple("DISCARD ALL"), "CZ") << x.lastError;
      ExpectSettings(x, "4MB pgvigil_tx_raw");
    });
    // By the extended protocol, before the standby joins.
    OnPostgresThenProxy(StartBalancedToNode1(GetParam(), policy), [&](RawPg& x, bool) {
      set(x);
      EXPECT_EQ(x.Run(RunStatement("DISCARD ALL")), "12CZ") << x.lastError;
      ExpectSettings(x, "4MB pgvigil_tx_raw");
    });
  }
}

// A DISCARD ALL second in a pipeline, behind a statement that ran (a read on
// the standby, or a statement on the primary): PostgreSQL refuses it (25001,
// "within a pipeline") and discards nothing; through the proxy neither
// backend discards anything either (prepared statements, settings).
TEST_P(ProxyStatementFateTest, ADiscardAllSecondInAPipelineDiscardsNothing) {
  for (auto policy : Policies(GetParam())) {
    SCOPED_TRACE(policy == SessionStatePolicy::kPin ? "pin" : "refuse");
    const bool replayed = GetParam() == PoolMode::kSession || policy == SessionStatePolicy::kPin;
    OnPostgresThenProxy(StartBalancedToNode1(GetParam(), policy), [&](RawPg& x, bool) {
      ASSERT_TRUE(PrepareTransactionStatements(x));
      if (replayed) {
        EXPECT_EQ(x.Simple("SET work_mem = '3MB'"), "CZ") << x.lastError;
      }
      EXPECT_EQ(x.Simple("SET application_name = 'kept'"), "CZ") << x.lastError;
      EXPECT_EQ(x.Run(ParseMessage("kd", "SELECT 21")), "1Z");
      EXPECT_EQ(x.Run(BindExecute("kd")), "2DCZ") << x.lastError;  // the standby joins
      const std::string settings = replayed ? "3MB kept" : "4MB kept";
      for (const std::string first : {"SELECT 1", "/*NO LOAD BALANCE*/ SELECT 1"}) {
        SCOPED_TRACE(first);
        EXPECT_EQ(x.Run(RunStatement(first) + RunStatement("DISCARD ALL")), "12DC12EZ");
        EXPECT_EQ(x.lastError, "25001");
        EXPECT_EQ(x.Run(BindExecute("kd")), "2DCZ") << x.lastError;
        EXPECT_EQ(x.lastValue, "21");
        EXPECT_EQ(RunOnPrimary(x, "kd"), "2DCZ") << x.lastError;
        EXPECT_EQ(x.lastValue, "21");
        ExpectSettings(x, settings);
      }
    });
  }
}

// In a failed transaction block PostgreSQL parses COMMIT and ROLLBACK (they
// end the block) and so finds a name already taken: 42P05, not 25P02, which
// any other statement's Parse gets there first.
TEST_P(ProxyStatementFateTest, ADuplicateParseOfCommitInAFailedTransactionIs42P05) {
  OnBoth(StartBalancedToNode1(GetParam()), [](RawPg& x) {
    EXPECT_EQ(x.Run(ParseMessage("c1", "COMMIT") + ParseMessage("r1", "ROLLBACK")), "11Z");
    EXPECT_EQ(x.Simple("BEGIN"), "CZ");
    EXPECT_EQ(x.Simple("SELECT 1/0"), "EZ");
    EXPECT_EQ(x.Run(ParseMessage("c1", "COMMIT")), "EZ");
    EXPECT_EQ(x.lastError, "42P05");
    EXPECT_EQ(x.Run(ParseMessage("r1", "ROLLBACK")), "EZ");
    EXPECT_EQ(x.lastError, "42P05");
    EXPECT_EQ(x.Run(ParseMessage("c1", "SELECT 1")), "EZ");
    EXPECT_EQ(x.lastError, "25P02");
    EXPECT_EQ(x.status, 'E');
    EXPECT_EQ(x.Run(BindExecute("r1")), "2CZ") << x.lastError;
    EXPECT_EQ(x.status, 'I');
    EXPECT_EQ(x.Run(CloseStatement("c1") + CloseStatement("r1") + CloseStatement("rw") + CloseStatement("rb")),
              "3333Z");
  });
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxyStatementFateTest,
                         ::testing::Values(PoolMode::kSession, PoolMode::kTransaction),
                         [](const ::testing::TestParamInfo<PoolMode>& i) {
                           return i.param == PoolMode::kSession ? "session" : "transaction";
                         });

// Session mode (transaction pooling answers 42P05 itself).
TEST(ProxyDuplicateParseTest, AParseOfANameTheClientHasGets42P05AndChangesNothing) {
  OnBoth(StartBalancedToNode1(PoolMode::kSession), [](RawPg& x) {
    EXPECT_EQ(x.Run(ParseMessage("dup", "SELECT 21")), "1Z");
    // Another text, and the same one, where the statement is (the standby).
    for (const char* sql : {"SELECT 22", "SELECT 21"}) {
      EXPECT_EQ(x.Run(ParseMessage("dup", sql) + BindExecute("dup")), "EZ");
      EXPECT_EQ(x.lastError, "42P05");
      EXPECT_EQ(x.status, 'I');
    }
    // On the primary, which has not got it.
    for (const char* sql : {"SELECT 23", "SELECT 21"}) {
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      EXPECT_EQ(x.Run(ParseMessage("dup", sql)), "EZ");
      EXPECT_EQ(x.lastError, "42P05");
      EXPECT_EQ(x.status, 'E');
      EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
    }
    EXPECT_EQ(x.Run(BindExecute("dup")), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "21");
    EXPECT_EQ(RunOnPrimary(x, "dup"), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "21");
    // Pipelined behind a Parse of the name that fails (before its answer
    // came): not a duplicate, it prepares the statement.
    std::string two = ParseMessage("twice", "SELECT * FROM twice_missing");
    AppendSync(&two);
    two += ParseMessage("twice", "SELECT 41");
    AppendSync(&two);
    ASSERT_TRUE(x.sock.Send(two));
    EXPECT_EQ(x.Until(std::chrono::seconds(10)), "EZ");
    EXPECT_EQ(x.lastError, "42P01");
    EXPECT_EQ(x.Until(std::chrono::seconds(10)), "1Z");
    EXPECT_EQ(RunOnPrimary(x, "twice"), "2DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "41");
    EXPECT_EQ(x.Run(CloseStatement("twice")), "3Z");
    EXPECT_EQ(x.Run(CloseStatement("dup") + CloseStatement("rw") + CloseStatement("rb")), "333Z");
  });
}

// Transaction pooling, sessionState pin: a session SET pins the client.
TEST(ProxyPinnedDeallocateTest, SqlDeallocateOfAProtocolLevelStatementDeallocatesIt) {
  OnBoth(StartBalancedToNode1(PoolMode::kTransaction, SessionStatePolicy::kPin), [](RawPg& x) {
    EXPECT_EQ(x.Simple("SET work_mem = '8MB'"), "CZ");  // pins the client
    EXPECT_EQ(x.Run(ParseMessage("p4", "SELECT 31")), "1Z");
    EXPECT_EQ(x.Run(BindExecute("p4")), "2DCZ");
    EXPECT_EQ(x.Simple("DEALLOCATE p4"), "CZ") << x.lastError;
    EXPECT_EQ(x.Run(BindExecute("p4")), "EZ");
    EXPECT_EQ(x.lastError, "26000");
    EXPECT_EQ(x.Run(ParseMessage("p4", "SELECT 32") + BindExecute("p4")), "12DCZ") << x.lastError;
    EXPECT_EQ(x.lastValue, "32");
    // Inside a transaction block too.
    EXPECT_EQ(x.Simple("BEGIN"), "CZ");
    EXPECT_EQ(x.Simple("DEALLOCATE p4"), "CZ") << x.lastError;
    EXPECT_EQ(x.Simple("COMMIT"), "CZ");
    EXPECT_EQ(x.Run(BindExecute("p4")), "EZ");
    EXPECT_EQ(x.lastError, "26000");
  });
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
