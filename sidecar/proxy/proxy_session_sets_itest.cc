// Integration: the settings a backend joining the session is given (the SETs
// the proxy replays: session mode, or a client pinned in transaction pooling)
// are the ones PostgreSQL kept for the session:
//  * RESET ALL refused (25P02 in a failed block), or run in a block that was
//    rolled back or behind a savepoint rolled back to, changes nothing; one
//    that ran, by either protocol, outside a block or committed, resets them;
//  * SET and RESET of one setting in a block count at COMMIT, not at ROLLBACK
//    nor when a ROLLBACK TO undoes them;
//  * a Query of several statements (an implicit transaction): its SETs count
//    when it succeeds, none when any statement fails (a DISCARD ALL in it is
//    refused, 25001, so a SET beside it does not stay either);
//  * a standby already in the session that missed such a SET gets it then;
//  * a SET past the limit of recorded entries that replaces one of its
//    parameter keeps the session movable to another primary.
// Each case runs on PostgreSQL itself (the primary) and then through the
// proxy; the standby joins at the first read (ExpectSettings), so a SET made
// before reaches it only by the proxy's replay.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "sidecar/proxy/compare_testutil.h"
#include "sidecar/proxy/session_sets.h"

namespace pgvigil::proxy::testenv {
namespace {

class ProxySessionSetsTest : public ::testing::TestWithParam<PoolMode> {};

const char* kReset = "4MB pgvigil_tx_raw";

TEST_P(ProxySessionSetsTest, AResetAllPostgreSqlDidNotKeepChangesNothing) {
  for (auto policy : Policies(GetParam())) {
    SCOPED_TRACE(policy == SessionStatePolicy::kPin ? "pin" : "refuse");
    const bool replayed = GetParam() == PoolMode::kSession || policy == SessionStatePolicy::kPin;
    const std::string kept = replayed ? "3MB kept" : "4MB kept";
    auto set = [&](RawPg& x) { SetSessionSettings(x, replayed); };
    auto px = StartBalancedToNode1(GetParam(), policy);
    OnPostgresThenProxy(px, [&](RawPg& x, bool) {
      set(x);
      // READ WRITE transactions stay on the primary: the standby joins later.
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      EXPECT_EQ(x.Simple("SELECT 1/0"), "EZ");
      EXPECT_EQ(x.Simple("RESET ALL"), "EZ");
      EXPECT_EQ(x.lastError, "25P02");
      EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      EXPECT_EQ(x.Simple("RESET ALL"), "CZ") << x.lastError;
      EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      EXPECT_EQ(x.Simple("SAVEPOINT s"), "CZ");
      EXPECT_EQ(x.Simple("RESET ALL"), "CZ") << x.lastError;
      EXPECT_EQ(x.Simple("ROLLBACK TO s"), "CZ");
      EXPECT_EQ(x.Simple("COMMIT"), "CZ");
      // The extended protocol, rolled back.
      EXPECT_EQ(x.Run(RunStatement("BEGIN READ WRITE")), "12CZ");
      EXPECT_EQ(x.Run(RunStatement("RESET ALL")), "12CZ") << x.lastError;
      EXPECT_EQ(x.Run(RunStatement("ROLLBACK")), "12CZ");
      ExpectSettings(x, kept);
    });
    // Committed.
    OnPostgresThenProxy(px, [&](RawPg& x, bool) {
      set(x);
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      EXPECT_EQ(x.Simple("RESET ALL"), "CZ") << x.lastError;
      EXPECT_EQ(x.Simple("COMMIT"), "CZ");
      ExpectSettings(x, kReset);
    });
    // By the extended protocol, outside a block.
    OnPostgresThenProxy(px, [&](RawPg& x, bool) {
      set(x);
      EXPECT_EQ(x.Run(RunStatement("RESET ALL")), "12CZ") << x.lastError;
      ExpectSettings(x, kReset);
    });
  }
}

TEST_P(ProxySessionSetsTest, ASetInABlockCountsAtCommitNotWhereRolledBack) {
  for (auto policy : Policies(GetParam())) {
    SCOPED_TRACE(policy == SessionStatePolicy::kPin ? "pin" : "refuse");
    const bool replayed = GetParam() == PoolMode::kSession || policy == SessionStatePolicy::kPin;
    auto set_mem = [&](RawPg& x, const std::string& v) {
      if (replayed) {
        EXPECT_EQ(x.Simple("SET work_mem = '" + v + "'"), "CZ") << x.lastError;
      }
    };
    auto want = [&](const std::string& mem, const std::string& app) { return (replayed ? mem : "4MB") + " " + app; };
    auto px = StartBalancedToNode1(GetParam(), policy);
    OnPostgresThenProxy(px, [&](RawPg& x, bool) {
      set_mem(x, "3MB");
      EXPECT_EQ(x.Simple("SET application_name = 'kept'"), "CZ");
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      set_mem(x, "5MB");
      EXPECT_EQ(x.Simple("SET application_name = 'rolled_back'"), "CZ");
      EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      EXPECT_EQ(x.Simple("SAVEPOINT a"), "CZ");
      set_mem(x, "6MB");
      EXPECT_EQ(x.Simple("RESET application_name"), "CZ");
      EXPECT_EQ(x.Simple("ROLLBACK TO a"), "CZ");
      EXPECT_EQ(x.Simple("COMMIT"), "CZ");
      ExpectSettings(x, want("3MB", "kept"));
    });
    OnPostgresThenProxy(px, [&](RawPg& x, bool) {
      set_mem(x, "3MB");
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      set_mem(x, "5MB");
      EXPECT_EQ(x.Simple("SAVEPOINT a"), "CZ");
      set_mem(x, "6MB");
      EXPECT_EQ(x.Simple("SET application_name = 'released'"), "CZ");
      EXPECT_EQ(x.Simple("RELEASE a"), "CZ");
      EXPECT_EQ(x.Simple("SAVEPOINT b"), "CZ");
      set_mem(x, "7MB");
      EXPECT_EQ(x.Simple("RESET application_name"), "CZ");
      EXPECT_EQ(x.Simple("ROLLBACK TO b"), "CZ");
      EXPECT_EQ(x.Simple("COMMIT"), "CZ");
      ExpectSettings(x, want("6MB", "released"));
    });
    OnPostgresThenProxy(px, [&](RawPg& x, bool) {
      set_mem(x, "3MB");
      EXPECT_EQ(x.Simple("SET application_name = 'kept'"), "CZ");
      EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
      if (replayed) {
        EXPECT_EQ(x.Simple("RESET work_mem"), "CZ");
      }
      EXPECT_EQ(x.Simple("RESET application_name"), "CZ");
      EXPECT_EQ(x.Simple("COMMIT"), "CZ");
      ExpectSettings(x, kReset);
    });
  }
}

// Transaction pooling refuses a multi-statement SET unless the client may be
// pinned: session mode and the pin policy.
TEST_P(ProxySessionSetsTest, AMultiStatementQueryKeepsItsSetsOnlyWhenItSucceeds) {
  const auto policy = GetParam() == PoolMode::kSession ? SessionStatePolicy::kRefuse : SessionStatePolicy::kPin;
  auto px = StartBalancedToNode1(GetParam(), policy);
  auto set = [](RawPg& x) { SetSessionSettings(x, true); };
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    set(x);
    EXPECT_EQ(x.Simple("SET work_mem = '5MB'; DISCARD ALL"), "CEZ");
    EXPECT_EQ(x.lastError, "25001");
    EXPECT_EQ(x.Simple("DISCARD ALL; SET work_mem = '5MB'"), "EZ");
    EXPECT_EQ(x.lastError, "25001");
    EXPECT_EQ(x.Simple("SET work_mem = '6MB'; SELECT 1/0"), "CEZ");
    EXPECT_EQ(x.lastError, "22012");
    EXPECT_EQ(x.Simple("RESET ALL; SELECT 1/0"), "CEZ");
    ExpectSettings(x, "3MB kept");
  });
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    set(x);
    EXPECT_EQ(x.Simple("SET work_mem = '5MB'; SELECT 1"), "CTDCZ") << x.lastError;
    EXPECT_EQ(x.Simple("SELECT 2; RESET application_name; SET application_name = 'multi'"), "TDCCCZ");
    ExpectSettings(x, "5MB multi");
  });
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    set(x);
    EXPECT_EQ(x.Simple("RESET ALL; SET application_name = 'multi'"), "CCZ") << x.lastError;
    ExpectSettings(x, "4MB multi");
  });
  // The standby in the session already: it gets what it missed.
  OnPostgresThenProxy(px, [&](RawPg& x, bool) {
    set(x);
    ExpectSettings(x, "3MB kept");
    EXPECT_EQ(x.Simple("SET work_mem = '5MB'; SELECT 1"), "CTDCZ") << x.lastError;
    ExpectSettings(x, "5MB kept");
    EXPECT_EQ(x.Simple("BEGIN READ WRITE"), "CZ");
    EXPECT_EQ(x.Simple("SET work_mem = '6MB'"), "CZ");
    EXPECT_EQ(x.Simple("COMMIT"), "CZ");
    ExpectSettings(x, "6MB kept");
  });
}

