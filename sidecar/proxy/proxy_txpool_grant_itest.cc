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

// At a transaction's end the backend goes straight to the client waiting for
// its pool (ReturnToPoolIfIdle asks the pool before it would lend), at that
// client's end to the one queued behind it, in the order they queued; with
// nobody waiting it is lent to its last client and the next newcomer takes it
// over without queueing. Each hand-over runs as the backend's read handler
// returns.
TEST_F(ProxyTxPoolGrantTest, EachTransactionEndGivesTheBackendToTheNextWaiterThenLendsIt) {
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  const std::string pid = a->Query("SELECT pg_backend_pid()");  // then lent to a: nobody waits
  ASSERT_FALSE(pid.empty());
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    double waits = Waits();
    // Round 0: a claims the backend lent to it; later rounds: a takes it over
    // from c, to which it was lent.
    EXPECT_EQ(a->Query("BEGIN"), "");
    EXPECT_EQ(a->Query("SELECT pg_backend_pid()"), pid);
    EXPECT_EQ(Waits(), waits);
    auto queued_b = std::async(std::launch::async, [&] { return b->Query("SELECT pg_backend_pid()"); });
    AwaitQueued(waits);
    waits = Waits();
    auto queued_c = std::async(std::launch::async, [&] { return c->Query("SELECT pg_backend_pid()"); });
    AwaitQueued(waits);
    const double ends = AtHandlerEnd();
    EXPECT_EQ(a->Query("COMMIT"), "");
    ASSERT_EQ(queued_b.wait_for(std::chrono::seconds(15)), std::future_status::ready) << "b got nothing";
    ASSERT_EQ(queued_c.wait_for(std::chrono::seconds(15)), std::future_status::ready) << "c got nothing";
    EXPECT_EQ(queued_b.get(), pid);
    EXPECT_EQ(queued_c.get(), pid);
    EXPECT_EQ(AtHandlerEnd(), ends + 2);  // a's COMMIT to b, b's statement to c
    EXPECT_EQ(c->Query("SELECT pg_backend_pid()"), pid);  // lent to c: nobody waited
    EXPECT_EQ(Waits(), waits + 1);
  }
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
