// Integration, transaction pooling (issue 16): proxy.pool.mode transaction on
// a real three-node PostgreSQL 15 cluster with real clients.
//  * psql works; clients share backends between transactions; a transaction
//    keeps its backend;
//  * pgbench -M prepared with 16 clients on a pool of 4 finishes without an
//    error, and the primary never holds more than the pool's backends;
//  * a libpq client's named prepared statements work on a backend that has
//    not seen them (parsed again there under the proxy's name), another
//    client's statement of the same name but other text stays its own, and
//    DEALLOCATE forgets it; a Parse of a statement already parsed for the
//    same login needs no backend, nor does a DEALLOCATE of one or ALL;
//  * session state is refused (0A000) with sessionState refuse, and pins the
//    client to its backend with sessionState pin, unseen by other clients;
//  * a client waits in the FIFO queue while the pool is full and gets 53300
//    when proxy.pool.queueTimeout passes;
//  * SHOW pools / clients / servers show the pools, the waiting and active
//    clients and the backends;
//  * the debug line of a client queueing is written at level debug, not at info;
//  * a client keeps the backend of its last transaction (shown idle) until
//    another client needs it and the pool is full, then that one takes it;
//  * failover (own two-node cluster): the primary stops, the standby is
//    promoted; an idle client's named statement runs on the new primary, a
//    client caught in a transaction is ended, new clients write there.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

std::unique_ptr<ProxyUnderTest> TxProxy(int size, int threads, SessionStatePolicy policy = SessionStatePolicy::kRefuse,
                                        bool balance = false,
                                        std::chrono::milliseconds queue_timeout = std::chrono::seconds(60)) {
  ProxyOptions o;
  o.threads = threads;
  o.adjust = [=](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = size;
    s.proxy.pool.sessionState = policy;
    s.proxy.pool.queueTimeout = queue_timeout;
    s.proxy.loadBalancing.enabled = balance;
  };
  return StartProxy(o);
}

std::string ExecPrepared(PGconn* c, const char* name, const char* arg) {
  const char* params[1] = {arg};
  return ResultValue(c, PQexecPrepared(c, name, 1, params, nullptr, nullptr, 0));
}

// Backends on node 0 carrying application_name `app`.
int BackendsOnPrimary(const std::string& app) {
  auto r = Cluster().Query(0, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "'");
  return r.ok() ? std::stoi(*r) : -1;
}

TEST(ProxyTxPoolTest, PsqlAndSharedBackends) {
  auto px = TxProxy(1, 1);
  ASSERT_TRUE(px);
  auto r = Psql(px->port, {"-Atc", "BEGIN; INSERT INTO kv VALUES (1600, 'tx') ON CONFLICT (k) DO UPDATE SET v = 'tx'; "
                                  "SELECT v FROM kv WHERE k = 1600; COMMIT;"});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("tx"), std::string::npos) << r.output;
  r = Psql(px->port, {"-Atc", "SELECT v FROM kv WHERE k = 1600"});
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_EQ(r.output, "tx\n");
  // Two clients, one backend: both are served by it, one transaction at a time.
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_shared";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && b->ok()) << a->error() << b->error();
  std::string pa = a->Query("SELECT pg_backend_pid()");
  std::string pb = b->Query("SELECT pg_backend_pid()");
  EXPECT_EQ(pa, pb);
  EXPECT_EQ(BackendsOnPrimary("pgvigil_tx_shared"), 1);
  // A transaction keeps its backend to the end.
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("INSERT INTO kv VALUES (1601, 'a') ON CONFLICT (k) DO NOTHING"), "");
  EXPECT_EQ(a->Query("SELECT pg_backend_pid()"), pa);
  EXPECT_EQ(a->Query("SELECT count(*) FROM kv WHERE k = 1601"), "1");
  EXPECT_EQ(a->Query("COMMIT"), "");
}

