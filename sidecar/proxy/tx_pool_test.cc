// TxPool (transaction pooling, pure): slots per key, idle reuse, FIFO queue,
// hand-over on release, slots passed on when a backend goes, cancel, expiry,
// the per-worker share of proxy.pool.size (turning over nodes), per-key
// limits; and the statement renaming of wire_messages used with it; the
// NameQueue of a backend's Parses in flight.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sidecar/proxy/backend_conn.h"
#include "sidecar/proxy/tx_pool.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy {
namespace {

struct FakeConn {
  int id;
  bool open = true;
};
using Ptr = std::shared_ptr<FakeConn>;
using Pool = TxPool<Ptr, int>;  // waiters: client ids
auto Usable = [](const Ptr& p) { return p && p->open; };

TEST(TxPoolTest, SlotsThenQueueThenHandOverInOrder) {
  Pool p(2);
  auto t0 = Pool::Clock::now();
  std::vector<Ptr> dead;
  EXPECT_EQ(p.Acquire("k", 1, Usable, &dead, t0).got, Pool::Got::kConnect);
  EXPECT_EQ(p.Acquire("k", 2, Usable, &dead, t0).got, Pool::Got::kConnect);
  // Full: clients 3 and 4 wait, in order.
  EXPECT_EQ(p.Acquire("k", 3, Usable, &dead, t0).got, Pool::Got::kQueued);
  EXPECT_EQ(p.Acquire("k", 4, Usable, &dead, t0 + std::chrono::seconds(1)).got, Pool::Got::kQueued);
  // Another key has its own slots.
  EXPECT_EQ(p.Acquire("other", 5, Usable, &dead, t0).got, Pool::Got::kConnect);
  auto snap = p.Snapshot(t0 + std::chrono::seconds(3));
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].key, "k");
  EXPECT_EQ(snap[0].slots, 2);
  EXPECT_EQ(snap[0].waiting, 2);
  EXPECT_EQ(snap[0].maxWait, std::chrono::seconds(3));
  // Client 1's backend comes back: it goes to 3, the first waiter.
  auto a = std::make_shared<FakeConn>(FakeConn{10});
  auto h = p.Release("k", a, t0);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->first, 3);
  EXPECT_EQ(h->second->id, 10);
  // Client 2's backend dies: its slot goes to 4 (which opens a new one).
  auto w = p.SlotFreed("k");
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, 4);
  EXPECT_EQ(p.Waiting("k"), 0);
  // Nobody waits: a released backend idles and is reused (newest first).
  auto b = std::make_shared<FakeConn>(FakeConn{11});
  EXPECT_FALSE(p.Release("k", a, t0));
  EXPECT_FALSE(p.Release("k", b, t0));
  auto got = p.Acquire("k", 6, Usable, &dead, t0);
  EXPECT_EQ(got.got, Pool::Got::kIdle);
  EXPECT_EQ(got.conn->id, 11);
  // A dead idle one is handed back for closing and the next is used.
  a->open = false;
  auto c = std::make_shared<FakeConn>(FakeConn{12});
  EXPECT_FALSE(p.Release("k", c, t0));
  c->open = false;
  EXPECT_FALSE(p.Release("k", b, t0));
  b->open = true;
  got = p.Acquire("k", 7, Usable, &dead, t0);
  EXPECT_EQ(got.got, Pool::Got::kIdle);
  EXPECT_EQ(got.conn->id, 11);
}

TEST(TxPoolTest, FreedSlotsCountDownAndQueueIsFair) {
  Pool p(1);
  auto t0 = Pool::Clock::now();
  std::vector<Ptr> dead;
  EXPECT_EQ(p.Acquire("k", 1, Usable, &dead, t0).got, Pool::Got::kConnect);
  EXPECT_EQ(p.Acquire("k", 2, Usable, &dead, t0).got, Pool::Got::kQueued);
  EXPECT_EQ(p.Acquire("k", 3, Usable, &dead, t0).got, Pool::Got::kQueued);
  // 2 gives up: 3 is next.
  EXPECT_TRUE(p.Cancel("k", 2));
  EXPECT_FALSE(p.Cancel("k", 2));
  auto w = p.SlotFreed("k");
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, 3);
  // 3's slot freed with nobody waiting: the key is empty again.
  EXPECT_FALSE(p.SlotFreed("k"));
  EXPECT_TRUE(p.Snapshot(t0).empty());
  EXPECT_EQ(p.Acquire("k", 4, Usable, &dead, t0).got, Pool::Got::kConnect);
}

