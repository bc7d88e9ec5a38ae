// Integration, transaction pooling, the gaps issue 16 left (real PostgreSQL 15,
// the shared three-node cluster; part of proxy_txpool_test):
//  * a protocol-level Close of a named statement is answered without a
//    backend; an extended-protocol DEALLOCATE of a protocol-level name works
//    on a backend that never had it; SQL EXECUTE of such a name gets a clear
//    0A000 naming the statement and the setting;
//  * a Parse of a name the client already prepared gets 42P05, as PostgreSQL
//    gives; inside a transaction that aborts it;
//  * a statement refused for session state inside a transaction aborts it
//    (COMMIT answers ROLLBACK), by psql, libpq's simple and extended protocol;
//  * proxy.pool.maxPreparedStatements: a client's Parse beyond it gets 53400,
//    and a backend never holds more of the proxy's statements;
//  * a CancelRequest with the proxy's key cancels the client's own query on
//    the backend running it, and nothing of another client's;
//  * a client's unnamed statement is parsed again on a backend another
//    client took over in between;
//  * an error of the proxy's in the middle of an extended sequence (42P05,
//    refused session state) rolls back what the sequence ran before it, as
//    PostgreSQL's own error there does;
//  * a pipelined Parse of a name whose earlier Parse the backend has not
//    answered yet is judged on that answer, as PostgreSQL does in order: free
//    again after a failed Parse, 42P05 after one that succeeded.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy::testenv {
namespace {

std::unique_ptr<ProxyUnderTest> GapsProxy(int size, std::chrono::milliseconds queue_timeout,
                                          int max_prepared = 1000, int threads = 1) {
  ProxyOptions o;
  o.threads = threads;
  o.hba = "host all all 127.0.0.1/32 trust\n";  // the raw protocol client needs no password exchange
  o.adjust = [=](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = size;
    s.proxy.pool.queueTimeout = queue_timeout;
    s.proxy.pool.maxPreparedStatements = max_prepared;
    s.proxy.loadBalancing.enabled = false;
  };
  return StartProxy(o);
}

std::string ExecPrepared(PGconn* c, const char* name) {
  return ResultValue(c, PQexecPrepared(c, name, 0, nullptr, nullptr, nullptr, 0));
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

std::string ParseMsg(const std::string& name, const std::string& sql) {
  std::string s;
  AppendParse(&s, name, sql);
  return s;
}
std::string CloseMsg(const std::string& name) {
  std::string s;
  AppendClose(&s, 'S', name);
  return s;
}

TEST(ProxyTxPoolGapsTest, CloseAndDeallocateOfProtocolStatements) {
  // Two backends; the queue timeout is short so that a message that waited
  // for a backend shows as 53300 instead of hanging.
  auto px = GapsProxy(2, std::chrono::milliseconds(2000));
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_raw";
  RawPg raw(px->port);
  ASSERT_TRUE(raw.ready);
  auto h1 = Connect(px->port, "postgres", "", extra);
  auto h2 = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(h1->ok() && h2->ok());
  EXPECT_EQ(raw.Run(ParseMsg("s1", "SELECT 1")), "1Z");
  // Both backends held by transactions: the Close needs none.
  EXPECT_EQ(h1->Query("BEGIN"), "");
  EXPECT_EQ(h1->Query("SELECT 1"), "1");
  EXPECT_EQ(h2->Query("BEGIN"), "");
  EXPECT_EQ(h2->Query("SELECT 1"), "1");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(raw.Run(CloseMsg("s1")), "3Z");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  EXPECT_EQ(raw.Run(CloseMsg("never_prepared")), "3Z");  // PostgreSQL answers CloseComplete too
  EXPECT_EQ(h1->Query("COMMIT"), "");
  EXPECT_EQ(h2->Query("COMMIT"), "");
  // The name is free again, and s1 is gone.
  std::string bind;
  AppendMessage(&bind, 'B', std::string("\0s1\0\0\0\0\0\0\0", 10));
  EXPECT_EQ(raw.Run(bind), "EZ");
  EXPECT_EQ(raw.lastError, "26000");
  EXPECT_EQ(raw.Run(ParseMsg("s1", "SELECT 2")), "1Z");

  // Extended-protocol DEALLOCATE (as psycopg sends it) of a protocol-level
  // name, on a backend that has never seen the statement.
  auto a = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok());
  ASSERT_EQ(Prepare(a->c, "s2", "SELECT 'two'"), "");
  EXPECT_EQ(ExecPrepared(a->c, "s2"), "two");
  EXPECT_EQ(h1->Query("BEGIN"), "");  // takes the backend a parsed s2 on (the newest idle)
  EXPECT_EQ(h1->Query("SELECT 1"), "1");
  PGresult* r = PQexecParams(a->c, "DEALLOCATE s2", 0, nullptr, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  EXPECT_STREQ(PQcmdStatus(r), "DEALLOCATE");
  PQclear(r);
  EXPECT_EQ(ExecPrepared(a->c, "s2").rfind("ERROR 26000", 0), 0u);
  EXPECT_EQ(h1->Query("COMMIT"), "");
  ASSERT_EQ(Prepare(a->c, "s2", "SELECT 'again'"), "");
  EXPECT_EQ(ExecPrepared(a->c, "s2"), "again");

  // SQL EXECUTE of a protocol-level name: a clear error, simple and extended.
  std::string e = a->Query("EXECUTE s2");
  EXPECT_EQ(e.rfind("ERROR 0A000", 0), 0u) << e;
  EXPECT_NE(e.find("\"s2\""), std::string::npos) << e;
  EXPECT_NE(e.find("proxy.pool.mode"), std::string::npos) << e;
  for (int i = 0; i < 2; ++i) {  // the second, the same Parse again, reuses its classification
    r = PQexecParams(a->c, "EXECUTE s2", 0, nullptr, nullptr, nullptr, nullptr, 0);
    EXPECT_EQ(ResultValue(a->c, r).rfind("ERROR 0A000", 0), 0u) << i;
  }
  EXPECT_EQ(ExecPrepared(a->c, "s2"), "again");
}

TEST(ProxyTxPoolGapsTest, DuplicateStatementNameIsAnError) {
  auto px = GapsProxy(2, std::chrono::seconds(30));
  ASSERT_TRUE(px);
  auto a = Connect(px->port);
  ASSERT_TRUE(a->ok());
  ASSERT_EQ(Prepare(a->c, "dup", "SELECT 'first'"), "");
  std::string again = Prepare(a->c, "dup", "SELECT 'second'");
  EXPECT_EQ(again.rfind("ERROR 42P05", 0), 0u) << again;
  EXPECT_NE(again.find("prepared statement \"dup\" already exists"), std::string::npos) << again;
  EXPECT_EQ(ExecPrepared(a->c, "dup"), "first");  // the client's statement is unchanged
  // A Parse that fails on the backend leaves no statement: the name is free.
  EXPECT_EQ(Prepare(a->c, "bad", "SELEC 'typo'").rfind("ERROR 42601", 0), 0u);
  EXPECT_EQ(ExecPrepared(a->c, "bad").rfind("ERROR 26000", 0), 0u);
  ASSERT_EQ(Prepare(a->c, "bad", "SELECT 'fixed'"), "");
  EXPECT_EQ(ExecPrepared(a->c, "bad"), "fixed");
  // Inside a transaction the error aborts it, as on PostgreSQL.
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("INSERT INTO kv VALUES (1620, 'dup') ON CONFLICT (k) DO NOTHING"), "");
  EXPECT_EQ(Prepare(a->c, "dup", "SELECT 'third'").rfind("ERROR 42P05", 0), 0u);
  EXPECT_EQ(a->Query("SELECT 1").rfind("ERROR 25P02", 0), 0u);
  EXPECT_EQ(Tag(a->c, "COMMIT"), "ROLLBACK");
  EXPECT_EQ(a->Query("SELECT count(*) FROM kv WHERE k = 1620"), "0");
  EXPECT_EQ(ExecPrepared(a->c, "dup"), "first");
}

std::string CountKey(int k) {
  return Cluster().Query(0, "SELECT count(*) FROM kv WHERE k = " + std::to_string(k)).value();
}

TEST(ProxyTxPoolGapsTest, ProxyErrorInASequenceFailsItOnTheBackend) {
  // PostgreSQL: an error in an extended-protocol sequence rolls back the
  // implicit transaction of the whole sequence (an INSERT executed before it
  // too) and skips the rest up to Sync; inside a transaction block it leaves
  // the transaction failed. A Parse of a name the client prepared already
  // gets 42P05 from PostgreSQL and from the proxy alike: the client sees the
  // same answers from both, and the INSERT before it is gone. The proxy
  // used to end the sequence with a Sync of its own before its error, which
  // committed the INSERT.
  auto px = GapsProxy(2, std::chrono::seconds(30));
  ASSERT_TRUE(px);
  int key = 29400;
  for (bool block : {false, true}) {
    for (bool direct : {true, false}) {
      SCOPED_TRACE(std::string(direct ? "PostgreSQL" : "proxy") + (block ? ", in BEGIN" : ", implicit"));
      ++key;
      std::unique_ptr<RawPg> c = direct ? std::make_unique<RawPg>(NodeSocket(0)) : std::make_unique<RawPg>(px->port);
      ASSERT_TRUE(c->ready);
      EXPECT_EQ(c->Run(ParseMessage("dup", "SELECT 'first'")), "1Z");
      if (block) {
        EXPECT_EQ(c->Simple("BEGIN"), "CZ");
      }
      const std::string insert = "INSERT INTO kv VALUES (" + std::to_string(key) + ", 'seq')";
      // INSERT; Parse of "dup" again (the error); a Bind/Execute skipped; Sync.
      EXPECT_EQ(c->Run(RunStatement(insert) + ParseMessage("dup", "SELECT 'second'") + BindExecute("dup")), "12CEZ");
      EXPECT_EQ(c->lastError, "42P05");
      EXPECT_EQ(c->status, block ? 'E' : 'I');
      if (block) {
        EXPECT_EQ(c->Run(RunStatement("SELECT 1")), "EZ");  // 25P02 until the transaction ends
        EXPECT_EQ(c->lastError, "25P02");
        EXPECT_EQ(c->Simple("ROLLBACK"), "CZ");
        EXPECT_EQ(c->status, 'I');
      }
      EXPECT_EQ(CountKey(key), "0");
      // The connection goes on: the client's statement is the first one, and
      // the next sequence's INSERT commits.
      EXPECT_EQ(c->Run(BindExecute("dup")), "2DCZ");
      EXPECT_EQ(c->Run(RunStatement(insert)), "12CZ");
      EXPECT_EQ(c->status, 'I');
      EXPECT_EQ(CountKey(key), "1");
    }
  }
  // A statement the proxy refuses for session state (0A000; PostgreSQL would
  // run it) in the same place ends the sequence the same way.
  for (bool block : {false, true}) {
    SCOPED_TRACE(block ? "refused SET, in BEGIN" : "refused SET, implicit");
    ++key;
    RawPg c(px->port);
    ASSERT_TRUE(c.ready);
    if (block) {
      EXPECT_EQ(c.Simple("BEGIN"), "CZ");
    }
    const std::string insert = "INSERT INTO kv VALUES (" + std::to_string(key) + ", 'seq')";
    EXPECT_EQ(c.Run(RunStatement(insert) + RunStatement("SET work_mem = '8MB'") + RunStatement("SELECT 1")), "12CEZ");
    EXPECT_EQ(c.lastError, "0A000");
    EXPECT_EQ(c.status, block ? 'E' : 'I');
    if (block) {
      EXPECT_EQ(c.Simple("ROLLBACK"), "CZ");
    }
    EXPECT_EQ(CountKey(key), "0");
    EXPECT_EQ(c.Run(RunStatement("SELECT 2")), "12DCZ");
    EXPECT_EQ(c.status, 'I');
  }
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

TEST(ProxyTxPoolGapsTest, PreparedStatementCap) {
  // One backend, so every statement meets on it.
  auto px = GapsProxy(1, std::chrono::seconds(30), 3);
  ASSERT_TRUE(px);
  auto a = Connect(px->port);
  auto b = Connect(px->port);
  ASSERT_TRUE(a->ok() && b->ok());
  ASSERT_EQ(Prepare(a->c, "p1", "SELECT 'a1'"), "");
  ASSERT_EQ(Prepare(a->c, "p2", "SELECT 'a2'"), "");
  ASSERT_EQ(Prepare(a->c, "p3", "SELECT 'a3'"), "");
  std::string over = Prepare(a->c, "p4", "SELECT 'a4'");
  EXPECT_EQ(over.rfind("ERROR 53400", 0), 0u) << over;
  EXPECT_NE(over.find("proxy.pool.maxPreparedStatements (3)"), std::string::npos) << over;
  EXPECT_EQ(a->Query("DEALLOCATE p1"), "");
  ASSERT_EQ(Prepare(a->c, "p4", "SELECT 'a4'"), "");
  // b's statements on the same backend: it never holds more than 3 of the
  // proxy's, and every statement still runs (parsed again where missing).
  ASSERT_EQ(Prepare(b->c, "q1", "SELECT 'b1'"), "");
  ASSERT_EQ(Prepare(b->c, "q2", "SELECT 'b2'"), "");
  ASSERT_EQ(Prepare(b->c, "q3", "SELECT 'b3'"), "");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ExecPrepared(a->c, "p2"), "a2");
    EXPECT_EQ(ExecPrepared(b->c, "q1"), "b1");
    EXPECT_EQ(ExecPrepared(a->c, "p3"), "a3");
    EXPECT_EQ(ExecPrepared(b->c, "q2"), "b2");
    EXPECT_EQ(ExecPrepared(a->c, "p4"), "a4");
    EXPECT_EQ(ExecPrepared(b->c, "q3"), "b3");
    std::string held = b->Query("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'pgvigil_s%'");
    EXPECT_LE(std::stoi(held), 3) << held;
  }
}

