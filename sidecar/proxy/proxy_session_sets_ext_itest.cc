// Integration: a SET / SET SESSION / RESET name sent by the extended protocol
// (libpq's PQexecParams: an unnamed statement; PQprepare + PQexecPrepared: a
// named one) counts for the settings a backend joining the session is given
// as a simple-protocol one does: outside a block when its Sync's
// ReadyForQuery shows no error; in a block at COMMIT, not at ROLLBACK nor
// when a ROLLBACK TO a savepoint made before it undoes it, nor when refused
// (25P02). Each case runs on PostgreSQL itself (node 0) and then through the
// proxy (reads balanced to node 1); the standby joins at the first read, so a
// SET made before reaches it only by the proxy's replay. The settings the
// standby shows must be those PostgreSQL shows.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sidecar/proxy/compare_testutil.h"
#include "sidecar/proxy/session_sets.h"

namespace pgvigil::proxy::testenv {
namespace {

class ProxySessionSetsExtTest : public ::testing::TestWithParam<PoolMode> {};

// Extended protocol, unnamed statement: the first column or "ERROR <sqlstate>: ...".
std::string Ext(Conn& c, const std::string& sql) {
  return ResultValue(c.c, PQexecParams(c.c, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
}
// Extended protocol, a named statement prepared first.
std::string Prepared(Conn& c, const char* name, const std::string& sql) {
  std::string p = Prepare(c.c, name, sql.c_str());
  if (!p.empty()) return p;
  return ResultValue(c.c, PQexecPrepared(c.c, name, 0, nullptr, nullptr, nullptr, 0));
}
std::string Sqlstate(const std::string& result) { return result.rfind("ERROR ", 0) == 0 ? result.substr(6, 5) : ""; }

const char* kSettings =
    "SELECT current_setting('work_mem') || ' ' || current_setting('search_path') || ' ' || "
    "current_setting('statement_timeout') || ' ' || current_setting('application_name')";

// The session's settings read by a balanced read (the standby through the
// proxy: inet_server_port() shows which node answered), by the extended
// protocol too, and on the primary.
void ExpectExtSettings(Conn& c, bool direct, const std::string& want) {
  const std::string on = direct ? std::to_string(NodePort(0)) : std::to_string(NodePort(1));
  EXPECT_EQ(c.Query(std::string(kSettings) + " || ' @' || inet_server_port()"), want + " @" + on);
  EXPECT_EQ(Ext(c, std::string(kSettings) + " || ' @' || inet_server_port()"), want + " @" + on);
  EXPECT_EQ(c.Query(std::string("/*NO LOAD BALANCE*/ ") + kSettings), want);
}

// steps(c, direct): c is a libpq client on PostgreSQL (direct) or on px.
template <typename F>
void LibpqOnPostgresThenProxy(const std::unique_ptr<ProxyUnderTest>& px, F&& steps) {
  ASSERT_TRUE(px);
  for (bool direct : {true, false}) {
    SCOPED_TRACE(direct ? "PostgreSQL" : "proxy");
    auto c = Connect(direct ? NodePort(0) : px->port, "postgres", "",
                     "sslmode=disable application_name=pgvigil_tx_raw");
    ASSERT_TRUE(c->ok()) << c->error();
    steps(*c, direct);
  }
}

// body(px, replayed) for each policy of the mode (Policies), a proxy each.
// Transaction pooling refuses a SET of work_mem, search_path and
// statement_timeout unless it may pin the client: `replayed` false then.
template <typename F>
void ForEachPolicy(PoolMode mode, F&& body) {
  for (auto policy : Policies(mode)) {
    SCOPED_TRACE(policy == SessionStatePolicy::kPin ? "pin" : "refuse");
    body(StartBalancedToNode1(mode, policy), mode == PoolMode::kSession || policy == SessionStatePolicy::kPin);
  }
}

TEST_P(ProxySessionSetsExtTest, ASetOutsideABlockIsReplayed) {
  ForEachPolicy(GetParam(), [](const std::unique_ptr<ProxyUnderTest>& px, bool replayed) {
    LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
      if (replayed) {
        EXPECT_EQ(Ext(c, "SET work_mem = '3MB'"), "");
        EXPECT_EQ(Prepared(c, "sp", "SET SESSION search_path = pg_catalog, public"), "");
        EXPECT_EQ(Ext(c, "SET statement_timeout = '7s'"), "");
        EXPECT_EQ(Prepared(c, "rs", "RESET statement_timeout"), "");
        EXPECT_EQ(Sqlstate(Ext(c, "SET work_mem = 'lots'")), "22023");
      }
      EXPECT_EQ(Ext(c, "SET application_name = 'ext'"), "");
      ExpectExtSettings(c, direct, replayed ? "3MB pg_catalog, public 0 ext" : "4MB \"$user\", public 0 ext");
      // The standby in the session already: a SET by the extended protocol
      // reaches it too.
      if (replayed) {
        EXPECT_EQ(ResultValue(c.c, PQexecPrepared(c.c, "rs", 0, nullptr, nullptr, nullptr, 0)), "");
        EXPECT_EQ(Ext(c, "SET statement_timeout = '8s'"), "");
      }
      ExpectExtSettings(c, direct, replayed ? "3MB pg_catalog, public 8s ext" : "4MB \"$user\", public 0 ext");
    });
  });
}

TEST_P(ProxySessionSetsExtTest, ASetInABlockCountsAtCommitNotWhereRolledBack) {
  ForEachPolicy(GetParam(), [](const std::unique_ptr<ProxyUnderTest>& px, bool replayed) {
    // READ WRITE transactions stay on the primary: the standby joins later.
    LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
      auto set = [&](const std::string& sql) {
        if (replayed) {
          EXPECT_EQ(Ext(c, sql), "");
        }
      };
      EXPECT_EQ(Ext(c, "BEGIN READ WRITE"), "");
      set("SET work_mem = '5MB'");
      EXPECT_EQ(Ext(c, "SET application_name = 'rolled_back'"), "");
      EXPECT_EQ(Ext(c, "ROLLBACK"), "");
      EXPECT_EQ(Ext(c, "BEGIN READ WRITE"), "");
      EXPECT_EQ(Ext(c, "SAVEPOINT a"), "");
      set("SET work_mem = '6MB'");
      EXPECT_EQ(Ext(c, "SET application_name = 'undone'"), "");
      EXPECT_EQ(Ext(c, "ROLLBACK TO a"), "");
      set("SET search_path = pg_catalog");
      EXPECT_EQ(Ext(c, "COMMIT"), "");
      // Refused in a failed block: nothing; COMMIT answers ROLLBACK.
      EXPECT_EQ(Ext(c, "BEGIN READ WRITE"), "");
      set("SET statement_timeout = '9s'");
      EXPECT_EQ(Sqlstate(Ext(c, "SELECT 1/0")), "22012");
      EXPECT_EQ(Sqlstate(Ext(c, "SET work_mem = '7MB'")), "25P02");
      EXPECT_EQ(Ext(c, "COMMIT"), "");
      // RELEASE keeps it; a named statement.
      EXPECT_EQ(Ext(c, "BEGIN READ WRITE"), "");
      EXPECT_EQ(Ext(c, "SAVEPOINT b"), "");
      if (replayed) {
        EXPECT_EQ(Prepared(c, "wm", "SET work_mem = '8MB'"), "");
      }
      EXPECT_EQ(Ext(c, "RELEASE b"), "");
      EXPECT_EQ(Ext(c, "SET application_name = 'committed'"), "");
      EXPECT_EQ(Ext(c, "COMMIT"), "");
      ExpectExtSettings(c, direct,
                        replayed ? "8MB pg_catalog 0 committed" : "4MB \"$user\", public 0 committed");
    });
    // A standby in the session already gets what it missed (a READ WRITE
    // block runs on the primary alone) when it counts.
    LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
      ExpectExtSettings(c, direct, "4MB \"$user\", public 0 pgvigil_tx_raw");
      if (!replayed) return;
      EXPECT_EQ(Ext(c, "BEGIN READ WRITE"), "");
      EXPECT_EQ(Ext(c, "SET work_mem = '6MB'"), "");
      EXPECT_EQ(Prepared(c, "sp", "SET search_path = pg_catalog"), "");
      EXPECT_EQ(Ext(c, "COMMIT"), "");
      ExpectExtSettings(c, direct, "6MB pg_catalog 0 pgvigil_tx_raw");
    });
  });
}

