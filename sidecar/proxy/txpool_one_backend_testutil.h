// Test helper: transaction pooling with one backend per node and balancing
// off, so that a second client queues behind the first; two clients a and b,
// the pool-wait counter and a wait for the next queued client. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {

inline ProxyOptions OneBackendNoBalancing() {
  ProxyOptions o;
  o.threads = 1;
  o.pauseLimit = std::chrono::seconds(20);
  o.adjust = [](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = 1;  // one backend per node: a second client queues
    s.proxy.pool.queueTimeout = std::chrono::seconds(20);
    s.proxy.loadBalancing.enabled = false;
  };
  return o;
}

// A proxy with one backend per node and balancing off, two clients a and b.
class OneBackendTxPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    px = StartProxy(OneBackendNoBalancing());
    ASSERT_TRUE(px);
    a = Connect(px->port);
    b = Connect(px->port);
    ASSERT_TRUE(a->ok() && b->ok()) << a->error() << b->error();
  }
  double Metric(const char* name) { return px->ctx.metrics->Value(name); }
  double Waits() { return Metric("pgvigil_proxy_pool_waits_total"); }
  // Until the proxy counts one more pool wait than `before`.
  void AwaitQueued(double before) {
    for (int i = 0; i < 500 && Waits() == before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(Waits(), before + 1);
  }
  std::unique_ptr<ProxyUnderTest> px;
  std::unique_ptr<Conn> a, b;
  const std::string p0 = std::to_string(NodePort(0));
};

}  // namespace pgvigil::proxy::testenv