TEST(ProxyTxPoolTest, PgbenchPreparedWithMoreClientsThanBackends) {
  // Pool of 4 (2 per worker thread), load balancing on: reads go to standbys.
  auto px = TxProxy(4, 2, SessionStatePolicy::kRefuse, true);
  ASSERT_TRUE(px);
  auto init = Pgbench(NodePort(0), {"-i", "-s", "1", "-q"});
  ASSERT_EQ(init.exitCode, 0) << init.output;
  px->CatchUp();
  // -M extended too: unnamed statements, whose Bind, Describe, Execute and
  // Sync follow the Parse's backend without a routed cycle each.
  for (const char* mode : {"prepared", "extended"}) {
    for (const char* script : {"-S", "-N"}) {
      auto r = Pgbench(px->port, {"-n", script, "-M", mode, "-c", "16", "-j", "2", "-t", "100"});
      EXPECT_EQ(r.exitCode, 0) << mode << " " << script << ": " << r.output;
      EXPECT_NE(r.output.find("number of failed transactions: 0"), std::string::npos) << r.output;
      EXPECT_NE(r.output.find("number of transactions actually processed: 1600/1600"), std::string::npos)
          << r.output;
      // pgbench's backends on the primary: at most the pool's.
      EXPECT_LE(BackendsOnPrimary("pgbench"), 4);
    }
  }
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM pgbench_history").value(), "3200");
}

TEST(ProxyTxPoolTest, NamedStatementsFollowTheClientToAnotherBackend) {
  auto px = TxProxy(2, 1);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_prep";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  auto c = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && b->ok() && c->ok());
  ASSERT_EQ(Prepare(a->c, "s1", "SELECT $1::int + 1"), "");
  EXPECT_EQ(ExecPrepared(a->c, "s1", "1"), "2");
  // b holds a backend in a transaction (the pool's second: a's stays with a
  // between its transactions while a slot is free).
  EXPECT_EQ(b->Query("BEGIN"), "");
  std::string held = b->Query("SELECT pg_backend_pid()");
  // a's next transaction runs on the other backend. (Below, c takes over a's
  // backend and then b's, which never saw c's s1: parsed again there.)
  EXPECT_EQ(a->Query("BEGIN"), "");
  std::string other = a->Query("SELECT pg_backend_pid()");
  EXPECT_NE(other, held);
  EXPECT_EQ(ExecPrepared(a->c, "s1", "41"), "42");
  EXPECT_EQ(a->Query("COMMIT"), "");
  // c names its own statement s1 too, with other text: each keeps its own.
  ASSERT_EQ(Prepare(c->c, "s1", "SELECT $1::int * 10"), "");
  EXPECT_EQ(ExecPrepared(c->c, "s1", "5"), "50");
  EXPECT_EQ(b->Query("COMMIT"), "");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ExecPrepared(a->c, "s1", "1"), "2");
    EXPECT_EQ(ExecPrepared(c->c, "s1", "1"), "10");
  }
  // Both backends now hold the statement under the proxy's name.
  auto d = Connect(px->port, "postgres", "", extra);
  auto servers = Table(d->c, "SHOW servers");
  int with = 0;
  for (const auto& s : servers)
    if (s.at("user") == "postgres" && s.at("options") == "application_name=pgvigil_tx_prep" &&
        std::stoi(s.at("prepared")) >= 1)
      with++;
  EXPECT_EQ(with, 2);
  // DEALLOCATE: a forgets s1; c's s1 is untouched.
  EXPECT_EQ(a->Query("DEALLOCATE s1"), "");
  EXPECT_EQ(ExecPrepared(a->c, "s1", "1").rfind("ERROR 26000", 0), 0u);
  EXPECT_EQ(ExecPrepared(c->c, "s1", "2"), "20");
  ASSERT_EQ(Prepare(a->c, "s1", "SELECT $1::int - 1"), "");
  EXPECT_EQ(ExecPrepared(a->c, "s1", "1"), "0");
  EXPECT_EQ(a->Query("DEALLOCATE ALL"), "");
  EXPECT_EQ(ExecPrepared(a->c, "s1", "1").rfind("ERROR 26000", 0), 0u);
}

