// Integration, issue 15 causes 4 and 7: extended-protocol messages are
// forwarded as they arrive, so a libpq pipeline that waits for an error without
// Sync (only PQflush, or PQsendFlushRequest) gets it as it does from PostgreSQL,
// on the primary and on a balanced standby; a sequence that reads on a standby
// and then writes moves to the primary, and an error before the write skips it
// (PostgreSQL's ignore-until-Sync). Each case runs directly against a server
// first, so the test states what PostgreSQL does. An error of the proxy's
// after a standby read in one sequence ends it as PostgreSQL's own would.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <string>
#include <vector>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

std::string P(int i) { return std::to_string(NodePort(i)); }

// Waits up to `ms` for the next result in pipeline mode without blocking
// forever: "STATUS[:sqlstate|value]", "TIMEOUT" or "NULL" (end of a query).
std::string NextResult(PGconn* c, int ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (PQisBusy(c)) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
                       .count());
    if (left <= 0) return "TIMEOUT";
    pollfd p{PQsocket(c), POLLIN, 0};
    poll(&p, 1, left);
    if (!PQconsumeInput(c)) return "BROKEN: " + std::string(PQerrorMessage(c));
  }
  PGresult* r = PQgetResult(c);
  if (!r) return "NULL";
  std::string out = PQresStatus(PQresultStatus(r));
  if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
    const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out += std::string(":") + (code ? code : "?");
  } else if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
    out += std::string(":") + PQgetvalue(r, 0, 0);
  }
  PQclear(r);
  return out;
}

bool Send(PGconn* c, const char* sql) { return PQsendQueryParams(c, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1; }

// The error of one statement sent in pipeline mode with no Sync and no Flush
// request, only the bytes flushed: PostgreSQL reports an error at once.
std::string ErrorWithoutSync(int port, const char* sql) {
  auto c = Connect(port);
  if (!c->ok()) return "connect: " + c->error();
  if (PQenterPipelineMode(c->c) != 1 || !Send(c->c, sql) || PQflush(c->c) != 0) return "send failed";
  std::string first = NextResult(c->c);
  // The pipeline then goes on normally.
  PQpipelineSync(c->c);
  std::string rest;
  for (std::string r = NextResult(c->c); r != "TIMEOUT" && r != "PGRES_PIPELINE_SYNC"; r = NextResult(c->c))
    rest += r + " ";
  return first;
}

TEST(ProxyPipelineTest, ErrorWithoutSyncArrivesAtOnce) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  // A read (balanced to a standby) and a write (primary) that fail.
  for (const char* sql : {"SELECT 1/0", "INSERT INTO kv VALUES (NULL, 'x')"}) {
    SCOPED_TRACE(sql);
    std::string direct = ErrorWithoutSync(NodePort(0), sql);
    EXPECT_EQ(direct.substr(0, 18), "PGRES_FATAL_ERROR:") << direct;
    EXPECT_EQ(ErrorWithoutSync(px->port, sql), direct);
  }
}

// Cause 7: a Flush-terminated pipeline of a read that fails on the standby.
TEST(ProxyPipelineTest, FlushRequestReportsStandbyError) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  for (int port : {NodePort(1), px->port}) {
    SCOPED_TRACE(port == px->port ? "proxy" : "direct");
    auto c = Connect(port);
    ASSERT_TRUE(c->ok()) << c->error();
    ASSERT_EQ(PQenterPipelineMode(c->c), 1);
    ASSERT_TRUE(Send(c->c, "SELECT inet_server_port()"));
    ASSERT_TRUE(Send(c->c, "SELECT 1/0"));
    ASSERT_EQ(PQsendFlushRequest(c->c), 1);
    ASSERT_EQ(PQflush(c->c), 0);
    std::string port_seen = NextResult(c->c);
    EXPECT_TRUE(port_seen == "PGRES_TUPLES_OK:" + P(1) || port_seen == "PGRES_TUPLES_OK:" + P(2)) << port_seen;
    EXPECT_EQ(NextResult(c->c), "NULL");
    EXPECT_EQ(NextResult(c->c), "PGRES_FATAL_ERROR:22012");
    EXPECT_EQ(NextResult(c->c), "NULL");
    ASSERT_EQ(PQpipelineSync(c->c), 1);
    EXPECT_EQ(NextResult(c->c), "PGRES_PIPELINE_SYNC");
    // The connection is usable afterwards, in and out of pipeline mode.
    ASSERT_TRUE(Send(c->c, "SELECT 5"));
    ASSERT_EQ(PQpipelineSync(c->c), 1);
    EXPECT_EQ(NextResult(c->c), "PGRES_TUPLES_OK:5");
    EXPECT_EQ(NextResult(c->c), "NULL");
    EXPECT_EQ(NextResult(c->c), "PGRES_PIPELINE_SYNC");
    ASSERT_EQ(PQexitPipelineMode(c->c), 1);
    EXPECT_EQ(c->Query("SELECT 6"), "6");
  }
}

