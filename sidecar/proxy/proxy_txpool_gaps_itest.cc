// Integration, transaction pooling, the gaps issue 16 left (real PostgreSQL 15,
// the shared three-node cluster; part of proxy_txpool_test):
//  * a statement refused for session state inside a transaction aborts it
//    (COMMIT answers ROLLBACK), by psql, libpq's simple and extended protocol;
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

std::unique_ptr<ProxyUnderTest> GapsProxy(int size, std::chrono::milliseconds queue_timeout,
                                          int threads = 1) {
  ProxyOptions o;
  o.threads = threads;
  o.adjust = [=](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = size;
    s.proxy.pool.queueTimeout = queue_timeout;
    s.proxy.loadBalancing.enabled = false;
  };
  return StartProxy(o);
}

// The command tag of a simple Query ("COMMIT", "ROLLBACK"), or "ERROR <sqlstate>".
std::string Tag(PGconn* c, const char* sql) {
  PGresult* r = PQexec(c, sql);
  std::string out = PQcmdStatus(r);
  if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out = std::string("ERROR ") + (state ? state : "?");
  }
  PQclear(r);
  return out;
}

TEST(ProxyTxPoolGapsTest, RefusedStatementAbortsTheTransaction) {
  auto px = GapsProxy(2, std::chrono::seconds(30));
  ASSERT_TRUE(px);
  auto a = Connect(px->port);
  ASSERT_TRUE(a->ok());
  // Simple protocol.
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("INSERT INTO kv VALUES (1621, 'refused') ON CONFLICT (k) DO NOTHING"), "");
  EXPECT_EQ(a->Query("SET work_mem = '7MB'").rfind("ERROR 0A000", 0), 0u);
  EXPECT_EQ(PQtransactionStatus(a->c), PQTRANS_INERROR);
  EXPECT_EQ(a->Query("SELECT 1").rfind("ERROR 25P02", 0), 0u);
  EXPECT_EQ(Tag(a->c, "COMMIT"), "ROLLBACK");
  EXPECT_EQ(a->Query("SELECT count(*) FROM kv WHERE k = 1621"), "0");
  // Extended protocol.
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("INSERT INTO kv VALUES (1622, 'refused') ON CONFLICT (k) DO NOTHING"), "");
  PGresult* r = PQexecParams(a->c, "LISTEN tx_gaps", 0, nullptr, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(ResultValue(a->c, r).rfind("ERROR 0A000", 0), 0u);
  EXPECT_EQ(PQtransactionStatus(a->c), PQTRANS_INERROR);
  EXPECT_EQ(Tag(a->c, "COMMIT"), "ROLLBACK");
  EXPECT_EQ(a->Query("SELECT count(*) FROM kv WHERE k = 1622"), "0");
  // ROLLBACK TO SAVEPOINT recovers, as after any error.
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SAVEPOINT sp"), "");
  EXPECT_EQ(a->Query("SELECT pg_advisory_lock(1623)").rfind("ERROR 0A000", 0), 0u);
  EXPECT_EQ(a->Query("ROLLBACK TO SAVEPOINT sp"), "");
  EXPECT_EQ(a->Query("INSERT INTO kv VALUES (1623, 'kept') ON CONFLICT (k) DO NOTHING"), "");
  EXPECT_EQ(Tag(a->c, "COMMIT"), "COMMIT");
  EXPECT_EQ(a->Query("SELECT v FROM kv WHERE k = 1623"), "kept");
  // psql, each -c its own Query.
  auto p = Psql(px->port, {"-v", "ON_ERROR_STOP=0", "-c", "BEGIN", "-c",
                           "INSERT INTO kv VALUES (1624, 'psql') ON CONFLICT (k) DO NOTHING", "-c",
                           "SET work_mem = '7MB'", "-c", "COMMIT"});
  EXPECT_NE(p.output.find("not allowed in transaction pooling mode"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("ROLLBACK"), std::string::npos) << p.output;
  EXPECT_EQ(a->Query("SELECT count(*) FROM kv WHERE k = 1624"), "0");
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