// set_config(name, value, false) (a name and value as bind parameters, or
// literals) is not replayed: the session's reads stay on the primary, which
// has it. Transaction pooling: the client is pinned (a refused set_config
// never runs).
TEST_P(ProxySessionSetsExtTest, ASessionSetConfigKeepsReadsOnThePrimary) {
  const auto policy = GetParam() == PoolMode::kSession ? SessionStatePolicy::kRefuse : SessionStatePolicy::kPin;
  auto px = StartBalancedToNode1(GetParam(), policy);
  const std::string primary = std::to_string(NodePort(0));
  for (bool bound : {true, false}) {
    SCOPED_TRACE(bound ? "bind parameters" : "literals");
    LibpqOnPostgresThenProxy(px, [&](Conn& c, bool) {
      const char* v[2] = {"work_mem", "5MB"};
      if (bound) {
        EXPECT_EQ(ResultValue(c.c, PQexecParams(c.c, "SELECT set_config($1, $2, false)", 2, nullptr, v, nullptr,
                                                nullptr, 0)),
                  "5MB");
      } else {
        EXPECT_EQ(c.Query("SELECT set_config('work_mem', '5MB', false)"), "5MB");
      }
      EXPECT_EQ(c.Query("SELECT set_config('search_path', 'pg_catalog', false)"), "pg_catalog");
      const std::string want = "5MB pg_catalog 0 pgvigil_tx_raw @" + primary;
      EXPECT_EQ(c.Query(std::string(kSettings) + " || ' @' || inet_server_port()"), want);
      EXPECT_EQ(Ext(c, std::string(kSettings) + " || ' @' || inet_server_port()"), want);
    });
  }
}

