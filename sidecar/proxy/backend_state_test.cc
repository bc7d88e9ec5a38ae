// BackendTransitionAllowed: every (from, to) pair, and the idle pool's cap,
// eviction and timeout (pure parts of the backend lifecycle).
#include <gtest/gtest.h>

#include <memory>

#include "sidecar/proxy/backend_state.h"
#include "sidecar/proxy/idle_pool.h"

namespace pgvigil::proxy {
namespace {

using S = BackendState;

TEST(BackendStateTest, TransitionTable) {
  const S all[] = {S::kConnecting, S::kLogin, S::kReady, S::kResetting, S::kIdle, S::kClosed};
  // Rows: from; columns: to (same order as `all`).
  const bool allowed[6][6] = {
      //            conn   login  ready  reset  idle   closed
      /* conn  */ {false, true, false, false, false, true},
      /* login */ {false, false, true, false, false, true},
      /* ready */ {false, false, false, true, true, true},  // -> idle: transaction pooling
      /* reset */ {false, false, false, false, true, true},
      /* idle  */ {false, false, true, false, false, true},
      /* closed*/ {false, false, false, false, false, false},
  };
  for (int f = 0; f < 6; ++f)
    for (int t = 0; t < 6; ++t)
      EXPECT_EQ(BackendTransitionAllowed(all[f], all[t]), allowed[f][t])
          << BackendStateName(all[f]) << " -> " << BackendStateName(all[t]);
}

struct FakeConn {
  int id;
  bool open = true;
};
using Ptr = std::shared_ptr<FakeConn>;

TEST(IdlePoolTest, GlobalCapEvictsOldestOrRefuses) {
  std::atomic<int> total{0};
  auto t0 = std::chrono::steady_clock::now();
  IdlePool<Ptr> a(&total, 3, std::chrono::milliseconds(0)), b(&total, 3, std::chrono::milliseconds(0));
  EXPECT_TRUE(a.Put("k", std::make_shared<FakeConn>(FakeConn{1}), t0).empty());
  EXPECT_TRUE(a.Put("k", std::make_shared<FakeConn>(FakeConn{2}), t0).empty());
  EXPECT_TRUE(b.Put("k", std::make_shared<FakeConn>(FakeConn{3}), t0).empty());
  EXPECT_EQ(total.load(), 3);
  // Full: a gives up its oldest (1) for the new one.
  auto out = a.Put("k", std::make_shared<FakeConn>(FakeConn{4}), t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->id, 1);
  EXPECT_EQ(total.load(), 3);
  // A pool with nothing of its own refuses when the others hold the cap.
  IdlePool<Ptr> c(&total, 3, std::chrono::milliseconds(0));
  out = c.Put("k", std::make_shared<FakeConn>(FakeConn{5}), t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->id, 5);
  EXPECT_EQ(total.load(), 3);
  // Take: newest first for the key; unusable ones handed back as dead.
  std::vector<Ptr> dead;
  auto usable = [](const Ptr& p) { return p->open; };
  EXPECT_EQ(a.Take("other", usable, &dead), nullptr);
  auto got = a.Take("k", usable, &dead);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->id, 4);
  EXPECT_EQ(total.load(), 2);
  // A cap of 0: nothing is pooled.
  std::atomic<int> t2{0};
  IdlePool<Ptr> none(&t2, 0, std::chrono::milliseconds(0));
  EXPECT_EQ(none.Put("k", std::make_shared<FakeConn>(FakeConn{6}), t0).size(), 1u);
  EXPECT_EQ(t2.load(), 0);
}

TEST(IdlePoolTest, ExpireByTimeoutAndState) {
  std::atomic<int> total{0};
  auto t0 = std::chrono::steady_clock::now();
  {
    IdlePool<Ptr> p(&total, 10, std::chrono::milliseconds(1000));
    auto closed = std::make_shared<FakeConn>(FakeConn{3});
    p.Put("k", std::make_shared<FakeConn>(FakeConn{1}), t0);
    p.Put("k", std::make_shared<FakeConn>(FakeConn{2}), t0 + std::chrono::milliseconds(800));
    p.Put("j", closed, t0 + std::chrono::milliseconds(900));
    closed->open = false;
    auto usable = [](const Ptr& c) { return c->open; };
    auto out = p.Expire(t0 + std::chrono::milliseconds(1000), usable);
    ASSERT_EQ(out.size(), 2u);  // 1 (timed out) and 3 (closed while idle)
    EXPECT_EQ(out[0]->id, 1);
    EXPECT_EQ(out[1]->id, 3);
    EXPECT_EQ(p.size(), 1u);
    EXPECT_EQ(total.load(), 1);
    EXPECT_EQ(p.Expire(t0 + std::chrono::milliseconds(1799), usable).size(), 0u);
    EXPECT_EQ(p.Expire(t0 + std::chrono::milliseconds(1800), usable).size(), 1u);
    p.Put("k", std::make_shared<FakeConn>(FakeConn{4}), t0);
  }
  EXPECT_EQ(total.load(), 0);  // a pool going away gives its count back
}

}  // namespace
}  // namespace pgvigil::proxy
