// Integration, transaction pooling: a backend freed while a socket read handler
// runs (its ReadyForQuery at COMMIT, a client's Terminate) goes to the queued
// client as that handler returns (TxGrantScope, tx_backends.h), counted by
// pgvigil_proxy_pool_grants_at_handler_end_total; the client queued behind it
// gets its answer either way.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "sidecar/proxy/txpool_one_backend_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

class ProxyTxPoolGrantTest : public OneBackendTxPoolTest {
 protected:
  double AtHandlerEnd() { return Metric("pgvigil_proxy_pool_grants_at_handler_end_total"); }
};

// The backend's ReadyForQuery after COMMIT frees it inside the backend's read
// handler: the queued read is handed the backend as that handler returns.
TEST_F(ProxyTxPoolGrantTest, BackendFreedAtCommitGoesToTheQueuedClientAsTheHandlerReturns) {
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(a->Query("BEGIN"), "");
    EXPECT_EQ(a->Query("SELECT inet_server_port()"), p0);
    const double waits = Waits(), ends = AtHandlerEnd();
    auto queued = std::async(std::launch::async, [&] { return b->Query("SELECT inet_server_port()"); });
    AwaitQueued(waits);
    EXPECT_EQ(a->Query("COMMIT"), "");
    EXPECT_EQ(queued.get(), p0);
    EXPECT_EQ(AtHandlerEnd(), ends + 1) << "round " << round;
  }
}

// A client that leaves inside a transaction: its backend cannot be shared and
// is closed; the slot it frees lets the queued client open another.
TEST_F(ProxyTxPoolGrantTest, ClientLeavingInsideATransactionLetsTheQueuedClientIn) {
  EXPECT_EQ(a->Query("BEGIN"), "");
  EXPECT_EQ(a->Query("SELECT inet_server_port()"), p0);
  const double waits = Waits();
  auto queued = std::async(std::launch::async, [&] { return b->Query("SELECT inet_server_port()"); });
  AwaitQueued(waits);
  a.reset();  // Terminate, then the socket closes
  ASSERT_EQ(queued.wait_for(std::chrono::seconds(15)), std::future_status::ready) << "the queued client got nothing";
  EXPECT_EQ(queued.get(), p0);
  EXPECT_EQ(b->Query("SELECT 1"), "1");
}

// Many clients through a pool of one, each a few transactions of its own: every
// statement is answered, by the one node, in order.
TEST_F(ProxyTxPoolGrantTest, ManyClientsThroughOneBackendAllAnswered) {
  std::vector<std::unique_ptr<Conn>> cs;
  for (int i = 0; i < 12; ++i) {
    cs.push_back(Connect(px->port));
    ASSERT_TRUE(cs.back()->ok()) << cs.back()->error();
  }
  std::vector<std::future<std::string>> runs;
  for (int i = 0; i < 12; ++i) {
    runs.push_back(std::async(std::launch::async, [&, i] {
      std::string out;
      for (int k = 0; k < 20; ++k) {
        if (cs[i]->Query("BEGIN") != "") return std::string("BEGIN failed: ") + cs[i]->error();
        const std::string v = cs[i]->Query("SELECT " + std::to_string(i * 100 + k));
        if (v != std::to_string(i * 100 + k)) return "client " + std::to_string(i) + " got '" + v + "'";
        if (cs[i]->Query("COMMIT") != "") return std::string("COMMIT failed: ") + cs[i]->error();
      }
      return out;
    }));
  }
  for (auto& r : runs) EXPECT_EQ(r.get(), "");
  EXPECT_GT(AtHandlerEnd(), 0);
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