// 100 entries recorded (different parameters), then a SET of one of them: it
// replaces that entry, so the session may still move to another primary (its
// SETs replayed there) when routing marks its primary down. Transaction
// pooling: a client pinned by its SETs (the pin policy).
TEST_P(ProxySessionSetsTest, ASetReplacingAnEntryPastTheLimitKeepsTheSessionMovable) {
  const auto policy = GetParam() == PoolMode::kSession ? SessionStatePolicy::kRefuse : SessionStatePolicy::kPin;
  auto px = StartBalancedToNode1(GetParam(), policy);
  ASSERT_TRUE(px);
  RawPg x(px->port);
  ASSERT_TRUE(x.ready);
  for (size_t i = 0; i < SessionSets::kMax; ++i)
    ASSERT_EQ(x.Simple("SET pgvigil_t.p" + std::to_string(i) + " = 1"), "CZ") << x.lastError;
  ASSERT_EQ(x.Simple("SET pgvigil_t.p0 = 2"), "CZ") << x.lastError;
  auto moved = [&] { return px->ctx.metrics->Value("pgvigil_proxy_sessions_moved_total"); };
  auto closed = [&] {
    return px->ctx.metrics->Value("pgvigil_proxy_sessions_closed_total", "reason=\"primary_changed\"");
  };
  // The idle session leaves its primary (or is ended) as routing marks it down.
  px->SetHealth(0, false, BackendRole::kUnknown);
  for (int i = 0; i < 500 && moved() + closed() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  px->SetHealth(0, true, BackendRole::kPrimary);
  EXPECT_EQ(moved(), 1);
  EXPECT_EQ(closed(), 0);
  const std::string q = "/*NO LOAD BALANCE*/ SELECT current_setting('pgvigil_t.p0') || "
                        "current_setting('pgvigil_t.p99') || ' ' || inet_server_port()";
  EXPECT_EQ(x.Simple(q), "TDCZ") << x.lastError;
  EXPECT_EQ(x.lastValue, "21 " + std::to_string(NodePort(0)));
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxySessionSetsTest, ::testing::Values(PoolMode::kSession, PoolMode::kTransaction),
                         [](const ::testing::TestParamInfo<PoolMode>& i) {
                           return i.param == PoolMode::kSession ? "session" : "transaction";
                         });

}  // namespace
}  // namespace pgvigil::proxy::testenv
