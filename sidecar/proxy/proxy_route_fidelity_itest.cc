// Integration: routing fidelity with read balancing on (issue 15, causes 6, 9
// and 10), through the proxy in front of real PostgreSQL 15 (node0 primary,
// node1/node2 streaming standbys), with psql, libpq (pipeline mode included)
// and Python psycopg as clients. Each test runs its case directly against the
// primary as well where the outcome must be the same.
#include <gtest/gtest.h>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

std::string P(int i) { return std::to_string(NodePort(i)); }
bool OnStandby(const std::string& port) { return port == P(1) || port == P(2); }

void Direct(const std::string& sql) {
  auto r = Cluster().Query(0, sql);
  ASSERT_TRUE(r.ok()) << sql << ": " << r.error();
}

// The write-skew case: two SERIALIZABLE transactions each read both rows and
// update a different one. The second to commit must fail with 40001.
std::string WriteSkew(int port) {
  auto a = Connect(port), b = Connect(port);
  if (!a->ok() || !b->ok()) return "connect failed";
  std::string out;
  for (auto* c : {a.get(), b.get()}) {
    c->Query("BEGIN ISOLATION LEVEL SERIALIZABLE");
    out += c->Query("SELECT count(*) FROM oncall WHERE on_call") + ",";
  }
  out += a->Query("UPDATE oncall SET on_call = false WHERE name = 'a'").substr(0, 11) + ",";
  out += b->Query("UPDATE oncall SET on_call = false WHERE name = 'b'").substr(0, 11) + ",";
  out += a->Query("COMMIT").substr(0, 11) + ",";
  out += b->Query("COMMIT").substr(0, 11);
  return out;
}

TEST(ProxyRouteFidelityTest, Cause6SerializableWriteSkewFailsAsDirectly) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  Direct("CREATE TABLE IF NOT EXISTS oncall (name text PRIMARY KEY, on_call bool)");
  for (int port : {NodePort(0), px->port}) {
    Direct("TRUNCATE oncall");
    Direct("INSERT INTO oncall VALUES ('a', true), ('b', true)");
    px->CatchUp();
    EXPECT_EQ(WriteSkew(port), "2,2,,,,ERROR 40001") << (port == px->port ? "through the proxy" : "directly");
  }
}

TEST(ProxyRouteFidelityTest, Cause6TransactionCharacteristicsThroughPsql) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  auto lines = [&](std::vector<std::string> cmds) {
    std::vector<std::string> args = {"-At"};
    for (auto& c : cmds) args.insert(args.end(), {"-c", c});
    auto r = Psql(px->port, args);
    EXPECT_EQ(r.exitCode, 0) << r.output;
    return r.output;
  };
  std::string p0 = P(0) + "\n";
  // Serializable and read-write transactions read on the primary, inside the transaction.
  EXPECT_EQ(lines({"BEGIN ISOLATION LEVEL SERIALIZABLE", "SELECT inet_server_port()",
                   "SELECT current_setting('transaction_isolation')", "COMMIT"}),
            "BEGIN\n" + p0 + "serializable\nCOMMIT\n");
  EXPECT_EQ(lines({"BEGIN READ WRITE", "SELECT inet_server_port()", "COMMIT"}), "BEGIN\n" + p0 + "COMMIT\n");
  EXPECT_EQ(lines({"BEGIN", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SELECT inet_server_port()",
                   "SELECT current_setting('transaction_isolation')", "COMMIT"}),
            "BEGIN\nSET\n" + p0 + "serializable\nCOMMIT\n");
  // A session whose default is serializable: every read on the primary, without errors.
  EXPECT_EQ(lines({"SET default_transaction_isolation = 'serializable'", "SELECT inet_server_port()", "BEGIN",
                   "SELECT inet_server_port()", "COMMIT"}),
            "SET\n" + p0 + "BEGIN\n" + p0 + "COMMIT\n");
  EXPECT_EQ(lines({"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                   "SELECT inet_server_port()"}),
            "SET\n" + p0);
  // Back to the default: reads balance again; a plain transaction's reads stay on its standby.
  std::string out = lines({"SET default_transaction_isolation = 'serializable'",
                           "RESET default_transaction_isolation", "SELECT inet_server_port()", "BEGIN",
                           "SELECT inet_server_port()", "SELECT current_setting('transaction_isolation')",
                           "COMMIT"});
  auto nl = [](const std::string& s, int n) {
    size_t b = 0;
    for (int i = 0; i < n; ++i) b = s.find('\n', b) + 1;
    return s.substr(b, s.find('\n', b) - b);
  };
  EXPECT_TRUE(OnStandby(nl(out, 2))) << out;
  EXPECT_TRUE(OnStandby(nl(out, 4))) << out;
  EXPECT_EQ(nl(out, 5), "read committed") << out;
}

TEST(ProxyRouteFidelityTest, Cause6PsycopgSerializableConnection) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  auto r = Psycopg(px->port,
                   "conn.autocommit = False\n"
                   "conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE\n"
                   "cur = conn.execute('SELECT inet_server_port(), current_setting(\\'transaction_isolation\\')')\n"
                   "print(cur.fetchone())\n"
                   "conn.commit()\n"
                   "conn.read_only = False\n"
                   "conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ\n"
                   "print(conn.execute('SELECT inet_server_port()').fetchone()[0])\n"
                   "conn.commit()\n");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("(" + P(0) + ", 'serializable')"), std::string::npos) << r.output;
}

