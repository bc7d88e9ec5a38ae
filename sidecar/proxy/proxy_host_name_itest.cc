// Integration: backends named by host name (as in Kubernetes:
// demo-0.demo-hl.db.svc), here "localhost", reached by the proxy's workers,
// whose loops run with kWorkerConcurrencyHint (without Asio's locks): the
// name is looked up off the loop (HostResolver) and answered through the
// worker's mailbox. A cancel request reaches such a backend too: it goes to
// the address the backend's connection reached, with no lookup.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/worker_mailbox.h"

namespace pgvigil::proxy::testenv {
namespace {

TEST(ProxyHostNameTest, ReachesBackendsNamedByHostName) {
  static_assert(kWorkerConcurrencyHint == BOOST_ASIO_CONCURRENCY_HINT_UNSAFE,
                "this test is about the workers' lock-free loops");
  ProxyOptions o;
  o.adjust = [](ClusterSpec& spec) {
    for (auto& n : spec.nodes) n.host = "localhost";
  };
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  std::set<std::string> ports;
  for (int i = 0; i < 8; ++i) {  // both workers, primary and standbys
    auto c = Connect(px->port);
    ASSERT_TRUE(c->ok()) << c->error();
    EXPECT_EQ(c->Query("SELECT 1"), "1");
    ports.insert(c->Query("SELECT inet_server_port()"));
    EXPECT_EQ(c->Query("INSERT INTO kv VALUES (7, 'h') ON CONFLICT (k) DO UPDATE SET v = 'h' RETURNING "
                       "inet_server_port()"),
              std::to_string(NodePort(0)));
  }
  EXPECT_FALSE(ports.empty());
  for (const auto& p : ports) EXPECT_NE(p.rfind("ERROR", 0), 0u) << p;
}

// The statement cancelled where it runs: the client's own, and one in a
// transaction on the primary.
TEST(ProxyHostNameTest, CancelReachesABackendNamedByHostName) {
  ProxyOptions o;
  o.adjust = [](ClusterSpec& spec) {
    for (auto& n : spec.nodes) n.host = "localhost";
  };
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  for (const char* begin : {"", "BEGIN READ WRITE"}) {
    auto c = Connect(px->port);
    ASSERT_TRUE(c->ok()) << c->error();
    if (*begin) {
      EXPECT_EQ(c->Query(begin), "") << begin;
    }
    const CancelledSleep s = CancelASleep(*c);
    ASSERT_TRUE(s.cancelSent) << s.cancelError;
    ASSERT_TRUE(s.gotResult) << begin;
    EXPECT_EQ(s.sqlstate, "57014") << begin;
    EXPECT_LT(s.took, std::chrono::seconds(20)) << begin;
    if (*begin) {
      EXPECT_EQ(c->Query("ROLLBACK"), "");
    }
    EXPECT_EQ(c->Query("SELECT 7"), "7");  // the session carries on
  }
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