TEST(TxPoolTest, ExpireTakesOldAndDeadIdleBackends) {
  Pool p(3);
  auto t0 = Pool::Clock::now();
  std::vector<Ptr> dead;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.Acquire("k", i, Usable, &dead, t0).got, Pool::Got::kConnect);
  auto a = std::make_shared<FakeConn>(FakeConn{1}), b = std::make_shared<FakeConn>(FakeConn{2}),
       c = std::make_shared<FakeConn>(FakeConn{3});
  p.Release("k", a, t0);
  p.Release("k", b, t0 + std::chrono::seconds(5));
  p.Release("k", c, t0 + std::chrono::seconds(5));
  c->open = false;
  auto out = p.Expire(t0 + std::chrono::seconds(6), std::chrono::seconds(3), Usable);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]->id, 1);
  EXPECT_EQ(out[1]->id, 3);
  int idle = 0;
  p.ForEachIdle([&](const std::string&, const Ptr&, auto) { idle++; });
  EXPECT_EQ(idle, 1);
  // Slots are freed by the caller when it closes them, not by Expire.
  EXPECT_EQ(p.Snapshot(t0)[0].slots, 3);
}

// Sticky backends: what each step of a table does to one pool of two slots.
TEST(TxPoolTest, LentBackendsStayUntilAnotherClientNeedsOne) {
  Pool p(2);
  auto t0 = Pool::Clock::now();
  auto now = [t0] { return t0; };
  std::vector<Ptr> dead;
  Pool::Key* k = p.Ref("k");
  auto a = std::make_shared<FakeConn>(FakeConn{1}), b = std::make_shared<FakeConn>(FakeConn{2});
  ASSERT_EQ(p.Acquire(*k, 1, Usable, &dead, now).got, Pool::Got::kConnect);
  ASSERT_EQ(p.Acquire(*k, 2, Usable, &dead, now).got, Pool::Got::kConnect);
  // Both transactions end with nobody waiting: lent to their clients, idle in
  // the counts.
  EXPECT_TRUE(p.Lend(*k, a, 1, t0));
  EXPECT_TRUE(p.Lend(*k, b, 2, t0 + std::chrono::seconds(1)));
  auto snap = p.Snapshot(t0);
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].slots, 2);
  EXPECT_EQ(snap[0].idle, 2);
  EXPECT_EQ(snap[0].lent, 2);
  int idle = 0;
  p.ForEachIdle([&](const std::string&, const Ptr&, auto) { idle++; });
  EXPECT_EQ(idle, 2);
  // Client 1 runs again: takes its own back, no acquire.
  EXPECT_TRUE(p.Claim(*k, [&](const Ptr& c) { return c == a; }));
  EXPECT_FALSE(p.Claim(*k, [&](const Ptr& c) { return c == a; }));  // once
  EXPECT_EQ(p.Snapshot(t0)[0].lent, 1);
  // Client 3 needs one: none idle, the pool full: it takes over the one lent
  // longest (client 2's), overtaking nobody.
  auto got = p.Acquire(*k, 3, Usable, &dead, now);
  ASSERT_EQ(got.got, Pool::Got::kTakeOver);
  EXPECT_EQ(got.conn, b);
  EXPECT_EQ(got.holder, 2);
  EXPECT_FALSE(p.Claim(*k, [&](const Ptr& c) { return c == b; }));  // client 2 lost it
  // Client 2 needs one now: none idle or lent, the pool full: it queues.
  EXPECT_EQ(p.Acquire(*k, 2, Usable, &dead, now).got, Pool::Got::kQueued);
  // While anyone waits nothing is lent: the backend must go to the waiter.
  EXPECT_FALSE(p.Lend(*k, a, 1, t0));
  auto h = p.Release(*k, a, t0);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->first, 2);
  EXPECT_EQ(p.Snapshot(t0)[0].waiting, 0);
  // Lent backends idle past the timeout are taken with their holders.
  EXPECT_TRUE(p.Lend(*k, a, 2, t0));
  EXPECT_TRUE(p.Lend(*k, b, 3, t0 + std::chrono::seconds(5)));
  auto old = p.ExpireLent(t0 + std::chrono::seconds(6), std::chrono::seconds(3));
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].first, 2);
  EXPECT_EQ(old[0].second, a);
  EXPECT_TRUE(p.ExpireLent(t0 + std::chrono::hours(1), std::chrono::milliseconds(0)).empty());  // 0: never
  // The key stays while referenced, and goes with its last slot after Unref.
  EXPECT_TRUE(p.Claim(*k, [&](const Ptr& c) { return c == b; }));
  EXPECT_FALSE(p.SlotFreed(*k));
  EXPECT_FALSE(p.SlotFreed(*k));
  EXPECT_TRUE(p.Snapshot(t0).empty());  // only referenced: no row
  EXPECT_EQ(p.Ref("k"), k);             // the same pool
  p.Unref(k);
  p.Unref(k);
  EXPECT_NE(p.Ref("k"), nullptr);  // made anew
}