// libpq pipeline: a DISCARD ALL behind a read balanced to a standby.
// PostgreSQL refuses it there (25001, "within a pipeline") and discards
// nothing; through the proxy the session's SET stays on both backends.
TEST(ProxyPipelineTest, DiscardAllBehindAStandbyReadIsRefused) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  for (int port : {NodePort(0), px->port}) {
    SCOPED_TRACE(port == px->port ? "proxy" : "direct");
    auto c = Connect(port);
    ASSERT_TRUE(c->ok()) << c->error();
    EXPECT_EQ(c->Query("SET work_mem = '3MB'"), "");
    ASSERT_EQ(PQenterPipelineMode(c->c), 1);
    ASSERT_TRUE(Send(c->c, "SELECT 1"));
    ASSERT_TRUE(Send(c->c, "DISCARD ALL"));
    ASSERT_EQ(PQpipelineSync(c->c), 1);
    EXPECT_EQ(NextResult(c->c), "PGRES_TUPLES_OK:1");
    EXPECT_EQ(NextResult(c->c), "NULL");
    EXPECT_EQ(NextResult(c->c), "PGRES_FATAL_ERROR:25001");
    EXPECT_EQ(NextResult(c->c), "NULL");
    EXPECT_EQ(NextResult(c->c), "PGRES_PIPELINE_SYNC");
    ASSERT_EQ(PQexitPipelineMode(c->c), 1);
    EXPECT_EQ(c->Query("SELECT current_setting('work_mem')"), "3MB");
    EXPECT_EQ(c->Query("/*NO LOAD BALANCE*/ SELECT current_setting('work_mem')"), "3MB");
  }
}

// A sequence that reads on the standby, then writes, then reads: the write
// moves it to the primary; everything is answered in order.
TEST(ProxyPipelineTest, ReadThenWriteInOneSequence) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  ASSERT_EQ(PQenterPipelineMode(c->c), 1);
  ASSERT_TRUE(Send(c->c, "SELECT inet_server_port()"));
  ASSERT_TRUE(Send(c->c, "INSERT INTO kv VALUES (501, 'p') ON CONFLICT (k) DO UPDATE SET v = 'p' "
                         "RETURNING inet_server_port()"));
  ASSERT_TRUE(Send(c->c, "SELECT v FROM kv WHERE k = 501"));
  ASSERT_EQ(PQpipelineSync(c->c), 1);
  std::string first = NextResult(c->c);
  EXPECT_TRUE(first == "PGRES_TUPLES_OK:" + P(1) || first == "PGRES_TUPLES_OK:" + P(2)) << first;
  EXPECT_EQ(NextResult(c->c), "NULL");
  EXPECT_EQ(NextResult(c->c), "PGRES_TUPLES_OK:" + P(0));
  EXPECT_EQ(NextResult(c->c), "NULL");
  EXPECT_EQ(NextResult(c->c), "PGRES_TUPLES_OK:p");  // read on the primary after the write
  EXPECT_EQ(NextResult(c->c), "NULL");
  EXPECT_EQ(NextResult(c->c), "PGRES_PIPELINE_SYNC");
  EXPECT_EQ(Cluster().Query(0, "SELECT v FROM kv WHERE k = 501").value(), "p");
}

