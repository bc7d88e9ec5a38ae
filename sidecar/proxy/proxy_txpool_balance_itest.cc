// Integration, transaction pooling with reads balanced over the standbys: a
// read whose weighted pick has its pool full goes to another standby with a
// backend to give, instead of queueing behind a transaction there; a read that
// does queue is routed once (the decision before the wait is used at the grant).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

TEST(ProxyTxPoolBalanceTest, ReadGoesToAStandbyWithABackendFree) {
  ProxyOptions o;
  o.threads = 1;
  o.adjust = [](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = 1;  // one backend per node
    s.proxy.pool.queueTimeout = std::chrono::seconds(10);  // a failure ends then
    s.proxy.loadBalancing.enabled = true;
    // Reads on the standbys, nearly all weighted to node 1.
    s.nodes[0].weight = 0;
    s.nodes[1].weight = 1000;
    s.nodes[2].weight = 1;
  };
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_balance";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && b->ok()) << a->error() << b->error();
  // a holds a standby's one backend in its transaction (node 1, by weight).
  EXPECT_EQ(a->Query("BEGIN"), "");
  const std::string at = a->Query("SELECT inet_server_port()");
  ASSERT_TRUE(at == std::to_string(NodePort(1)) || at == std::to_string(NodePort(2))) << at;
  // b's read runs now, on the other standby, while a's transaction stays open
  // (before: it waited in node 1's queue until a ended).
  for (int i = 0; i < 5; ++i) {
    auto read = std::async(std::launch::async, [&] { return b->Query("SELECT inet_server_port()"); });
    ASSERT_EQ(read.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "b queued behind a";
    const std::string got = read.get();
    EXPECT_NE(got, at);
    EXPECT_TRUE(got == std::to_string(NodePort(1)) || got == std::to_string(NodePort(2))) << got;
  }
  EXPECT_EQ(a->Query("COMMIT"), "");
}

// A read that queued for the pool is sent at the grant on the decision made
// before the wait (counted), and still where that decision said: a standby.
TEST(ProxyTxPoolBalanceTest, QueuedReadIsRoutedOnce) {
  ProxyOptions o;
  o.threads = 1;
  o.adjust = [](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = 1;
    s.proxy.pool.queueTimeout = std::chrono::seconds(10);
    s.proxy.loadBalancing.enabled = true;
    s.nodes[0].weight = 0;
    s.nodes[1].weight = 1;
    s.nodes[2].weight = 0;  // one standby for reads: its one backend is shared
  };
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_once";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && b->ok()) << a->error() << b->error();
  auto& m = *px->ctx.metrics;
  const double waits0 = m.Value("pgvigil_proxy_pool_waits_total");
  const double once0 = m.Value("pgvigil_proxy_pool_waits_routed_once_total");
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SELECT inet_server_port()"), std::to_string(NodePort(1)));
  auto read = std::async(std::launch::async, [&] { return b->Query("SELECT inet_server_port()"); });
  for (int i = 0; i < 200 && m.Value("pgvigil_proxy_pool_waits_total") == waits0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(m.Value("pgvigil_proxy_pool_waits_total"), waits0 + 1);
  EXPECT_EQ(a->Query("COMMIT"), "");
  EXPECT_EQ(read.get(), std::to_string(NodePort(1)));
  EXPECT_EQ(m.Value("pgvigil_proxy_pool_waits_routed_once_total"), once0 + 1);
  // The next reads of both run as usual.
  EXPECT_EQ(b->Query("SELECT inet_server_port()"), std::to_string(NodePort(1)));
  EXPECT_EQ(a->Query("SELECT inet_server_port()"), std::to_string(NodePort(1)));
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