// More clients than backends, lending on: every client is served within a
// bounded number of steps (no starvation), and no more backends are opened
// than the limit. A small model of the session's rules: a client takes back
// its lent backend, else acquires (idle, new, taken over, or queued); at the
// end of its transaction it lends if nobody waits, else releases to the first
// waiter, which then runs its transaction at once.
TEST(TxPoolTest, NoClientStarvesWithLending) {
  constexpr int kClients = 7, kSlots = 2, kSteps = 2800;
  Pool p(kSlots);
  Pool::Key* k = p.Ref("k");
  auto now = [] { return Pool::Clock::time_point{}; };
  std::vector<Ptr> dead, lent(kClients);
  std::vector<bool> queued(kClients, false);
  std::vector<int> served(kClients, 0), last(kClients, 0);
  int opened = 0, maxGap = 0, step = 0;
  std::function<void(int, Ptr)> run = [&](int c, Ptr conn) {
    served[c]++;
    maxGap = std::max(maxGap, step - last[c]);
    last[c] = step;
    if (p.Lend(*k, conn, c, now())) {
      lent[c] = conn;
      return;
    }
    auto h = p.Release(*k, conn, now());
    ASSERT_TRUE(h);
    queued[h->first] = false;
    run(h->first, h->second);
  };
  for (step = 1; step <= kSteps; ++step) {
    int c = (step * 5 + step / 3) % kClients;  // a mixed, fixed order
    if (queued[c]) continue;
    Ptr mine;
    if (lent[c] && p.Claim(*k, [&](const Ptr& x) { return x == lent[c]; })) mine = lent[c];
    lent[c].reset();
    if (!mine) {
      auto a = p.Acquire(*k, c, Usable, &dead, now);
      if (a.got == Pool::Got::kQueued) {
        queued[c] = true;
        continue;
      }
      if (a.got == Pool::Got::kConnect) mine = std::make_shared<FakeConn>(FakeConn{++opened});
      if (a.got == Pool::Got::kIdle) mine = a.conn;
      if (a.got == Pool::Got::kTakeOver) {
        EXPECT_EQ(lent[a.holder], a.conn);
        lent[a.holder].reset();
        mine = a.conn;
      }
    }
    run(c, mine);
  }
  EXPECT_LE(opened, kSlots);
  EXPECT_TRUE(dead.empty());
  for (int c = 0; c < kClients; ++c) EXPECT_GT(served[c], kSteps / kClients / 2) << "client " << c;
  EXPECT_LE(maxGap, 3 * kClients);
}

// The per-backend FIFO of Parses in flight: order kept across drains and the
// compaction of a queue that never empties.
TEST(NameQueueTest, FifoOrderAndCompaction) {
  NameQueue q;
  EXPECT_TRUE(q.empty());
  q.push_back("a");
  q.push_back("");
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.front(), "a");
  q.pop_front();
  EXPECT_EQ(q.front(), "");
  q.pop_front();
  EXPECT_TRUE(q.empty());
  // Never drained: one in, one out, a thousand times, always one behind.
  q.push_back("s0");
  for (int i = 1; i <= 1000; ++i) {
    q.push_back("s" + std::to_string(i));
    EXPECT_EQ(q.front(), "s" + std::to_string(i - 1));
    q.pop_front();
    EXPECT_EQ(q.size(), 1u);
  }
  std::vector<std::string> left(q.begin(), q.end());
  EXPECT_EQ(left, std::vector<std::string>{"s1000"});
}