// With no confirmed primary, a write gets the proxy's 25006; a standby gives
// PostgreSQL's own 25006 for the same write. A sequence that read on the
// standby and then writes (inside BEGIN, which went to the standby) gets the
// same answers from both: the error ends the sequence, skips the rest up to
// Sync and, in the transaction block, fails the transaction (ReadyForQuery
// 'E', then 25P02 until ROLLBACK). The proxy used to answer 'T' there: its
// error left the standby's transaction usable.
TEST(ProxyPipelineTest, ProxyErrorAfterAStandbyReadEndsTheSequenceAsPostgresDoes) {
  ProxyOptions o;
  o.hba = "host all all 127.0.0.1/32 trust\n";  // the raw protocol client needs no password exchange
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  RawPg c(px->port);
  ASSERT_TRUE(c.ready);
  RoutingTable t = px->server->Routing();
  t.generation++;
  t.primary = "node1";  // named while in recovery: no primary is confirmed
  ASSERT_TRUE(px->server->SetRouting(t).ok());
  const std::string seq = RunStatement("SELECT 1") + RunStatement("INSERT INTO kv VALUES (29450, 'np')") +
                          RunStatement("SELECT 2");
  for (bool block : {false, true}) {
    for (bool direct : {true, false}) {
      SCOPED_TRACE(std::string(direct ? "PostgreSQL" : "proxy") + (block ? ", in BEGIN" : ", implicit"));
      RawPg d(NodeSocket(1));
      ASSERT_TRUE(d.ready);
      RawPg& x = direct ? d : c;
      if (block) {
        EXPECT_EQ(x.Simple("BEGIN"), "CZ");
      }
      // PostgreSQL fails the INSERT at its Execute, the proxy at its Parse
      // (which it routes): one error either way, nothing after it.
      EXPECT_EQ(x.Run(seq), direct ? "12DC12EZ" : "12DCEZ");
      EXPECT_EQ(x.lastError, "25006");
      EXPECT_EQ(x.status, block ? 'E' : 'I');
      if (block) {
        EXPECT_EQ(x.Run(RunStatement("SELECT 3")), "EZ");
        EXPECT_EQ(x.lastError, "25P02");
        EXPECT_EQ(x.Simple("ROLLBACK"), "CZ");
        EXPECT_EQ(x.status, 'I');
      }
      EXPECT_EQ(x.Run(RunStatement("SELECT 4")), "12DCZ");  // the connection goes on
      EXPECT_EQ(x.status, 'I');
    }
  }
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM kv WHERE k = 29450").value(), "0");
}

// An error in the read part skips the write that follows until Sync, as
// PostgreSQL does in one sequence: the row is never written.
TEST(ProxyPipelineTest, ErrorBeforeWriteSkipsItUntilSync) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  ASSERT_TRUE(Cluster().Query(0, "DELETE FROM kv WHERE k IN (502, 503)").ok());
  for (int port : {NodePort(0), px->port}) {
    SCOPED_TRACE(port == px->port ? "proxy" : "direct");
    int k = port == px->port ? 503 : 502;
    auto c = Connect(port);
    ASSERT_TRUE(c->ok()) << c->error();
    ASSERT_EQ(PQenterPipelineMode(c->c), 1);
    ASSERT_TRUE(Send(c->c, "SELECT 1/0"));
    std::string ins = "INSERT INTO kv VALUES (" + std::to_string(k) + ", 'never')";
    ASSERT_TRUE(Send(c->c, ins.c_str()));
    ASSERT_EQ(PQpipelineSync(c->c), 1);
    EXPECT_EQ(NextResult(c->c), "PGRES_FATAL_ERROR:22012");
    EXPECT_EQ(NextResult(c->c), "NULL");
    EXPECT_EQ(NextResult(c->c), "PGRES_PIPELINE_ABORTED");
    EXPECT_EQ(NextResult(c->c), "NULL");
    EXPECT_EQ(NextResult(c->c), "PGRES_PIPELINE_SYNC");
    ASSERT_EQ(PQexitPipelineMode(c->c), 1);
    EXPECT_EQ(c->Query("SELECT count(*) FROM kv WHERE k = " + std::to_string(k)), "0");
  }
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM kv WHERE k IN (502, 503)").value(), "0");
}

// Many statements in one pipeline, reads and writes interleaved, one Sync.
TEST(ProxyPipelineTest, LongMixedPipeline) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  ASSERT_TRUE(Cluster().Query(0, "DELETE FROM kv WHERE k BETWEEN 600 AND 699").ok());
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  ASSERT_EQ(PQenterPipelineMode(c->c), 1);
  for (int i = 0; i < 50; ++i) {
    std::string sql = i % 2 ? "SELECT " + std::to_string(i) : "INSERT INTO kv VALUES (" + std::to_string(600 + i) + ", 'm')";
    ASSERT_TRUE(Send(c->c, sql.c_str()));
  }
  ASSERT_EQ(PQpipelineSync(c->c), 1);
  for (int i = 0; i < 50; ++i) {
    std::string r = NextResult(c->c);
    EXPECT_EQ(r, i % 2 ? "PGRES_TUPLES_OK:" + std::to_string(i) : "PGRES_COMMAND_OK") << i;
    EXPECT_EQ(NextResult(c->c), "NULL");
  }
  EXPECT_EQ(NextResult(c->c), "PGRES_PIPELINE_SYNC");
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM kv WHERE k BETWEEN 600 AND 699").value(), "25");
}

