// Integration, issue 15 cause 5: pooled backends are as good as fresh ones.
//  * the idle pool has a global cap (proxy.pool.maxIdle): after many clients,
//    the idle backends the proxy keeps on the primary never exceed it;
//  * idle backends close after proxy.pool.idleTimeout;
//  * a backend whose session created a temporary table is never handed to
//    another client (DISCARD ALL drops the table but keeps the temp schema, and
//    a transaction there could not be PREPAREd); a clean one is reused.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

// Backends on node 0 carrying application_name `app`.
int BackendsOnPrimary(const std::string& app) {
  auto r = Cluster().Query(0, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "'");
  return r.ok() ? std::stoi(*r) : -1;
}

std::unique_ptr<ProxyUnderTest> PoolProxy(int max_idle, std::chrono::milliseconds timeout, bool balance,
                                          int threads = 2) {
  ProxyOptions o;
  o.threads = threads;
  o.adjust = [=](ClusterSpec& s) {
    s.proxy.pool.maxIdle = max_idle;
    s.proxy.pool.idleTimeout = timeout;
    s.proxy.loadBalancing.enabled = balance;
  };
  return StartProxy(o);
}

// Waits up to 5 s for `pred`.
template <typename F>
bool Eventually(F pred) {
  for (int i = 0; i < 100; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

TEST(ProxyPoolTest, IdlePoolIsCappedAndTimesOut) {
  auto px = PoolProxy(3, std::chrono::milliseconds(1500), true);
  ASSERT_TRUE(px);
  const std::string app = "pgvigil_pool_cap";
  // 12 clients at once, each with a backend on the primary, then all leave.
  std::vector<std::unique_ptr<Conn>> clients;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(Connect(px->port, "postgres", "", "sslmode=disable application_name=" + app));
    ASSERT_TRUE(clients.back()->ok()) << clients.back()->error();
    EXPECT_EQ(clients.back()->Query("INSERT INTO kv VALUES (" + std::to_string(800 + i) +
                                    ", 'c') ON CONFLICT (k) DO NOTHING"),
              "");
  }
  EXPECT_EQ(BackendsOnPrimary(app), 12);
  clients.clear();
  EXPECT_TRUE(Eventually([&] { return BackendsOnPrimary(app) == 3; })) << BackendsOnPrimary(app);
  // Another round of short sessions never grows it past the cap.
  for (int i = 0; i < 10; ++i) {
    {
      auto c = Connect(px->port, "postgres", "", "sslmode=disable application_name=" + app);
      ASSERT_TRUE(c->ok());
      EXPECT_EQ(c->Query("INSERT INTO kv VALUES (850, 'c') ON CONFLICT (k) DO NOTHING"), "");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // its backend reset and pooled
    EXPECT_LE(BackendsOnPrimary(app), 3);
  }
  // Idle longer than the timeout: closed.
  EXPECT_TRUE(Eventually([&] { return BackendsOnPrimary(app) == 0; })) << BackendsOnPrimary(app);
}

TEST(ProxyPoolTest, BackendWithTempSchemaIsNeverReused) {
  // One worker: one pool, so a clean backend is certainly handed on.
  auto px = PoolProxy(10, std::chrono::milliseconds(60000), false, 1);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_pool_temp";
  // A clean backend is reused by the next client (so the check below means something).
  std::string clean_pid;
  {
    auto a = Connect(px->port, "postgres", "", extra);
    ASSERT_TRUE(a->ok());
    clean_pid = a->Query("SELECT pg_backend_pid()");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string temp_pid;
  {
    auto b = Connect(px->port, "postgres", "", extra);
    ASSERT_TRUE(b->ok());
    EXPECT_EQ(b->Query("SELECT pg_backend_pid()"), clean_pid);
    EXPECT_EQ(b->Query("CREATE TEMP TABLE pool_secret (a int)"), "");
    EXPECT_EQ(b->Query("INSERT INTO pool_secret VALUES (42)"), "");
    temp_pid = b->Query("SELECT pg_backend_pid()");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 3; ++i) {
    auto c = Connect(px->port, "postgres", "", extra);
    ASSERT_TRUE(c->ok());
    EXPECT_NE(c->Query("SELECT pg_backend_pid()"), temp_pid);
    EXPECT_EQ(c->Query("SELECT pg_my_temp_schema()::int"), "0");
    EXPECT_EQ(c->Query("SELECT count(*) FROM pg_class WHERE relname = 'pool_secret'"), "0");
  }
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
