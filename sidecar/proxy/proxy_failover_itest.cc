// Integration: real primary changes, each on its own two-node cluster (the
// shared one stays intact).
//  * Unplanned: the primary stops, the standby is promoted, the health view and
//    routing follow; an idle session moves to the new primary on its next
//    statement, new sessions write there.
//  * Planned (what the controller's switchover does): pause, publish routing
//    without a primary, stop the old primary with -m fast, promote the standby,
//    publish it, resume. Idle sessions (simple protocol with a SET; a named
//    prepared statement) see a delay, not an error: a write sent during the pause
//    completes on the new primary, the SET still in effect, the prepared statement
//    still usable. A session in a transaction, one with a temp table and one that
//    ran LISTEN are ended with 57P01 and a message saying why. When the old
//    primary comes back writable (a stray primary), no write reaches it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

RoutingTable Table(const testing::PgTestCluster& c, uint64_t generation, const std::string& primary) {
  RoutingTable t;
  t.generation = generation;
  t.primary = primary;
  for (const auto& n : c.nodes()) t.nodes.push_back({n.name, "127.0.0.1", n.port, 1, true});
  return t;
}

std::string ExecPrepared(Conn& c, const char* name, const std::string& arg) {
  const char* params[1] = {arg.c_str()};
  return ResultValue(c.c, PQexecPrepared(c.c, name, 1, params, nullptr, nullptr, 0));
}

// Its own primary + streaming standby, with table f on the primary.
std::unique_ptr<testing::PgTestCluster> TwoNodes() {
  testing::PgTestCluster::Options o;
  o.nodes = 2;
  auto cluster = testing::PgTestCluster::Create(o);
  EXPECT_TRUE(cluster.ok()) << cluster.error();
  if (!cluster.ok()) return nullptr;
  EXPECT_TRUE((*cluster)->Query(0, "CREATE TABLE f (a int)").ok());
  EXPECT_TRUE((*cluster)->WaitStreaming(0, 1).ok());
  return std::move(*cluster);
}

TEST(ProxyFailoverTest, PrimaryChangeMovesIdleSessionsAndRoutesNewOnes) {
  auto cluster = TwoNodes();
  ASSERT_TRUE(cluster);
  auto& c2 = *cluster;
  auto px = StartProxy({}, &c2);
  ASSERT_TRUE(px);
  std::string p0 = std::to_string(c2.nodes()[0].port), p1 = std::to_string(c2.nodes()[1].port);
  auto old_session = Connect(px->port, "postgres", c2.superPassword());
  ASSERT_TRUE(old_session->ok()) << old_session->error();
  EXPECT_EQ(old_session->Query("INSERT INTO f VALUES (1) RETURNING inet_server_port()"), p0);

  ASSERT_TRUE(c2.StopNode(0).ok());
  ASSERT_TRUE(c2.PromoteNode(1).ok());
  px->SetHealth(0, false, BackendRole::kUnknown);
  px->SetHealth(1, true, BackendRole::kPrimary);

  // The idle session lost its backend when node0 stopped; it carries on on node1.
  EXPECT_EQ(old_session->Query("INSERT INTO f VALUES (3) RETURNING inet_server_port()"), p1);
  auto fresh = Connect(px->port, "postgres", c2.superPassword());
  ASSERT_TRUE(fresh->ok()) << fresh->error();
  EXPECT_EQ(fresh->Query("INSERT INTO f VALUES (2) RETURNING inet_server_port()"), p1);
  EXPECT_EQ(fresh->Query("SELECT count(*) FROM f"), "3");
  auto rows = px->server->PoolNodes();
  EXPECT_EQ(rows[1].role, "primary");
  EXPECT_EQ(rows[0].status, "down");
}