// The Binds that come after a sequence's first message follow its backend
// only as the statement is now (session_follow.cc): one parsed on the other
// backend alone is parsed there first, and one prepared again under the same
// name as a write moves the sequence to the primary, never runs on the standby
// as the read it was before.
TEST(ProxyPipelineTest, LaterBindsUseTheStatementAsItIsNow) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  ASSERT_TRUE(Cluster().Query(0, "DELETE FROM kv WHERE k = 512").ok());
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  // "r": prepared in a READ WRITE transaction, so parsed on the primary only
  // (no write: read-your-writes would keep the reads below on the primary).
  ASSERT_EQ(c->Query("BEGIN READ WRITE"), "");
  ASSERT_EQ(Prepare(c->c, "r", "SELECT inet_server_port()"), "");
  ASSERT_EQ(c->Query("COMMIT"), "");
  // "w": a read first, then the same name for a write.
  ASSERT_EQ(Prepare(c->c, "w", "SELECT inet_server_port()"), "");
  ASSERT_EQ(c->Query("DEALLOCATE w"), "");
  ASSERT_EQ(Prepare(c->c, "w", "INSERT INTO kv VALUES (512, 'w') RETURNING inet_server_port()"), "");
  ASSERT_EQ(PQenterPipelineMode(c->c), 1);
  ASSERT_TRUE(Send(c->c, "SELECT inet_server_port()"));  // the sequence starts on a standby
  ASSERT_EQ(PQsendQueryPrepared(c->c, "r", 0, nullptr, nullptr, nullptr, 0), 1);
  ASSERT_EQ(PQsendQueryPrepared(c->c, "w", 0, nullptr, nullptr, nullptr, 0), 1);
  ASSERT_EQ(PQpipelineSync(c->c), 1);
  std::string first = NextResult(c->c);
  EXPECT_TRUE(first == "PGRES_TUPLES_OK:" + P(1) || first == "PGRES_TUPLES_OK:" + P(2)) << first;
  EXPECT_EQ(NextResult(c->c), "NULL");
  EXPECT_EQ(NextResult(c->c), first);  // "r" on the same standby
  EXPECT_EQ(NextResult(c->c), "NULL");
  EXPECT_EQ(NextResult(c->c), "PGRES_TUPLES_OK:" + P(0));  // "w" on the primary
  EXPECT_EQ(NextResult(c->c), "NULL");
  EXPECT_EQ(NextResult(c->c), "PGRES_PIPELINE_SYNC");
  ASSERT_EQ(PQexitPipelineMode(c->c), 1);
  EXPECT_EQ(Cluster().Query(0, "SELECT v FROM kv WHERE k = 512").value(), "w");
}

// What a statement returns, as one string: each row's values, the error's
// SQLSTATE if it failed. Simple or extended protocol.
std::string Rows(PGconn* c, const std::string& sql, bool extended) {
  PGresult* r = extended ? PQexecParams(c, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)
                         : PQexec(c, sql.c_str());
  std::string out;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out = std::string("error ") + (code ? code : "?");
  } else {
    for (int i = 0; i < PQntuples(r); ++i)
      for (int j = 0; j < PQnfields(r); ++j) out.append(PQgetvalue(r, i, j)).push_back(j + 1 < PQnfields(r) ? '|' : '\n');
  }
  PQclear(r);
  return out;
}

// Backend answers are relayed in runs (ClientSession::RelayToClient): results
// far larger than a read (and than the 256 kB the proxy buffers before it
// writes to the client), a row larger than that, and rows followed by an
// error in the same statement reach the client byte for byte and in order,
// as directly from PostgreSQL.
TEST(ProxyPipelineTest, LargeResultsAndRowsBeforeAnErrorArriveWhole) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto direct = Connect(NodePort(0));
  auto c = Connect(px->port);
  ASSERT_TRUE(direct->ok()) << direct->error();
  ASSERT_TRUE(c->ok()) << c->error();
  for (const char* sql : {"SELECT i, md5(i::text) FROM generate_series(1, 20000) i",
                          "SELECT string_agg(md5(i::text), '') FROM generate_series(1, 20000) i",
                          "SELECT CASE WHEN i < 3000 THEN i ELSE 1 / (i - i) END FROM generate_series(1, 6000) i"}) {
    for (bool extended : {false, true}) {
      SCOPED_TRACE(std::string(sql) + (extended ? " (extended)" : " (simple)"));
      std::string want = Rows(direct->c, sql, extended);
      EXPECT_GT(want.size(), 6u);
      EXPECT_EQ(Rows(c->c, sql, extended), want);
    }
  }
  EXPECT_EQ(c->Query("SELECT 7"), "7");  // the session goes on
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
