// Integration: routing through the proxy against real PostgreSQL 15 (node0
// primary, node1/node2 standbys), with libpq, psql and pgbench as clients.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

#include "common/metrics.h"
#include "sidecar/agent/health_checker.h"
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

// A transaction's BEGIN goes to the primary alone; the session's standby gets
// it (with the client's options) only right before the first statement of the
// transaction that runs there. A transaction that writes first never opens
// one: the standby stays idle, not "idle in transaction".
TEST(ProxyRoutingTest, StandbyTransactionOpensAtItsFirstStatementThere) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  auto c = Connect(px->port, "postgres", "", "sslmode=disable application_name=lazy-begin");
  ASSERT_TRUE(c->ok()) << c->error();
  const std::string port = c->Query("SELECT inet_server_port()");  // the session's standby
  ASSERT_TRUE(port == P(1) || port == P(2)) << port;
  const int standby = port == P(1) ? 1 : 2;
  auto standby_state = [&] {
    auto r = Cluster().Query(standby, "SELECT coalesce(string_agg(state, ','), 'none') FROM pg_stat_activity "
                                      "WHERE application_name = 'lazy-begin'");
    return r.ok() ? *r : "query failed: " + r.error();
  };
  // Writes first (pgbench's tpcb-like): nothing of the transaction on the standby.
  EXPECT_EQ(c->Query("INSERT INTO kv VALUES (1, 'a') ON CONFLICT (k) DO NOTHING"), "");
  px->CatchUp();  // read-your-writes: the standby has the session's write
  EXPECT_EQ(c->Query("BEGIN"), "");
  EXPECT_EQ(standby_state(), "idle");
  EXPECT_EQ(c->Query("UPDATE kv SET v = 'lazy' WHERE k = 1 RETURNING inet_server_port()"), P(0));
  EXPECT_EQ(c->Query("SELECT inet_server_port()"), P(0));
  EXPECT_EQ(standby_state(), "idle");
  EXPECT_EQ(c->Query("END"), "");
  EXPECT_EQ(c->Query("SELECT inet_server_port()"), P(0));  // read-your-writes: not on a standby yet
  px->CatchUp();
  // Reads first: the standby's transaction opens with the first read, with the client's options.
  EXPECT_EQ(c->Query("BEGIN ISOLATION LEVEL REPEATABLE READ"), "");
  EXPECT_EQ(standby_state(), "idle");
  EXPECT_EQ(c->Query("SELECT inet_server_port() || ' ' || current_setting('transaction_isolation')"),
            port + " repeatable read");
  EXPECT_EQ(standby_state(), "idle in transaction");
  EXPECT_EQ(c->Query("SELECT inet_server_port()"), port);
  EXPECT_EQ(c->Query("COMMIT"), "");
  EXPECT_EQ(standby_state(), "idle");
  // The extended protocol: a prepared BEGIN (Bind of a named statement), twice.
  ASSERT_EQ(Prepare(c->c, "lazy_begin", "BEGIN ISOLATION LEVEL REPEATABLE READ"), "");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(ResultValue(c->c, PQexecPrepared(c->c, "lazy_begin", 0, nullptr, nullptr, nullptr, 0)), "");
    EXPECT_EQ(standby_state(), "idle");
    const char* read = "SELECT inet_server_port() || ' ' || current_setting('transaction_isolation')";
    EXPECT_EQ(ResultValue(c->c, PQexecParams(c->c, read, 0, nullptr, nullptr, nullptr, nullptr, 0)),
              port + " repeatable read");
    EXPECT_EQ(c->Query("ROLLBACK"), "");
  }
  // A SET LOCAL before the first read opens the standby's part with it.
  EXPECT_EQ(c->Query("BEGIN"), "");
  EXPECT_EQ(c->Query("SET LOCAL search_path = lazy_nowhere"), "");
  EXPECT_EQ(standby_state(), "idle in transaction");
  EXPECT_EQ(c->Query("SELECT inet_server_port() || ' ' || current_setting('search_path')"), port + " lazy_nowhere");
  EXPECT_EQ(c->Query("COMMIT"), "");
  // A session SET inside the transaction is rolled back on the standby too.
  EXPECT_EQ(c->Query("BEGIN"), "");
  EXPECT_EQ(c->Query("SET statement_timeout = '123s'"), "");
  EXPECT_EQ(c->Query("SELECT inet_server_port() || ' ' || current_setting('statement_timeout')"), port + " 123s");
  EXPECT_EQ(c->Query("ROLLBACK"), "");
  EXPECT_EQ(c->Query("SELECT inet_server_port() || ' ' || current_setting('statement_timeout')"), port + " 0");
  EXPECT_EQ(standby_state(), "idle");
}