// A driver that sets search_path and application_name before every
// transaction, by either protocol: the proxy records one entry per parameter,
// so after 150 of each the session's reads are still balanced, and the
// standby joining then is given the last values.
TEST_P(ProxySessionSetsExtTest, ManySetsOfOneParameterKeepReadsBalanced) {
  ForEachPolicy(GetParam(), [](const std::unique_ptr<ProxyUnderTest>& px, bool replayed) {
    if (!replayed) return;  // refused, never run
    LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
      EXPECT_EQ(Ext(c, "SET work_mem = '3MB'"), "");
      auto sets = [&](int from, int to) {
        for (int i = from; i < to; ++i) {
          const std::string path = "SET search_path TO s" + std::to_string(i) + ", public";
          const std::string app = "SET application_name = 'app" + std::to_string(i) + "'";
          ASSERT_EQ(i % 2 ? c.Query(path) : Ext(c, path), "") << i;
          ASSERT_EQ(i % 2 ? Ext(c, app) : c.Query(app), "") << i;
        }
      };
      sets(0, 150);
      ExpectExtSettings(c, direct, "3MB s149, public 0 app149");
      // The standby in the session now: it gets them as they are made.
      sets(150, 300);
      EXPECT_EQ(Ext(c, "RESET search_path"), "");
      ExpectExtSettings(c, direct, "3MB \"$user\", public 0 app299");
    });
  });
}

// More SETs than the proxy records (SessionSets::kMax: with one entry per
// parameter, more than that many different parameters): the last is not
// recorded, so a standby joining now could not be given it; the session's
// reads stay on the primary, which has it.
TEST_P(ProxySessionSetsExtTest, MoreSetsThanRecordedKeepReadsOnThePrimary) {
  ForEachPolicy(GetParam(), [](const std::unique_ptr<ProxyUnderTest>& px, bool replayed) {
    if (!replayed) return;  // refused, never run
    LibpqOnPostgresThenProxy(px, [&](Conn& c, bool) {
      EXPECT_EQ(Ext(c, "SET work_mem = '1MB'"), "");
      for (size_t i = 0; i < SessionSets::kMax; ++i)
        ASSERT_EQ(Ext(c, "SET pgvigil_t.p" + std::to_string(i) + " = '" + std::to_string(1 + i % 3) + "'"), "") << i;
      EXPECT_EQ(Ext(c, "SET search_path = pg_catalog"), "");
      const std::string want = "1MB pg_catalog 0 pgvigil_tx_raw @" + std::to_string(NodePort(0));
      EXPECT_EQ(c.Query(std::string(kSettings) + " || ' @' || inet_server_port()"), want);
      EXPECT_EQ(Ext(c, std::string(kSettings) + " || ' @' || inet_server_port()"), want);
    });
  });
}