TEST(ProxyRouteFidelityTest, Cause9WritingAndPrimaryOnlyFunctions) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  Direct("CREATE TABLE IF NOT EXISTS hits (n int)");
  Direct("TRUNCATE hits");
  Direct("CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS 'INSERT INTO hits VALUES (1) RETURNING 1'");
  Direct("CREATE OR REPLACE FUNCTION port_stable() RETURNS int STABLE LANGUAGE sql AS 'SELECT inet_server_port()'");
  Direct("CREATE TABLE IF NOT EXISTS brin_t (a int)");
  Direct("CREATE INDEX IF NOT EXISTS brin_t_a ON brin_t USING brin (a)");
  px->CatchUp();
  auto r = Psql(px->port, {"-At", "-c", "SELECT bump()", "-c", "SELECT public.bump() + 1", "-c",
                           "SELECT txid_current() > 0", "-c", "SELECT 't' FROM pg_notify('chan', 'x')", "-c",
                           "SELECT lo_unlink(lo_from_bytea(0, 'abc'))", "-c", "SELECT 't' FROM pg_advisory_lock(42)",
                           "-c", "SELECT pg_advisory_unlock(42)", "-c",
                           "SELECT brin_summarize_new_values('brin_t_a') >= 0"});
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_EQ(r.output, "1\n2\nt\nt\n1\nt\nt\nt\n");
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM hits").value(), "2");
  // A stable user function still balances.
  auto s = Psql(px->port, {"-Atc", "SELECT port_stable()"});
  EXPECT_TRUE(OnStandby(s.output.substr(0, s.output.find('\n')))) << s.output;
  // psycopg, extended protocol: a function created volatile later is seen as such.
  auto py = Psycopg(px->port,
                    "print(conn.execute('SELECT bump()').fetchone()[0])\n"
                    "print(conn.execute('SELECT pg_try_advisory_xact_lock(7)').fetchone()[0])\n"
                    "conn.execute('CREATE OR REPLACE FUNCTION port_stable() RETURNS int VOLATILE LANGUAGE sql "
                    "AS \\'INSERT INTO hits VALUES (2) RETURNING inet_server_port()\\'')\n"
                    "print(conn.execute('SELECT port_stable()').fetchone()[0])\n");
  EXPECT_EQ(py.exitCode, 0) << py.output;
  EXPECT_NE(py.output.find("1\nTrue\n" + P(0) + "\n"), std::string::npos) << py.output;
}

// psycopg's test_broken and test_transaction_param_default, with a transaction
// open (psycopg's default): the reads go to a standby that took the BEGIN, yet
// pg_terminate_backend (volatility unknown to the proxy), pg_backend_pid() and
// transaction_read_only must answer as the primary the client logged in to.
TEST(ProxyRouteFidelityTest, Cause9NodeSpecificReadsInATransaction) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  for (int port : {NodePort(0), px->port}) {
    auto r = Psycopg(port,
                     "c = connect()\n"
                     "print('read', c.execute('SELECT 1').fetchone()[0])\n"
                     "print('pid', c.execute('SELECT pg_backend_pid()').fetchone()[0] == c.info.backend_pid)\n"
                     "print('ro', c.execute('select current_setting(%s), current_setting(%s)',\n"
                     "    ['transaction_read_only', 'default_transaction_read_only']).fetchone())\n"
                     "try:\n"
                     "    c.execute('select pg_terminate_backend(%s)', [c.pgconn.backend_pid])\n"
                     "    print('no error')\n"
                     "except psycopg.OperationalError as e:\n"
                     "    print('operational error')\n"
                     "print('closed', c.closed)\n");
    const char* where = port == px->port ? "through the proxy" : "directly";
    EXPECT_EQ(r.exitCode, 0) << where << ": " << r.output;
    EXPECT_NE(r.output.find("read 1\npid True\nro ('off', 'off')\noperational error\nclosed True\ndone"),
              std::string::npos)
        << where << ": " << r.output;
  }
}

