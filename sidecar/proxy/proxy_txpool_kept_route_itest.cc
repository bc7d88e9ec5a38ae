// Integration, transaction pooling with balancing off: a cycle for the primary
// that queues for the primary's pool is sent at the grant on the decision made
// before the wait (counted), unless what that decision rests on changed during
// the wait: a switchover's pause that began meanwhile is waited for, and a
// primary withdrawn from routing meanwhile is awaited, as a fresh decision does
// (session_kept_route.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "sidecar/proxy/txpool_one_backend_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

using std::chrono::milliseconds;

RoutingTable Table(uint64_t generation, const std::string& primary) {
  RoutingTable t;
  t.generation = generation;
  t.primary = primary;
  for (const auto& n : Cluster().nodes()) t.nodes.push_back({n.name, "127.0.0.1", n.port, 1, true});
  return t;
}

class ProxyTxPoolKeptRouteTest : public OneBackendTxPoolTest {
 protected:
  void SetUp() override {
    OneBackendTxPoolTest::SetUp();
    if (!HasFatalFailure()) once0 = RoutedOnce();
  }
  double RoutedOnce() { return Metric("pgvigil_proxy_pool_waits_routed_once_total"); }
  double once0 = 0;
};

TEST_F(ProxyTxPoolKeptRouteTest, QueuedReadAndWriteForThePrimaryAreRoutedOnce) {
  ASSERT_TRUE(Cluster().Query(0, "CREATE TABLE IF NOT EXISTS kept_route_w (a int)").ok());
  for (const char* sql : {"SELECT inet_server_port()", "INSERT INTO kept_route_w VALUES (1) RETURNING inet_server_port()",
                          "BEGIN"}) {
    EXPECT_EQ(a->Query("BEGIN"), "");
    EXPECT_EQ(a->Query("SELECT inet_server_port()"), p0);
    const double waits = Waits();
    auto queued = std::async(std::launch::async, [&] { return b->Query(sql); });
    AwaitQueued(waits);
    EXPECT_EQ(a->Query("COMMIT"), "");
    EXPECT_EQ(queued.get(), std::string(sql) == "BEGIN" ? "" : p0) << sql;
    if (std::string(sql) == "BEGIN") {
      EXPECT_EQ(b->Query("COMMIT"), "");
    }
  }
  EXPECT_EQ(RoutedOnce(), once0 + 3);
  EXPECT_EQ(b->Query("SELECT inet_server_port()"), p0);
}

// A pause (a switchover's first step) that began while the read waited: at the
// grant the read waits for the resume; a kept decision would have run it.
TEST_F(ProxyTxPoolKeptRouteTest, PauseThatBeganDuringTheWaitHoldsTheQueuedRead) {
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SELECT 1"), "1");
  const double waits = Waits();
  auto read = std::async(std::launch::async, [&] { return b->Query("SELECT inet_server_port()"); });
  AwaitQueued(waits);
  px->server->PauseNewTransactions();
  EXPECT_EQ(a->Query("COMMIT"), "");  // a transaction in progress ends; the backend goes to b
  EXPECT_EQ(read.wait_for(milliseconds(500)), std::future_status::timeout) << "the read ran during the pause";
  px->server->ResumeNewTransactions();
  EXPECT_EQ(read.get(), p0);
  EXPECT_EQ(RoutedOnce(), once0);
}

// The primary withdrawn from routing while the read waited (a switchover
// published routing without it): at the grant the read waits for the new
// primary; a kept decision would have failed it (no primary confirmed).
TEST_F(ProxyTxPoolKeptRouteTest, PrimaryWithdrawnDuringTheWaitIsAwaited) {
  ASSERT_TRUE(px->server->SetRouting(Table(1, "node0")).ok());
  const double waits = Waits();
  // a holds the one backend with a statement (no transaction block, which a
  // routing change without a primary would leave unable to end).
  auto sleep = std::async(std::launch::async, [&] { return a->Query("SELECT pg_sleep(1.5)"); });
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_EQ(Waits(), waits) << "a queued";
  auto read = std::async(std::launch::async, [&] { return b->Query("SELECT inet_server_port()"); });
  AwaitQueued(waits);
  px->server->PauseNewTransactions();
  ASSERT_TRUE(px->server->SetRouting(Table(2, "")).ok());
  px->server->ResumeNewTransactions();  // the new primary is awaited up to pauseLimit
  EXPECT_EQ(sleep.get(), "");
  EXPECT_EQ(read.wait_for(milliseconds(500)), std::future_status::timeout) << "answered without a primary";
  ASSERT_TRUE(px->server->SetRouting(Table(3, "node0")).ok());
  EXPECT_EQ(read.get(), p0);
  EXPECT_EQ(RoutedOnce(), once0);
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
