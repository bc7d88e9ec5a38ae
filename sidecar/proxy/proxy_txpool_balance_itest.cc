// Integration, transaction pooling with reads balanced over the standbys: a
// read whose weighted pick has its pool full goes to another standby with a
// backend to give, instead of queueing behind a transaction there; a read that
// does queue is routed once (the decision before the wait is used at the grant);
// each wait is for the node it queued for.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

// One backend per node, reads on one standby (node 1): its one backend is shared.
ProxyOptions PoolOfOneReadsOnNode1() {
  ProxyOptions o;
  o.threads = 1;
  o.adjust = [](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = 1;
    s.proxy.pool.queueTimeout = std::chrono::seconds(10);
    s.proxy.loadBalancing.enabled = true;
    s.nodes[0].weight = 0;
    s.nodes[1].weight = 1;
    s.nodes[2].weight = 0;
  };
  return o;
}

// With PoolOfOneReadsOnNode1: a holds node 1's one backend in its
// transaction, and b's read queues for it (one more pool wait); the read is
// answered once a lets go.
std::future<std::string> ReadQueuedBehind(Conn& a, Conn& b, const MetricsRegistry& m) {
  const double waits0 = m.Value("pgvigil_proxy_pool_waits_total");
  EXPECT_EQ(a.Query("BEGIN"), "");
  EXPECT_EQ(a.Query("SELECT inet_server_port()"), std::to_string(NodePort(1)));
  auto read = std::async(std::launch::async, [&b] { return b.Query("SELECT inet_server_port()"); });
  for (int i = 0; i < 200 && m.Value("pgvigil_proxy_pool_waits_total") == waits0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(m.Value("pgvigil_proxy_pool_waits_total"), waits0 + 1);
  return read;
}

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
  auto px = StartProxy(PoolOfOneReadsOnNode1());
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_once";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && b->ok()) << a->error() << b->error();
  auto& m = *px->ctx.metrics;
  const double once0 = m.Value("pgvigil_proxy_pool_waits_routed_once_total");
  auto read = ReadQueuedBehind(*a, *b, m);
  EXPECT_EQ(a->Query("COMMIT"), "");
  EXPECT_EQ(read.get(), std::to_string(NodePort(1)));
  EXPECT_EQ(m.Value("pgvigil_proxy_pool_waits_routed_once_total"), once0 + 1);
  // The next reads of both run as usual.
  EXPECT_EQ(b->Query("SELECT inet_server_port()"), std::to_string(NodePort(1)));
  EXPECT_EQ(a->Query("SELECT inet_server_port()"), std::to_string(NodePort(1)));
}

// Routing changed while a read waited for its standby's pool (that standby
// left balancing, another joined): at the grant the read goes where the new
// routing says, the other standby, not on the decision made before the wait
// (the granted backend of the old one is dropped as out of balancing), and it
// is not counted as routed once.
TEST(ProxyTxPoolBalanceTest, QueuedReadGoesWhereRoutingChangedDuringTheWaitSays) {
  auto px = StartProxy(PoolOfOneReadsOnNode1());
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_route_change";
  auto a = Connect(px->port, "postgres", "", extra);
  auto b = Connect(px->port, "postgres", "", extra);
  ASSERT_TRUE(a->ok() && b->ok()) << a->error() << b->error();
  auto& m = *px->ctx.metrics;
  const double once0 = m.Value("pgvigil_proxy_pool_waits_routed_once_total");
  const std::string p2 = std::to_string(NodePort(2));
  auto read = ReadQueuedBehind(*a, *b, m);
  ASSERT_FALSE(HasFailure());
  RoutingTable t;
  t.generation = 1;
  t.primary = Cluster().nodes()[0].name;
  for (const auto& n : Cluster().nodes()) t.nodes.push_back({n.name, "127.0.0.1", n.port, 0, true});
  t.nodes[2].weight = 1;  // reads on node 2 now, none on node 1
  ASSERT_TRUE(px->server->SetRouting(t).ok());
  EXPECT_EQ(a->Query("COMMIT"), "");  // node 1's backend goes to b
  ASSERT_EQ(read.wait_for(std::chrono::seconds(15)), std::future_status::ready) << "b got nothing";
  EXPECT_EQ(read.get(), p2);
  EXPECT_EQ(m.Value("pgvigil_proxy_pool_waits_routed_once_total"), once0);
  EXPECT_EQ(b->Query("SELECT inet_server_port()"), p2);
}

// A client's wait is for the node it queued for, by turns the standby's pool
// (a read) and the primary's (a read kept there, a write), twice in a row for
// the same node too: SHOW clients shows that node, and a slot freed for the
// waiting client (its holder leaves inside a transaction) opens the client's
// backend there. (WaitForPool copies the node only when it is not the very one
// of the last wait, of the same routing snapshot.)
TEST(ProxyTxPoolBalanceTest, EachWaitIsForTheNodeItQueuedFor) {
  ProxyOptions o = PoolOfOneReadsOnNode1();
  o.readYourWrites = false;  // a read after one on the primary still on node 1
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  const std::string extra = "sslmode=disable application_name=pgvigil_tx_wait_node";
  auto b = Connect(px->port, "postgres", "", extra);
  auto admin = Connect(px->port);
  ASSERT_TRUE(b->ok() && admin->ok()) << b->error() << admin->error();
  auto waiting_for = [&] {
    for (int i = 0; i < 500; ++i) {
      for (const auto& c : Table(admin->c, "SHOW clients"))
        if (c.count("state") && c.at("state") == "waiting") return c.at("waiting_for");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::string("nobody waits");
  };
  const std::string node0 = Cluster().nodes()[0].name, node1 = Cluster().nodes()[1].name;
  const std::string p0 = std::to_string(NodePort(0)), p1 = std::to_string(NodePort(1));
  const std::string read = "SELECT inet_server_port()";
  const std::string primary_read = "/*NO LOAD BALANCE*/ SELECT inet_server_port()";  // b has not written yet
  const std::string write = "UPDATE kv SET v = v WHERE k = -1";
  enum Kind { kRead, kPrimaryRead, kWrite };
  struct Step {
    Kind kind;
    bool holder_leaves;  // else it commits
  };
  const Step steps[] = {{kRead, false}, {kRead, true},  {kPrimaryRead, true}, {kPrimaryRead, false},
                        {kRead, true},  {kWrite, true}, {kWrite, false}};
  for (const Step& step : steps) {
    const bool standby = step.kind == kRead;
    const std::string sql = step.kind == kRead ? read : step.kind == kPrimaryRead ? primary_read : write;
    const std::string answer = step.kind == kWrite ? "" : standby ? p1 : p0;
    SCOPED_TRACE(sql + (step.holder_leaves ? ", slot freed" : ", handed over"));
    auto a = Connect(px->port, "postgres", "", extra);
    ASSERT_TRUE(a->ok()) << a->error();
    // a holds the one backend of the node b needs, in a transaction.
    EXPECT_EQ(a->Query("BEGIN"), "");
    EXPECT_EQ(a->Query(standby ? read : write), standby ? p1 : "");
    auto queued = std::async(std::launch::async, [&] { return b->Query(sql); });
    EXPECT_EQ(waiting_for(), standby ? node1 : node0);
    if (step.holder_leaves) a.reset();  // its backend closed: the slot is b's
    else EXPECT_EQ(a->Query("COMMIT"), "");
    ASSERT_EQ(queued.wait_for(std::chrono::seconds(15)), std::future_status::ready) << "b got nothing";
    EXPECT_EQ(queued.get(), answer);
  }
  EXPECT_EQ(b->Query("SELECT 1"), "1");
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