// A transaction that failed on one backend fails on the other as well: a
// write after the error must not run (and COMMIT must not commit it), and a
// read after an error on the primary must not succeed on the standby.
TEST(ProxyRouteFidelityTest, FailedTransactionFailsOnBothBackends) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  Direct("CREATE TABLE IF NOT EXISTS failtx (a int)");
  Direct("TRUNCATE failtx");
  px->CatchUp();
  for (int port : {NodePort(0), px->port}) {
    const char* where = port == px->port ? "through the proxy" : "directly";
    // The error on the standby (the transaction's reads run there).
    auto r = Psql(port, {"-At", "-v", "ON_ERROR_STOP=0", "-c", "BEGIN", "-c", "SELECT inet_server_port()", "-c",
                         "SELECT 1/0", "-c", "INSERT INTO failtx VALUES (1)", "-c", "SELECT 2", "-c", "COMMIT"});
    if (port == px->port) {
      EXPECT_TRUE(OnStandby(r.output.substr(r.output.find('\n') + 1, 5))) << r.output;
    }
    EXPECT_NE(r.output.find("division by zero"), std::string::npos) << where << ": " << r.output;
    size_t aborted = 0;
    for (size_t i = r.output.find("current transaction is aborted"); i != std::string::npos;
         i = r.output.find("current transaction is aborted", i + 1))
      ++aborted;
    EXPECT_EQ(aborted, 2u) << where << ": " << r.output;
    EXPECT_NE(r.output.find("ROLLBACK"), std::string::npos) << where << ": " << r.output;
    EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM failtx").value(), "0") << where;
    // The error on the primary (nextval runs there); the next read and a
    // ROLLBACK TO SAVEPOINT behave as on PostgreSQL.
    r = Psql(port, {"-At", "-v", "ON_ERROR_STOP=0", "-c", "BEGIN", "-c", "SELECT 1", "-c", "SAVEPOINT s", "-c",
                    "SELECT nextval('no_such_sequence')", "-c", "SELECT 2", "-c", "ROLLBACK TO SAVEPOINT s", "-c",
                    "SELECT 3", "-c", "INSERT INTO failtx VALUES (3)", "-c", "COMMIT"});
    EXPECT_NE(r.output.find("no_such_sequence"), std::string::npos) << where << ": " << r.output;
    EXPECT_NE(r.output.find("current transaction is aborted"), std::string::npos) << where << ": " << r.output;
    EXPECT_EQ(r.output.find("\n2\n"), std::string::npos) << where << ": " << r.output;
    EXPECT_NE(r.output.find("\n3\n"), std::string::npos) << where << ": " << r.output;
    EXPECT_NE(r.output.find("COMMIT"), std::string::npos) << where << ": " << r.output;
    EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM failtx").value(), "1") << where;
    Direct("TRUNCATE failtx");
    px->CatchUp();
  }
}

TEST(ProxyRouteFidelityTest, Cause10DeallocateWhereParsed) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  auto ok = [&](PGresult* r) { return ResultValue(c->c, r); };
  EXPECT_EQ(ok(PQprepare(c->c, "r1", "SELECT inet_server_port()", 0, nullptr)), "");
  EXPECT_EQ(ok(PQprepare(c->c, "w1", "INSERT INTO kv VALUES (77, 'x') ON CONFLICT (k) DO NOTHING", 0, nullptr)), "");
  EXPECT_TRUE(OnStandby(ok(PQexecPrepared(c->c, "r1", 0, nullptr, nullptr, nullptr, 0))));
  EXPECT_EQ(c->Query("DEALLOCATE r1"), "");  // parsed on a standby only
  EXPECT_EQ(ok(PQexecPrepared(c->c, "w1", 0, nullptr, nullptr, nullptr, 0)), "");  // the others stay
  EXPECT_EQ(ok(PQprepare(c->c, "r1", "SELECT 2", 0, nullptr)), "");              // the name is free again
  EXPECT_EQ(ok(PQexecPrepared(c->c, "r1", 0, nullptr, nullptr, nullptr, 0)), "2");
  EXPECT_EQ(c->Query("DEALLOCATE r1").substr(0, 5), "");
  EXPECT_EQ(c->Query("DEALLOCATE r1").substr(0, 11), "ERROR 26000");  // as PostgreSQL says
  EXPECT_EQ(c->Query("DEALLOCATE ALL"), "");
  EXPECT_EQ(ok(PQexecPrepared(c->c, "w1", 0, nullptr, nullptr, nullptr, 0)).substr(0, 11), "ERROR 26000");
  // SQL PREPARE / EXECUTE / DEALLOCATE through psql.
  auto r = Psql(px->port, {"-At", "-c", "PREPARE q AS SELECT 5", "-c", "EXECUTE q", "-c", "DEALLOCATE q", "-c",
                           "DEALLOCATE PREPARE ALL"});
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_EQ(r.output, "PREPARE\n5\nDEALLOCATE\nDEALLOCATE ALL\n");
}