TEST(ProxyTxPoolTest, ParseOfAKnownStatementNeedsNoBackend) {
  // One backend; its holder keeps a transaction open. A Parse of text already
  // parsed for this login is answered by the proxy (without it the Parse would
  // queue and fail with 53300 after the 3 s queue timeout).
  auto px = TxProxy(1, 1, SessionStatePolicy::kRefuse, false, std::chrono::milliseconds(3000));
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_parse";
  auto a = Connect(px->port, "postgres", "", extra);
  auto holder = Connect(px->port, "postgres", "", extra);
  auto c = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && holder->ok() && c->ok());
  ASSERT_EQ(Prepare(a->c, "triple", "SELECT $1::int * 3"), "");
  EXPECT_EQ(holder->Query("BEGIN"), "");
  EXPECT_EQ(holder->Query("SELECT 1"), "1");
  EXPECT_EQ(Prepare(c->c, "mine", "SELECT $1::int * 3"), "");
  // A statement never parsed for this login still needs a backend: it waits.
  EXPECT_EQ(Prepare(c->c, "other", "SELECT $1::int * 4").rfind("ERROR 53300", 0), 0u);
  EXPECT_EQ(holder->Query("COMMIT"), "");
  EXPECT_EQ(ExecPrepared(c->c, "mine", "3"), "9");
  EXPECT_EQ(ExecPrepared(a->c, "triple", "2"), "6");
  // Nor does a DEALLOCATE of a protocol-level statement or DEALLOCATE ALL
  // (AnswerTxDeallocate, let through by its inline guard on the statement's
  // kind): answered at once while the holder keeps the backend.
  ASSERT_EQ(Prepare(c->c, "mine2", "SELECT $1::int * 4"), "");
  EXPECT_EQ(holder->Query("BEGIN"), "");
  EXPECT_EQ(holder->Query("SELECT 1"), "1");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c->Query("DEALLOCATE mine"), "");
  EXPECT_EQ(c->Query("DEALLOCATE ALL"), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2500));
  EXPECT_EQ(holder->Query("COMMIT"), "");
  EXPECT_EQ(ExecPrepared(c->c, "mine", "1").rfind("ERROR 26000", 0), 0u);
  EXPECT_EQ(ExecPrepared(c->c, "mine2", "1").rfind("ERROR 26000", 0), 0u);
}

TEST(ProxyTxPoolTest, SessionStateRefused) {
  auto px = TxProxy(2, 1, SessionStatePolicy::kRefuse);
  ASSERT_TRUE(px);
  auto a = Connect(px->port);
  ASSERT_TRUE(a->ok());
  for (const char* sql : {"SET work_mem = '7MB'", "LISTEN tx_channel", "CREATE TEMP TABLE tx_tmp (a int)",
                          "SELECT pg_advisory_lock(16)", "PREPARE tx_p AS SELECT 1",
                          "SELECT 1; SET work_mem = '7MB'"}) {
    std::string r = a->Query(sql);
    EXPECT_EQ(r.rfind("ERROR 0A000", 0), 0u) << sql << ": " << r;
    EXPECT_NE(r.find("not allowed in transaction pooling mode"), std::string::npos) << r;
  }
  // Inside a transaction too (SET outlives it); the cursor WITH HOLD likewise.
  // The refusal aborts the transaction, as an error there does on PostgreSQL
  // (proxy_txpool_gaps_itest.cc checks what COMMIT answers then).
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SET work_mem = '7MB'").rfind("ERROR 0A000", 0), 0u);
  EXPECT_EQ(a->Query("ROLLBACK"), "");
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("DECLARE h CURSOR WITH HOLD FOR SELECT 1").rfind("ERROR 0A000", 0), 0u);
  EXPECT_EQ(a->Query("ROLLBACK"), "");
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SET LOCAL work_mem = '7MB'"), "");
  EXPECT_EQ(a->Query("SHOW work_mem"), "7MB");
  EXPECT_EQ(a->Query("COMMIT"), "");
  // The extended protocol: the Parse is refused.
  PGresult* r = PQexecParams(a->c, "SET work_mem = '7MB'", 0, nullptr, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(ResultValue(a->c, r).rfind("ERROR 0A000", 0), 0u);
  // Nothing leaked, and the client goes on.
  EXPECT_EQ(a->Query("SHOW work_mem"), "4MB");
  EXPECT_EQ(a->Query("SELECT pg_my_temp_schema()::int"), "0");
  EXPECT_EQ(a->Query("SELECT 7"), "7");
}