// Read-your-writes asks the primary for the commit LSN at the end of a write
// only for a session that read on a standby since its last write; any other
// session is asked only before a read that could use a standby. A session
// that only writes never runs the query (its primary backend's last statement
// is its own); one that wrote once and then runs only read-only transactions
// gets its LSN with the first read of them and goes back to the standbys.
TEST(ProxyRoutingTest, CommitLsnAskedOnlyBeforeAReadThatCouldUseAStandby) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  auto last_on_primary = [](const std::string& app) {
    // What the proxy may still send after the client has its answer has run by then.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto r = Cluster().Query(0, "SELECT coalesce(string_agg(query, ','), 'none') FROM pg_stat_activity "
                                "WHERE application_name = '" + app + "'");
    return r.ok() ? *r : "query failed: " + r.error();
  };
  auto back_on_a_standby = [&](Conn* c, bool in_transaction) {
    std::string port;
    for (int i = 0; i < 50 && port != P(1) && port != P(2); ++i) {
      if (in_transaction) {
        EXPECT_EQ(c->Query("BEGIN"), "");
      }
      port = c->Query("SELECT inet_server_port()");
      if (in_transaction) {
        EXPECT_EQ(c->Query("COMMIT"), "");
      }
      if (port == P(0)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        px->FeedLsns();
      }
    }
    return port == P(1) || port == P(2);
  };
  auto c = Connect(px->port, "postgres", "", "sslmode=disable application_name=lazy-lsn");
  ASSERT_TRUE(c->ok()) << c->error();
  const std::string write = "INSERT INTO kv VALUES (7, 'w') ON CONFLICT (k) DO UPDATE SET v = 'w'";
  EXPECT_EQ(c->Query(write), "");
  EXPECT_EQ(last_on_primary("lazy-lsn"), write);
  EXPECT_EQ(c->Query("BEGIN"), "");
  EXPECT_EQ(c->Query("UPDATE kv SET v = 'x' WHERE k = 7"), "");
  EXPECT_EQ(c->Query("SELECT v FROM kv WHERE k = 7"), "x");
  EXPECT_EQ(c->Query("END"), "");
  EXPECT_EQ(last_on_primary("lazy-lsn"), "END");
  px->CatchUp();  // the standbys have replayed the writes; the session's floor is not known yet
  // Read-only transactions: the first one's read goes to the primary and asks.
  EXPECT_EQ(c->Query("BEGIN"), "");
  EXPECT_EQ(c->Query("SELECT v || ' ' || inet_server_port() FROM kv WHERE k = 7"), "x " + P(0));
  EXPECT_NE(last_on_primary("lazy-lsn").find("pg_current_wal_insert_lsn"), std::string::npos);
  EXPECT_EQ(c->Query("COMMIT"), "");
  px->CatchUp();
  EXPECT_TRUE(back_on_a_standby(c.get(), true));
  // Now a session that reads on a standby: a write's LSN is asked for right behind it.
  EXPECT_EQ(c->Query(write), "");
  EXPECT_NE(last_on_primary("lazy-lsn").find("pg_current_wal_insert_lsn"), std::string::npos);
  // The extended protocol: the read after a write goes to the primary, the
  // query is sent behind its Sync.
  auto e = Connect(px->port, "postgres", "", "sslmode=disable application_name=lazy-lsn-extended");
  ASSERT_TRUE(e->ok()) << e->error();
  EXPECT_EQ(e->Query("UPDATE kv SET v = 'e' WHERE k = 7"), "");
  EXPECT_EQ(last_on_primary("lazy-lsn-extended"), "UPDATE kv SET v = 'e' WHERE k = 7");
  EXPECT_EQ(ResultValue(e->c, PQexecParams(e->c, "SELECT v || ' ' || inet_server_port() FROM kv WHERE k = 7", 0,
                                           nullptr, nullptr, nullptr, nullptr, 0)),
            "e " + P(0));
  EXPECT_NE(last_on_primary("lazy-lsn-extended").find("pg_current_wal_insert_lsn"), std::string::npos);
  px->CatchUp();
  EXPECT_TRUE(back_on_a_standby(e.get(), false));
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

// One column of SHOW pool_nodes (psql through the proxy), a value per node,
// read again (up to 15 s) until it is `want`; what was read last.
std::vector<std::string> WaitForPoolNodesColumn(int port, size_t column, const std::vector<std::string>& want) {
  auto read = [&] {
    std::vector<std::string> values;
    auto r = Psql(port, {"-Atc", "SHOW pool_nodes"});
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      std::vector<std::string> cols;
      std::istringstream cells(line);
      for (std::string c; std::getline(cells, c, '|');) cols.push_back(c);
      if (cols.size() == 14) values.push_back(cols[column]);
    }
    return values;
  };
  std::vector<std::string> seen;
  for (int i = 0; i < 150 && seen != want; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = read();
  }
  return seen;
}