TEST(ProxyRouteFidelityTest, Cause10PsycopgPreparedStatementEviction) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  // psycopg prepares each query on its first run (threshold 0) and, past
  // prepared_max, deallocates the oldest: wherever each was parsed.
  auto r = Psycopg(px->port,
                   "conn.prepare_threshold = 0\n"
                   "conn.prepared_max = 2\n"
                   "for rnd in range(3):\n"
                   "    for i in range(6):\n"
                   "        q = 'SELECT %s::int + ' + str(i) if i % 2 else "
                   "'INSERT INTO kv VALUES (900 + ' + str(i) + ', %s::text) ON CONFLICT (k) DO NOTHING'\n"
                   "        conn.execute(q, (i,))\n"
                   // psycopg's test_evict_lru_deallocate: in a transaction (the
                   // statements parsed on its standby), DEALLOCATE sent in the
                   // extended protocol must reach that standby.
                   "c = connect()\n"
                   "c.prepared_max = 5\n"
                   "c.prepare_threshold = 0\n"
                   "for i in range(10):\n"
                   "    c.execute(\"select 'a'\")\n"
                   "    c.execute(f'select {i}')\n"
                   "c.commit()\n");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("done"), std::string::npos) << r.output;
}

// libpq pipeline mode: a SAVEPOINT sent with a Flush (no Sync) must reach the
// standby holding the transaction's reads, so that ROLLBACK TO works there.
TEST(ProxyRouteFidelityTest, Cause10PipelineSavepointMirrored) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  for (int port : {NodePort(0), px->port}) {
    auto c = Connect(port);
    ASSERT_TRUE(c->ok()) << c->error();
    PGconn* pg = c->c;
    ASSERT_EQ(PQenterPipelineMode(pg), 1);
    auto send = [&](const char* sql) { ASSERT_EQ(PQsendQueryParams(pg, sql, 0, nullptr, nullptr, nullptr, nullptr, 0), 1); };
    // Results of one query: its value or "ERROR sqlstate", then the NULL that ends it.
    auto next = [&]() {
      PGresult* r = PQgetResult(pg);
      std::string v;
      if (!r) return std::string("<none>");
      ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_PIPELINE_SYNC) v = "sync";
      else if (st == PGRES_TUPLES_OK) v = PQntuples(r) ? PQgetvalue(r, 0, 0) : "";
      else if (st == PGRES_COMMAND_OK) v = "ok";
      else if (st == PGRES_PIPELINE_ABORTED) v = "aborted";
      else v = std::string("ERROR ") + (PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "?");
      PQclear(r);
      if (v != "sync") {
        EXPECT_EQ(PQgetResult(pg), nullptr);
      }
      return v;
    };
    send("BEGIN");
    send("SELECT 1");
    ASSERT_EQ(PQpipelineSync(pg), 1);
    EXPECT_EQ(next(), "ok");
    EXPECT_EQ(next(), "1");
    EXPECT_EQ(next(), "sync");
    send("SAVEPOINT a");
    ASSERT_EQ(PQsendFlushRequest(pg), 1);
    ASSERT_EQ(PQflush(pg), 0);
    EXPECT_EQ(next(), "ok");  // answered without a Sync
    ASSERT_EQ(PQpipelineSync(pg), 1);
    EXPECT_EQ(next(), "sync");
    send("SELECT 1/0");  // fails where the transaction's reads run
    ASSERT_EQ(PQpipelineSync(pg), 1);
    EXPECT_EQ(next(), "ERROR 22012");
    EXPECT_EQ(next(), "sync");
    send("ROLLBACK TO SAVEPOINT a");
    send("SELECT 3");
    send("COMMIT");
    ASSERT_EQ(PQpipelineSync(pg), 1);
    EXPECT_EQ(next(), "ok") << (port == px->port ? "proxy" : "direct");
    EXPECT_EQ(next(), "3") << (port == px->port ? "proxy" : "direct");
    EXPECT_EQ(next(), "ok");
    EXPECT_EQ(next(), "sync");
    ASSERT_EQ(PQexitPipelineMode(pg), 1);
    EXPECT_EQ(c->Query("SELECT 4"), "4");
  }
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