TEST(ProxyTxPoolTest, SessionStatePinsTheClient) {
  auto px = TxProxy(2, 1, SessionStatePolicy::kPin);
  ASSERT_TRUE(px);
  auto a = Connect(px->port, "postgres", "", "sslmode=disable application_name=pgvigil_tx_pin");
  auto b = Connect(px->port, "postgres", "", "sslmode=disable application_name=pgvigil_tx_pin");
  ASSERT_TRUE(a->ok() && b->ok());
  EXPECT_EQ(a->Query("SET work_mem = '7MB'"), "");
  std::string pid = a->Query("SELECT pg_backend_pid()");
  EXPECT_EQ(a->Query("CREATE TEMP TABLE tx_pinned (a int)"), "");
  EXPECT_EQ(a->Query("INSERT INTO tx_pinned VALUES (5)"), "");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b->Query("SHOW work_mem"), "4MB");  // b never gets a's backend
    EXPECT_NE(b->Query("SELECT pg_backend_pid()"), pid);
    EXPECT_EQ(a->Query("SHOW work_mem"), "7MB");
    EXPECT_EQ(a->Query("SELECT pg_backend_pid()"), pid);
    EXPECT_EQ(a->Query("SELECT a FROM tx_pinned"), "5");
  }
  auto clients = Table(b->c, "SHOW clients");
  int pinned = 0;
  for (const auto& c : clients)
    if (c.count("pinned") && c.at("pinned").rfind("SET", 0) == 0) pinned++;
  EXPECT_EQ(pinned, 1);
  // When a pinned client leaves, its backend is closed, never shared.
  a.reset();
  for (int i = 0; i < 100 && std::to_string(BackendsOnPrimary("pgvigil_tx_pin")) != "1"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(BackendsOnPrimary("pgvigil_tx_pin"), 1);
  auto gone = Cluster().Query(0, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid);
  EXPECT_EQ(gone.value(), "0");
}

