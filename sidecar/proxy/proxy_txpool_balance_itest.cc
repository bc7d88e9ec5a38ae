// Integration, transaction pooling with reads balanced over the standbys: a
// read whose weighted pick has its pool full goes to another standby with a
// backend to give, instead of queueing behind a transaction there.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

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

}  // namespace
}  // namespace pgvigil::proxy::testenv