// The unnamed statement outlives its sequence on PostgreSQL. A client keeps
// its backend between transactions while nobody needs it (its unnamed
// statement is still there); once another client took that backend over and
// parsed its own, the first one's is parsed again where it next runs.
TEST(ProxyTxPoolGapsTest, UnnamedStatementAcrossTakeover) {
  auto px = GapsProxy(1, std::chrono::seconds(10));
  ASSERT_TRUE(px);
  RawPg a(px->port), b(px->port);
  ASSERT_TRUE(a.ready && b.ready);
  auto bind_execute = [] {
    std::string s;
    AppendMessage(&s, 'B', std::string("\0\0\0\0\0\0\0\0", 8));  // portal "", statement "", no params/results
    AppendMessage(&s, 'E', std::string("\0\0\0\0\0", 5));     // portal "", no row limit
    return s;
  };
  EXPECT_EQ(a.Run(ParseMsg("", "SELECT 1")), "1Z");
  EXPECT_EQ(a.Run(bind_execute()), "2DCZ");  // on its own backend still
  EXPECT_EQ(b.Run(ParseMsg("", "SELECT 1 WHERE false")), "1Z");  // takes it over
  EXPECT_EQ(b.Run(bind_execute()), "2CZ");
  EXPECT_EQ(a.Run(bind_execute()), "2DCZ");  // a's statement, parsed again
  EXPECT_EQ(b.Run(bind_execute()), "2CZ");
}