TEST(TxPoolTest, ShareOfPoolSizePerWorker) {
  EXPECT_EQ(TxPoolShare(20, 1, 0), 20);
  EXPECT_EQ(TxPoolShare(4, 2, 0), 2);
  EXPECT_EQ(TxPoolShare(4, 2, 1), 2);
  EXPECT_EQ(TxPoolShare(5, 2, 0), 3);
  EXPECT_EQ(TxPoolShare(5, 2, 1), 2);
  EXPECT_EQ(TxPoolShare(1, 4, 0), 1);
  EXPECT_EQ(TxPoolShare(1, 4, 3), 1);  // at least one each
}

// Every worker gets about as many backends over all the nodes its balanced
// reads go to; each node still gets proxy.pool.size over the workers.
TEST(TxPoolTest, ShareLeftOverSlotsTurnOverNodes) {
  struct Case {
    int size, workers;
    std::vector<int> nodes;  // places in routing of the nodes reads go to
    std::vector<int> perWorker;
  };
  const std::vector<Case> cases = {
      {7, 2, {1, 2}, {7, 7}},        // the benchmark: two standbys (4 + 4 against 3 + 3 before)
      {7, 2, {0, 1, 2}, {11, 10}},   // the primary balanced too
      {20, 2, {1, 2}, {20, 20}},     // an even size: nothing left over
      {5, 3, {0, 1, 2}, {5, 5, 5}},  // 2 + 2 + 1 in turn
      {1, 2, {1, 2}, {2, 2}},        // at least one each
  };
  for (const auto& c : cases) {
    std::vector<int> per(size_t(c.workers), 0);
    for (int node : c.nodes) {
      int total = 0;
      for (int w = 0; w < c.workers; ++w) {
        per[size_t(w)] += TxPoolShare(c.size, c.workers, w, node);
        total += TxPoolShare(c.size, c.workers, w, node);
      }
      EXPECT_EQ(total, std::max(c.size, c.workers)) << "size " << c.size << " node " << node;
    }
    EXPECT_EQ(per, c.perWorker) << "size " << c.size << " workers " << c.workers;
  }
}