TEST(ProxyTxPoolTest, QueueShowCommandsAndTimeout) {
  auto px = TxProxy(1, 1, SessionStatePolicy::kRefuse, false, std::chrono::milliseconds(3000));
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_queue";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  auto admin = Connect(px->port, "postgres", "", "sslmode=disable application_name=pgvigil_tx_admin");
  ASSERT_TRUE(a->ok() && b->ok() && admin->ok());
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SELECT 1"), "1");
  // b waits for the one backend (in another thread: its call blocks).
  auto waiting = std::async(std::launch::async, [&] { return b->Query("SELECT 'b ran'"); });
  Rows pools;
  for (int i = 0; i < 100; ++i) {
    pools = Table(admin->c, "SHOW pools");
    bool seen = false;
    for (const auto& p : pools)
      if (p.count("options") && p.at("options") == "application_name=pgvigil_tx_queue" && p.at("cl_waiting") == "1")
        seen = true;
    if (seen) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  bool found = false;
  for (const auto& p : pools) {
    if (!p.count("options") || p.at("options") != "application_name=pgvigil_tx_queue") continue;
    found = true;
    EXPECT_EQ(p.at("database"), "postgres");
    EXPECT_EQ(p.at("user"), "postgres");
    EXPECT_EQ(p.at("node"), Cluster().nodes()[0].name);
    EXPECT_EQ(p.at("pool_mode"), "transaction");
    EXPECT_EQ(p.at("pool_size"), "1");
    EXPECT_EQ(p.at("cl_active"), "1");
    EXPECT_EQ(p.at("cl_waiting"), "1");
    EXPECT_EQ(p.at("sv_active"), "1");
    EXPECT_EQ(p.at("sv_idle"), "0");
  }
  EXPECT_TRUE(found) << "no pool row for pgvigil_tx_queue";
  auto clients = Table(admin->c, "SHOW clients");
  int active = 0, queued = 0;
  for (const auto& c : clients) {
    if (!c.count("state")) continue;
    if (c.at("state") == "active" && c.at("tx_status") == "T") active++;
    if (c.at("state") == "waiting" && c.at("waiting_for") == Cluster().nodes()[0].name) queued++;
  }
  EXPECT_EQ(active, 1);
  EXPECT_EQ(queued, 1);
  auto servers = Table(admin->c, "SHOW servers");
  int in_use = 0;
  for (const auto& s : servers)
    if (s.count("state") && s.at("state") == "active" && s.at("options") == "application_name=pgvigil_tx_queue") {
      in_use++;
      EXPECT_EQ(s.at("client"), "127.0.0.1");
      EXPECT_EQ(s.at("port"), std::to_string(NodePort(0)));
      EXPECT_NE(s.at("pid"), "0");
    }
  EXPECT_EQ(in_use, 1);
  // a keeps its transaction open past the queue timeout: b gets 53300 and goes on.
  std::string got = waiting.get();
  EXPECT_EQ(got.rfind("ERROR 53300", 0), 0u) << got;
  EXPECT_NE(got.find("proxy.pool.queueTimeout"), std::string::npos) << got;
  EXPECT_EQ(a->Query("COMMIT"), "");
  EXPECT_EQ(b->Query("SELECT 'b ran'"), "b ran");
  // Released when a commits: a waiting client runs then.
  EXPECT_EQ(a->Query("BEGIN"), "");
  auto later = std::async(std::launch::async, [&] { return b->Query("SELECT 'b later'"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(a->Query("COMMIT"), "");
  EXPECT_EQ(later.get(), "b later");
  // b waits again a second later: the queue timer of its last wait is still
  // set (for that wait's deadline, the earlier); this wait times out after its
  // own queueTimeout all the same, not when that timer expires.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(a->Query("BEGIN"), "");
  auto t0 = std::chrono::steady_clock::now();
  std::string again = b->Query("SELECT 'b again'");
  auto waited_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(again.rfind("ERROR 53300", 0), 0u) << again;
  EXPECT_GE(waited_ms, 3000);
  EXPECT_EQ(a->Query("COMMIT"), "");
  EXPECT_EQ(b->Query("SELECT 'b after'"), "b after");
}

// WaitForPool asks the logger's level before its debug line (to spare the
// call on every queued transaction): the line is still written at debug, and
// not at info. (The proxy runs in this process: the test's logger is its.)
TEST(ProxyTxPoolTest, QueueingIsLoggedAtDebugOnly) {
  // Kept to the end of the process: proxy threads may still hold the raw pointer.
  static auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096);
  static auto logger = std::make_shared<spdlog::logger>("txpool-queue-test", sink);
  std::shared_ptr<spdlog::logger> old = spdlog::default_logger();
  const std::string line = "queues for a backend of node " + Cluster().nodes()[0].name + " (transaction pool full)";
  auto queued_lines = [&] {
    int n = 0;
    for (const auto& l : sink->last_formatted())
      if (l.find(line) != std::string::npos) n++;
    return n;
  };
  for (auto level : {spdlog::level::info, spdlog::level::debug}) {
    SCOPED_TRACE(spdlog::level::to_string_view(level).data());
    logger->set_level(level);
    spdlog::set_default_logger(logger);
    const int before = queued_lines();
    {
      auto px = TxProxy(1, 1);
      ASSERT_TRUE(px);
      const std::string extra = "sslmode=disable application_name=pgvigil_tx_queue_log";
      auto a = Connect(px->port, "postgres", "", extra);
      auto b = Connect(px->port, "postgres", "", extra);
      ASSERT_TRUE(a->ok() && b->ok());
      EXPECT_EQ(a->Query("BEGIN"), "");
      EXPECT_EQ(a->Query("SELECT 1"), "1");
      auto waiting = std::async(std::launch::async, [&] { return b->Query("SELECT 'b ran'"); });
      // b is queued once SHOW clients shows it waiting.
      auto admin = Connect(px->port, "postgres", "", "sslmode=disable application_name=pgvigil_tx_admin");
      bool seen = false;
      for (int i = 0; i < 200 && !seen; ++i) {
        for (const auto& c : Table(admin->c, "SHOW clients"))
          if (c.count("state") && c.at("state") == "waiting") seen = true;
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      EXPECT_TRUE(seen) << "b never queued";
      EXPECT_EQ(a->Query("COMMIT"), "");
      EXPECT_EQ(waiting.get(), "b ran");
    }
    spdlog::set_default_logger(old);
    EXPECT_EQ(queued_lines() - before, level == spdlog::level::debug ? 1 : 0);
  }
}

// Sticky backends: a client keeps the backend of its last transaction while
// no other client needs it, shown idle; a client that needs one when none is
// idle and the pool is full takes over the one lent longest.
TEST(ProxyTxPoolTest, BackendsStayWithTheirClientUntilNeeded) {
  auto px = TxProxy(2, 1);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_sticky";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  auto admin = Connect(px->port, "postgres", "", "sslmode=disable application_name=pgvigil_tx_sticky_admin");
  ASSERT_TRUE(a->ok() && b->ok() && admin->ok());
  std::string pa = a->Query("SELECT pg_backend_pid()");
  std::string pb = b->Query("SELECT pg_backend_pid()");
  EXPECT_NE(pa, pb);  // before: b took a's backend, idle in the pool
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a->Query("SELECT pg_backend_pid()"), pa);
    EXPECT_EQ(b->Query("BEGIN"), "");
    EXPECT_EQ(b->Query("SELECT pg_backend_pid()"), pb);
    EXPECT_EQ(b->Query("COMMIT"), "");
  }
  auto mine = [](const std::map<std::string, std::string>& row) {
    return row.count("options") && row.at("options") == "application_name=pgvigil_tx_sticky";
  };
  // Between transactions both backends count as idle, held by nobody.
  int rows = 0;
  for (const auto& p : Table(admin->c, "SHOW pools")) {
    if (!mine(p)) continue;
    rows++;
    EXPECT_EQ(p.at("cl_active"), "0");
    EXPECT_EQ(p.at("cl_waiting"), "0");
    EXPECT_EQ(p.at("sv_active"), "0");
    EXPECT_EQ(p.at("sv_idle"), "2");
  }
  EXPECT_EQ(rows, 1);
  int idle = 0;
  for (const auto& s : Table(admin->c, "SHOW servers")) {
    if (!mine(s)) continue;
    EXPECT_EQ(s.at("state"), "idle");
    EXPECT_EQ(s.at("client"), "");
    idle++;
  }
  EXPECT_EQ(idle, 2);
  int idle_clients = 0;
  for (const auto& c : Table(admin->c, "SHOW clients"))
    if (c.count("state") && c.at("state") == "idle" && c.at("backends").empty()) idle_clients++;
  EXPECT_GE(idle_clients, 2);
  // In a transaction the backend is active and the client's.
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SELECT pg_backend_pid()"), pa);
  for (const auto& p : Table(admin->c, "SHOW pools")) {
    if (!mine(p)) continue;
    EXPECT_EQ(p.at("cl_active"), "1");
    EXPECT_EQ(p.at("sv_active"), "1");
    EXPECT_EQ(p.at("sv_idle"), "1");
  }
  EXPECT_EQ(a->Query("COMMIT"), "");
  // A third client: the pool is full, nothing idle in it but lent: it takes
  // over the backend lent longest (b's), and b then a's, and so on; everyone
  // is served, on the pool's two backends only.
  auto c = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(c->ok());
  EXPECT_EQ(c->Query("SELECT pg_backend_pid()"), pb);
  for (int i = 0; i < 5; ++i)
    for (auto* x : {&a, &b, &c}) {
      std::string pid = (*x)->Query("SELECT pg_backend_pid()");
      EXPECT_TRUE(pid == pa || pid == pb) << pid;
    }
  EXPECT_EQ(BackendsOnPrimary("pgvigil_tx_sticky"), 2);
}

TEST(ProxyTxPoolTest, FailoverMovesIdleClientsWithTheirStatements) {
  testing::PgTestCluster::Options co;
  co.nodes = 2;
  auto made = testing::PgTestCluster::Create(co);
  ASSERT_TRUE(made.ok()) << made.error();
  auto& c2 = **made;
  ASSERT_TRUE(c2.Query(0, "CREATE TABLE f (a int)").ok());
  ASSERT_TRUE(c2.WaitStreaming(0, 1).ok());
  ProxyOptions o;
  o.threads = 1;
  o.adjust = [](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = 2;
  };
  auto px = StartProxy(o, &c2);
  ASSERT_TRUE(px);
  std::string p0 = std::to_string(c2.nodes()[0].port), p1 = std::to_string(c2.nodes()[1].port);
  auto idle = Connect(px->port, "postgres", c2.superPassword());
  auto in_tx = Connect(px->port, "postgres", c2.superPassword());
  ASSERT_TRUE(idle->ok() && in_tx->ok());
  ASSERT_EQ(Prepare(idle->c, "ins", "INSERT INTO f VALUES ($1) RETURNING inet_server_port()"), "");
  EXPECT_EQ(ExecPrepared(idle->c, "ins", "1"), p0);
  EXPECT_EQ(in_tx->Query("BEGIN"), "");
  EXPECT_EQ(in_tx->Query("INSERT INTO f VALUES (2)"), "");

  ASSERT_TRUE(c2.StopNode(0).ok());
  ASSERT_TRUE(c2.PromoteNode(1).ok());
  px->SetHealth(0, false, BackendRole::kUnknown);
  px->SetHealth(1, true, BackendRole::kPrimary);

  EXPECT_EQ(ExecPrepared(idle->c, "ins", "3"), p1);
  EXPECT_EQ(in_tx->Query("INSERT INTO f VALUES (4)").rfind("ERROR", 0), 0u);
  auto fresh = Connect(px->port, "postgres", c2.superPassword());
  ASSERT_TRUE(fresh->ok()) << fresh->error();
  EXPECT_EQ(fresh->Query("INSERT INTO f VALUES (5) RETURNING inet_server_port()"), p1);
  EXPECT_EQ(fresh->Query("SELECT string_agg(a::text, ',' ORDER BY a) FROM f"), "1,3,5");
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