TEST(ProxyFailoverTest, PlannedSwitchoverKeepsIdleSessionsAndEndsThoseWithState) {
  auto cluster = TwoNodes();
  ASSERT_TRUE(cluster);
  auto& c2 = *cluster;
  ProxyOptions po;
  po.pauseLimit = std::chrono::seconds(30);
  auto px = StartProxy(po, &c2);
  ASSERT_TRUE(px);
  ASSERT_TRUE(px->server->SetRouting(Table(c2, 1, "node0")).ok());
  std::string p0 = std::to_string(c2.nodes()[0].port), p1 = std::to_string(c2.nodes()[1].port);
  auto connect = [&] {
    auto c = Connect(px->port, "postgres", c2.superPassword());
    EXPECT_TRUE(c->ok()) << c->error();
    return c;
  };
  auto simple = connect();
  EXPECT_EQ(simple->Query("SET pgvigil.tag = 'kept'"), "");
  EXPECT_EQ(simple->Query("INSERT INTO f VALUES (1) RETURNING inet_server_port()"), p0);
  auto prepared = connect();
  EXPECT_EQ(prepared->Query("SET statement_timeout = '12345ms'"), "");
  PGresult* pr = PQprepare(prepared->c, "ins", "INSERT INTO f VALUES ($1) RETURNING inet_server_port()", 1, nullptr);
  ASSERT_EQ(ResultValue(prepared->c, pr), "");
  EXPECT_EQ(ExecPrepared(*prepared, "ins", "2"), p0);
  auto in_tx = connect();
  EXPECT_EQ(in_tx->Query("BEGIN"), "");
  EXPECT_EQ(in_tx->Query("INSERT INTO f VALUES (100) RETURNING inet_server_port()"), p0);
  auto temp = connect();
  EXPECT_EQ(temp->Query("CREATE TEMP TABLE scratch (a int)"), "");
  auto listener = connect();
  EXPECT_EQ(listener->Query("LISTEN wake"), "");
  EXPECT_EQ(px->server->SessionsInTransaction(), 1);

  // The switchover, step by step as the controller runs it.
  px->server->PauseNewTransactions();
  // A write sent now waits for the pause (the client sees a delay).
  ASSERT_EQ(PQsendQuery(simple->c, "INSERT INTO f VALUES (3) RETURNING inet_server_port()::text || ':' || "
                                   "current_setting('pgvigil.tag')"),
            1);
  ASSERT_TRUE(px->server->SetRouting(Table(c2, 2, "")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(PQconsumeInput(simple->c), 1);
  EXPECT_EQ(PQisBusy(simple->c), 1) << "the write was not held by the pause";
  ASSERT_TRUE(c2.StopNode(0, "fast").ok());
  std::string rows_on_old = "2";  // 1 and 2; not the open transaction's
  ASSERT_TRUE(c2.PromoteNode(1).ok());
  px->SetHealth(0, false, BackendRole::kUnknown);
  px->SetHealth(1, true, BackendRole::kPrimary);
  ASSERT_TRUE(px->server->SetRouting(Table(c2, 3, "node1")).ok());
  px->server->ResumeNewTransactions();

  // The held write completed on the new primary, with the session's SET.
  std::string held;
  for (PGresult* r; (r = PQgetResult(simple->c));) {
    std::string v = ResultValue(simple->c, r);
    if (held.empty()) held = v;
  }
  EXPECT_EQ(held, p1 + ":kept");
  EXPECT_EQ(ExecPrepared(*prepared, "ins", "4"), p1);
  EXPECT_EQ(prepared->Query("SHOW statement_timeout"), "12345ms");
  std::string r = in_tx->Query("SELECT 1");
  EXPECT_NE(r.find("57P01"), std::string::npos) << r;
  EXPECT_NE(r.find("in a transaction"), std::string::npos) << r;
  r = temp->Query("SELECT count(*) FROM scratch");
  EXPECT_NE(r.find("57P01"), std::string::npos) << r;
  EXPECT_NE(r.find("temporary table"), std::string::npos) << r;
  r = listener->Query("SELECT 1");
  EXPECT_NE(r.find("57P01"), std::string::npos) << r;
  EXPECT_NE(r.find("LISTEN"), std::string::npos) << r;
  EXPECT_EQ(px->server->SessionsInTransaction(), 0);
  EXPECT_EQ(c2.Query(1, "SELECT count(*) FROM f").value(), "4");

  // The old primary comes back writable (nobody made it follow): routing names
  // node1, so nothing written through the proxy may reach node0.
  ASSERT_TRUE(c2.StartNode(0).ok());
  px->SetHealth(0, true, BackendRole::kPrimary);
  EXPECT_EQ(simple->Query("INSERT INTO f VALUES (5) RETURNING inet_server_port()"), p1);
  EXPECT_EQ(ExecPrepared(*prepared, "ins", "6"), p1);
  EXPECT_EQ(connect()->Query("INSERT INTO f VALUES (7) RETURNING inet_server_port()"), p1);
  EXPECT_EQ(c2.Query(0, "SELECT count(*) FROM f").value(), rows_on_old);
  EXPECT_EQ(c2.Query(1, "SELECT count(*) FROM f").value(), "7");
  EXPECT_GE(px->ctx.metrics->Value("pgvigil_proxy_sessions_moved_total"), 2);
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