// node-postgres in pipeline mode sends a query's Parse/Bind/Execute/Sync as
// soon as the previous one's ErrorResponse arrives, before its ReadyForQuery;
// here both go in one write, so the second Parse reaches the proxy before the
// backend answered the first. PostgreSQL and the proxy give the same answers.
TEST(ProxyTxPoolGapsTest, PipelinedParseAfterPendingParseOfTheSameName) {
  auto px = GapsProxy(2, std::chrono::seconds(10));
  ASSERT_TRUE(px);
  auto run_named = [](const std::string& name, const std::string& sql) {
    std::string s = ParseMessage(name, sql) + BindExecute(name);
    AppendSync(&s);
    return s;
  };
  for (bool direct : {true, false}) {
    SCOPED_TRACE(direct ? "PostgreSQL" : "proxy");
    std::unique_ptr<RawPg> c = direct ? std::make_unique<RawPg>(NodeSocket(0)) : std::make_unique<RawPg>(px->port);
    ASSERT_TRUE(c->ready);
    // The first Parse fails on the backend: the name is free for the second.
    ASSERT_TRUE(c->sock.Send(run_named("again", "SELECT $1::no_such_type_xyz") + run_named("again", "SELECT 7")));
    EXPECT_EQ(c->Until(std::chrono::seconds(10)), "EZ");
    EXPECT_EQ(c->lastError, "42704");
    EXPECT_EQ(c->Until(std::chrono::seconds(10)), "12DCZ") << c->lastError;
    // The first succeeds: the second is a duplicate, and the first stays.
    ASSERT_TRUE(c->sock.Send(run_named("twice", "SELECT 8") + run_named("twice", "SELECT 9")));
    EXPECT_EQ(c->Until(std::chrono::seconds(10)), "12DCZ");
    EXPECT_EQ(c->Until(std::chrono::seconds(10)), "EZ");
    EXPECT_EQ(c->lastError, "42P05");
    EXPECT_EQ(c->Run(BindExecute("twice")), "2DCZ");
  }
}