// A pipeline (libpq's pipeline mode): the statements, each its Parse, Bind,
// Describe and Execute, then one Sync. Each statement's result: "ok",
// "skipped" (after an error) or the error's SQLSTATE; then the status after it.
std::string Pipeline(Conn& c, const std::vector<std::string>& statements) {
  if (PQenterPipelineMode(c.c) != 1) return "no pipeline mode";
  for (const auto& sql : statements)
    if (PQsendQueryParams(c.c, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) return "send failed";
  if (PQpipelineSync(c.c) != 1) return "sync failed";
  std::string out;
  for (size_t i = 0; i < statements.size(); ++i) {
    PGresult* r = PQgetResult(c.c);
    if (!r) return out + "no result";
    const ExecStatusType st = PQresultStatus(r);
    const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out += st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "ok"
           : st == PGRES_PIPELINE_ABORTED                   ? "skipped"
                                                            : std::string(code ? code : "?");
    out += ' ';
    PQclear(r);
    while ((r = PQgetResult(c.c)) != nullptr) PQclear(r);
  }
  PGresult* r = PQgetResult(c.c);
  out += r && PQresultStatus(r) == PGRES_PIPELINE_SYNC ? "sync" : "no sync";
  if (r) PQclear(r);
  if (PQexitPipelineMode(c.c) != 1) out += " (pipeline not left)";
  switch (PQtransactionStatus(c.c)) {
    case PQTRANS_IDLE: return out + " I";
    case PQTRANS_INTRANS: return out + " T";
    case PQTRANS_INERROR: return out + " E";
    default: return out + " ?";
  }
}

// An extended-protocol sequence of several statements before one Sync is
// followed Execute by Execute (session_sets_sequence.cc), as PostgreSQL runs
// it: its statements outside a block form one implicit transaction up to the
// Sync, which an error drops whole (the SETs before it too), a COMMIT among
// them keeps, a ROLLBACK among them drops (the statements after it start
// another); BEGIN, SAVEPOINT and ROLLBACK TO among them are followed. The
// standby joins at the first read, so the settings it shows are the ones the
// proxy replays. Transaction pooling with the pin policy (a SET pins the client).
TEST_P(ProxySessionSetsExtTest, ASequenceOfSeveralStatementsIsFollowedStatementByStatement) {
  auto px = StartBalancedToNode1(GetParam(), GetParam() == PoolMode::kSession ? SessionStatePolicy::kRefuse
                                                                             : SessionStatePolicy::kPin);
  const std::string fail = "/*NO LOAD BALANCE*/ SELECT 1/0";  // fails on the primary, in the sequence
  const std::string defaults = " \"$user\", public ";
  auto baseline = [](Conn& c) {
    EXPECT_EQ(Ext(c, "SET work_mem = '3MB'"), "");
    EXPECT_EQ(Ext(c, "SET statement_timeout = '7s'"), "");
  };
  // An error drops the SET before it.
  LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
    baseline(c);
    EXPECT_EQ(Pipeline(c, {"SET work_mem = '5MB'", fail}), "ok 22012 sync I");
    ExpectExtSettings(c, direct, "3MB" + defaults + "7s pgvigil_tx_raw");
  });
  // A ROLLBACK drops what came before it, not what came after.
  LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
    baseline(c);
    EXPECT_EQ(Pipeline(c, {"SET work_mem = '5MB'", "ROLLBACK", "SET statement_timeout = '8s'"}), "ok ok ok sync I");
    ExpectExtSettings(c, direct, "3MB" + defaults + "8s pgvigil_tx_raw");
  });
  // A COMMIT keeps what came before it; an error after it drops the rest.
  LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
    baseline(c);
    EXPECT_EQ(Pipeline(c, {"SET work_mem = '5MB'", "COMMIT", "SET statement_timeout = '8s'", fail, "SELECT 1"}),
              "ok ok ok 22012 skipped sync I");
    ExpectExtSettings(c, direct, "5MB" + defaults + "7s pgvigil_tx_raw");
  });
  // BEGIN ... COMMIT, then an error.
  LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
    baseline(c);
    EXPECT_EQ(Pipeline(c, {"BEGIN", "SET work_mem = '5MB'", "COMMIT", fail}), "ok ok ok 22012 sync I");
    ExpectExtSettings(c, direct, "5MB" + defaults + "7s pgvigil_tx_raw");
  });
  // A statement before the first SET (its answer may pass before the proxy
  // watches the answers), then a COMMIT and an error.
  LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
    baseline(c);
    EXPECT_EQ(Pipeline(c, {"/*NO LOAD BALANCE*/ SELECT 1", "SET work_mem = '5MB'", "COMMIT", fail}),
              "ok ok ok 22012 sync I");
    ExpectExtSettings(c, direct, "5MB" + defaults + "7s pgvigil_tx_raw");
  });
  // Savepoints in the sequence: ROLLBACK TO undoes what followed the savepoint.
  LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
    baseline(c);
    EXPECT_EQ(Pipeline(c, {"BEGIN", "SET work_mem = '5MB'", "SAVEPOINT s", "SET statement_timeout = '8s'",
                           "ROLLBACK TO s", "COMMIT"}),
              "ok ok ok ok ok ok sync I");
    ExpectExtSettings(c, direct, "5MB" + defaults + "7s pgvigil_tx_raw");
  });
  // An error in a block opened by the sequence: the block fails; ROLLBACK.
  LibpqOnPostgresThenProxy(px, [&](Conn& c, bool direct) {
    baseline(c);
    EXPECT_EQ(Pipeline(c, {"SET statement_timeout = '8s'", "BEGIN", "SET work_mem = '5MB'", fail}),
              "ok ok ok 22012 sync E");
    EXPECT_EQ(Ext(c, "ROLLBACK"), "");
    ExpectExtSettings(c, direct, "3MB" + defaults + "7s pgvigil_tx_raw");
  });
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxySessionSetsExtTest, ::testing::Values(PoolMode::kSession, PoolMode::kTransaction),
                         [](const ::testing::TestParamInfo<PoolMode>& i) {
                           return i.param == PoolMode::kSession ? "session" : "transaction";
                         });

}  // namespace
}  // namespace pgvigil::proxy::testenv