// replication_sync_state is what the primary's pg_stat_replication says of
// each standby, as the agent's health checker (the real one, on the proxy's
// health view) reads it: synchronous_standby_names naming node1 shows node1
// "sync" and node2 "async"; FIRST 1 (node2, node1) shows node2 "sync" and
// node1 "potential". The primary's own row shows none.
TEST(ProxyRoutingTest, ShowPoolNodesSyncStateIsThePrimarys) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  struct SyncNamesReset {
    ~SyncNamesReset() {
      (void)Cluster().Query(0, "ALTER SYSTEM RESET synchronous_standby_names");
      (void)Cluster().Query(0, "SELECT pg_reload_conf()");
    }
  } reset;
  ClusterSpec spec = px->ctx.spec;
  spec.healthCheck.period = std::chrono::milliseconds(200);
  HealthChecker checker(spec, "node0", px->ctx.health, std::make_shared<MetricsRegistry>());
  ASSERT_TRUE(checker.Start().ok());
  // node_id -> replication_sync_state, from psql through the proxy.
  auto wait_for = [&](const std::vector<std::string>& want) { return WaitForPoolNodesColumn(px->port, 12, want); };
  ASSERT_TRUE(Cluster().Query(0, "ALTER SYSTEM SET synchronous_standby_names = 'node1'").ok());
  ASSERT_TRUE(Cluster().Query(0, "SELECT pg_reload_conf()").ok());
  EXPECT_EQ(wait_for({"", "sync", "async"}), (std::vector<std::string>{"", "sync", "async"}));
  ASSERT_TRUE(Cluster().Query(0, "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (node2, node1)'").ok());
  ASSERT_TRUE(Cluster().Query(0, "SELECT pg_reload_conf()").ok());
  EXPECT_EQ(wait_for({"", "potential", "sync"}), (std::vector<std::string>{"", "potential", "sync"}));
  // The same through the agent's API rows (GET /v1/proxy/pool_nodes).
  auto rows = px->server->PoolNodes();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].replicationSyncState, "potential");
  EXPECT_EQ(rows[2].replicationSyncState, "sync");
  checker.Stop();
}

// replication_state is the state of each standby's walsender in the primary's
// pg_stat_replication (as the health checker reads it), not "streaming" for
// any standby that is up: with node2's WAL receiver stopped (primary_conninfo
// emptied; it stays up as a standby) the primary lists no walsender for it and
// its row shows none, while node1 shows "streaming". The primary's row: none.
TEST(ProxyRoutingTest, ShowPoolNodesReplicationStateIsThePrimarys) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto conninfo = Cluster().Query(2, "SHOW primary_conninfo");
  ASSERT_TRUE(conninfo.ok());
  std::string quoted = "'";
  for (char c : *conninfo) (quoted += c) += c == '\'' ? "'" : "";
  quoted += "'";
  struct ConninfoBack {
    std::string value;
    ~ConninfoBack() {
      (void)Cluster().Query(2, "ALTER SYSTEM SET primary_conninfo = " + value);
      (void)Cluster().Query(2, "SELECT pg_reload_conf()");
    }
  } back{quoted};
  ClusterSpec spec = px->ctx.spec;
  spec.healthCheck.period = std::chrono::milliseconds(200);
  HealthChecker checker(spec, "node0", px->ctx.health, std::make_shared<MetricsRegistry>());
  ASSERT_TRUE(checker.Start().ok());
  // node_id -> replication_state, from psql through the proxy.
  auto wait_for = [&](const std::vector<std::string>& want) { return WaitForPoolNodesColumn(px->port, 11, want); };
  const std::vector<std::string> both{"", "streaming", "streaming"};
  EXPECT_EQ(wait_for(both), both);
  ASSERT_TRUE(Cluster().Query(2, "ALTER SYSTEM SET primary_conninfo = ''").ok());
  ASSERT_TRUE(Cluster().Query(2, "SELECT pg_reload_conf()").ok());
  const std::vector<std::string> one{"", "streaming", ""};
  EXPECT_EQ(wait_for(one), one);
  auto rows = px->server->PoolNodes();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].replicationState, "");
  EXPECT_EQ(rows[1].replicationState, "streaming");
  EXPECT_EQ(rows[2].replicationState, "");
  // Back: node2 streams again.
  ASSERT_TRUE(Cluster().Query(2, "ALTER SYSTEM SET primary_conninfo = " + quoted).ok());
  ASSERT_TRUE(Cluster().Query(2, "SELECT pg_reload_conf()").ok());
  EXPECT_EQ(wait_for(both), both);
  checker.Stop();
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