// What a newcomer would get from a pool, and which of two pools serves a
// balanced read sooner.
TEST(TxPoolTest, LoadAndTheSoonerOfTwoPools) {
  Pool p(1);
  std::vector<Ptr> dead;
  auto t0 = Pool::Clock::now();
  auto now = [t0] { return t0; };
  auto* k = p.Ref("k");
  EXPECT_TRUE(Pool::Load(*k).ready);  // a free slot
  EXPECT_EQ(p.Acquire(*k, 1, Usable, &dead, now).got, Pool::Got::kConnect);
  EXPECT_FALSE(Pool::Load(*k).ready);  // full, nothing idle
  EXPECT_EQ(Pool::Load(*k).waiting, 0);
  auto a = std::make_shared<FakeConn>(FakeConn{10});
  EXPECT_TRUE(p.Lend(*k, a, 1, t0));
  EXPECT_TRUE(Pool::Load(*k).ready);  // lent: taken over
  EXPECT_TRUE(p.Claim(*k, [&](const Ptr& c) { return c == a; }));
  EXPECT_EQ(p.Acquire(*k, 2, Usable, &dead, now).got, Pool::Got::kQueued);
  EXPECT_EQ(p.Acquire(*k, 3, Usable, &dead, now).got, Pool::Got::kQueued);
  EXPECT_FALSE(Pool::Load(*k).ready);
  EXPECT_EQ(Pool::Load(*k).waiting, 2);
  auto h = p.Release(*k, a, t0);  // to client 2
  ASSERT_TRUE(h);
  EXPECT_EQ(Pool::Load(*k).waiting, 1);
  ASSERT_TRUE(p.Release(*k, a, t0));  // to client 3
  EXPECT_FALSE(p.Release(*k, a, t0));  // nobody waits: idle
  EXPECT_TRUE(Pool::Load(*k).ready);

  struct Case {
    TxPoolLoad b, a;
    bool sooner;
  };
  const std::vector<Case> cases = {
      {{true, 0}, {false, 0}, true},   // a backend now beats a queue, however short
      {{false, 0}, {true, 0}, false},
      {{true, 0}, {true, 0}, false},   // both ready: the weighted pick stays
      {{false, 1}, {false, 3}, false},  // queues alike: the weighted pick's, however long
      {{false, 3}, {false, 1}, false},
      {{false, 2}, {false, 2}, false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(ServesSooner(c.b, c.a), c.sooner)
        << "b " << c.b.ready << "/" << c.b.waiting << " a " << c.a.ready << "/" << c.a.waiting;
}

TEST(TxPoolTest, KeysKeepTheLimitTheyWereCreatedWith) {
  Pool p(2);
  std::vector<Ptr> dead;
  auto t0 = Pool::Clock::now();
  auto* three = p.Ref("three", 3);
  auto* dflt = p.Ref("default");
  EXPECT_EQ(Pool::Capacity(*three), 3);
  EXPECT_EQ(Pool::Capacity(*dflt), 2);
  EXPECT_EQ(Pool::Capacity(*p.Ref("three", 5)), 3);  // a second reference changes nothing
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(p.Acquire(*three, i, Usable, &dead, [t0] { return t0; }).got, Pool::Got::kConnect);
  EXPECT_EQ(p.Acquire(*three, 3, Usable, &dead, [t0] { return t0; }).got, Pool::Got::kQueued);
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(p.Acquire(*dflt, i, Usable, &dead, [t0] { return t0; }).got, Pool::Got::kConnect);
  EXPECT_EQ(p.Acquire(*dflt, 2, Usable, &dead, [t0] { return t0; }).got, Pool::Got::kQueued);
}

Frame FrameOf(const std::string& bytes) { return FrameOfMessage(bytes); }

TEST(StatementRenameTest, ParseBindDescribeCloseGetTheNewName) {
  std::string parse;
  AppendMessage(&parse, 'P', std::string("P0_1\0SELECT $1\0\0\1\0\0\0\x17", 21));
  Frame pf = FrameOf(parse);
  EXPECT_EQ(ParseDefinition(pf), std::string_view("SELECT $1\0\0\1\0\0\0\x17", 16));
  std::string out;
  ASSERT_TRUE(AppendRenamedStatement(pf, "pgvigil_s7", &out));
  std::string want;
  AppendMessage(&want, 'P', std::string("pgvigil_s7\0SELECT $1\0\0\1\0\0\0\x17", 27));
  EXPECT_EQ(out, want);

  std::string bind;
  AppendMessage(&bind, 'B', std::string("portal\0P0_1\0\0\0\0\0\0\0", 19));
  out.clear();
  ASSERT_TRUE(AppendRenamedStatement(FrameOf(bind), "s", &out));
  want.clear();
  AppendMessage(&want, 'B', std::string("portal\0s\0\0\0\0\0\0\0", 16));
  EXPECT_EQ(out, want);

  for (char type : {'D', 'C'}) {
    std::string m;
    AppendMessage(&m, type, std::string("SP0_1\0", 6));
    out.clear();
    ASSERT_TRUE(AppendRenamedStatement(FrameOf(m), "x1", &out));
    want.clear();
    AppendMessage(&want, type, std::string("Sx1\0", 4));
    EXPECT_EQ(out, want);
    // A portal is not a statement: nothing appended.
    std::string portal;
    AppendMessage(&portal, type, std::string("Pp\0", 3));
    out.clear();
    EXPECT_FALSE(AppendRenamedStatement(FrameOf(portal), "x1", &out));
    EXPECT_TRUE(out.empty());
  }
  // Malformed or other messages: refused.
  std::string q;
  AppendQuery(&q, "SELECT 1");
  EXPECT_FALSE(AppendRenamedStatement(FrameOf(q), "x", &out));
  std::string bad;
  AppendMessage(&bad, 'P', std::string("noterminator", 12));
  EXPECT_FALSE(AppendRenamedStatement(FrameOf(bad), "x", &out));
  EXPECT_TRUE(ParseDefinition(FrameOf(bad)).empty());
}

}  // namespace
}  // namespace pgvigil::proxy
