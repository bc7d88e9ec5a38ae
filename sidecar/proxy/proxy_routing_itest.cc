// Integration: routing through the proxy against real PostgreSQL 15 (node0
// primary, node1/node2 standbys), with libpq, psql and pgbench as clients.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

std::string P(int i) { return std::to_string(NodePort(i)); }

TEST(ProxyRoutingTest, ReadsLandOnStandbysWritesOnPrimary) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  std::set<std::string> read_ports;
  for (int i = 0; i < 24; ++i) {
    auto c = Connect(px->port);
    ASSERT_TRUE(c->ok()) << c->error();
    read_ports.insert(c->Query("SELECT inet_server_port()"));
  }
  EXPECT_EQ(read_ports, (std::set<std::string>{P(1), P(2)}));
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok());
  EXPECT_EQ(c->Query("INSERT INTO kv VALUES (1, 'a') ON CONFLICT (k) DO UPDATE SET v = 'a' RETURNING inet_server_port()"),
            P(0));
  EXPECT_EQ(c->Query("SELECT inet_server_port() FROM kv FOR UPDATE"), P(0));
  EXPECT_EQ(c->Query("SELECT nextval('pg_catalog.pg_class_oid_seq'::regclass) IS NULL, inet_server_port()").substr(0, 5),
            "ERROR");  // no such sequence; what matters is it ran on the primary (no read-only error)
  EXPECT_EQ(c->Query("/*NO LOAD BALANCE*/ SELECT inet_server_port()"), P(0));
  // A SET made before the session's standby joined is replayed there.
  auto s = Connect(px->port);
  EXPECT_EQ(s->Query("SET application_name = 'early'"), "");
  std::string port = s->Query("SELECT inet_server_port()");
  EXPECT_TRUE(port == P(1) || port == P(2)) << port;
  EXPECT_EQ(s->Query("SELECT current_setting('application_name')"), "early");
}

TEST(ProxyRoutingTest, TransactionThatWroteStaysOnPrimary) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  EXPECT_EQ(c->Query("BEGIN"), "");
  std::string before = c->Query("SELECT inet_server_port()");
  EXPECT_TRUE(before == P(1) || before == P(2)) << before;
  EXPECT_EQ(c->Query("UPDATE kv SET v = 'b' WHERE k = 1"), "");
  EXPECT_EQ(c->Query("SELECT inet_server_port()"), P(0));
  EXPECT_EQ(c->Query("SELECT v FROM kv WHERE k = 1"), "b");  // sees its own write
  EXPECT_EQ(c->Query("COMMIT"), "");
  px->CatchUp();  // read-your-writes: a standby serves the session once it replayed the commit
  std::string after = c->Query("SELECT inet_server_port()");
  EXPECT_TRUE(after == P(1) || after == P(2)) << after;
  // SET reaches every backend the session uses.
  EXPECT_EQ(c->Query("SET application_name = 'probe'"), "");
  EXPECT_EQ(c->Query("SHOW application_name"), "probe");
  EXPECT_EQ(c->Query("SELECT current_setting('application_name')"), "probe");
  // A temp table pins the session to the primary.
  EXPECT_EQ(c->Query("CREATE TEMP TABLE t1 (a int)"), "");
  EXPECT_EQ(c->Query("SELECT count(*) FROM t1"), "0");
}

TEST(ProxyRoutingTest, ShowPoolNodesThroughPsql) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Connect(px->port)->Query("SELECT 1") == "1");
  auto r = Psql(px->port, {"-c", "show pool_nodes"});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("node_id | hostname  | port"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("select_cnt"), std::string::npos);
  EXPECT_NE(r.output.find("(3 rows)"), std::string::npos) << r.output;
  auto rows = px->server->PoolNodes();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].role, "primary");
  EXPECT_EQ(rows[1].role, "standby");
  EXPECT_EQ(rows[0].selectCnt, "0");
  EXPECT_EQ(std::stoi(rows[1].selectCnt) + std::stoi(rows[2].selectCnt), 6);
  auto v = Psql(px->port, {"-Atc", "PGPOOL SHOW pool_version"});
  EXPECT_EQ(v.exitCode, 0);
  EXPECT_NE(v.output.find("pgvigil"), std::string::npos) << v.output;
}

TEST(ProxyRoutingTest, PgbenchSimpleExtendedPreparedAndReconnect) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto init = Pgbench(px->port, {"-i", "-s", "1", "-q"});  // COPY FROM through the proxy
  ASSERT_EQ(init.exitCode, 0) << init.output;
  ASSERT_TRUE(Cluster().WaitStreaming(0, 2).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // standbys replay the load
  for (const char* mode : {"simple", "extended", "prepared"}) {
    auto r = Pgbench(px->port, {"-n", "-S", "-M", mode, "-c", "4", "-j", "2", "-t", "200"});
    EXPECT_EQ(r.exitCode, 0) << mode << ": " << r.output;
    EXPECT_NE(r.output.find("number of failed transactions: 0"), std::string::npos) << r.output;
  }
  auto tpcb = Pgbench(px->port, {"-n", "-M", "prepared", "-c", "4", "-j", "2", "-t", "100"});
  EXPECT_EQ(tpcb.exitCode, 0) << tpcb.output;
  auto reconnect = Pgbench(px->port, {"-n", "-S", "-C", "-c", "4", "-j", "2", "-t", "100"});
  EXPECT_EQ(reconnect.exitCode, 0) << reconnect.output;
  auto rows = px->server->PoolNodes();
  EXPECT_GT(std::stoull(rows[1].selectCnt), 0u);
  EXPECT_GT(std::stoull(rows[2].selectCnt), 0u);
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM pgbench_history").value(), "400");
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