TEST(ProxyTxPoolGapsTest, CancelReachesOnlyTheClientsOwnQuery) {
  auto px = GapsProxy(2, std::chrono::seconds(30));
  ASSERT_TRUE(px);
  auto a = Connect(px->port);
  auto b = Connect(px->port);
  ASSERT_TRUE(a->ok() && b->ok());
  auto cancel = [](PGconn* c) {
    PGcancel* k = PQgetCancel(c);
    char err[256];
    int ok = PQcancel(k, err, sizeof err);
    PQfreeCancel(k);
    return ok == 1;
  };
  // Both run at once, each on its own backend: a's cancel ends a's query only.
  auto qa = std::async(std::launch::async, [&] { return a->Query("SELECT 'a' FROM pg_sleep(20)"); });
  auto qb = std::async(std::launch::async, [&] { return b->Query("SELECT 'b done' FROM pg_sleep(2)"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(cancel(a->c));
  std::string ra = qa.get();
  EXPECT_EQ(ra.rfind("ERROR 57014", 0), 0u) << ra;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(qb.get(), "b done");
  // One backend: a used it and holds nothing now; b runs on it. a's cancel
  // key reaches nothing of b's.
  auto one = GapsProxy(1, std::chrono::seconds(30));
  ASSERT_TRUE(one);
  auto c = Connect(one->port);
  auto d = Connect(one->port);
  ASSERT_TRUE(c->ok() && d->ok());
  std::string pid = c->Query("SELECT pg_backend_pid()");
  auto qd = std::async(std::launch::async, [&] { return d->Query("SELECT pg_backend_pid() FROM pg_sleep(2)"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(cancel(c->c));
  EXPECT_EQ(qd.get(), pid);  // ran to its end on the backend c had used
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
