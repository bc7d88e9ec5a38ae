#include "sidecar/proxy/tx_backends.h"

#include <boost/asio.hpp>
#include <exception>

#include "sidecar/proxy/backend_conn.h"
#include "sidecar/proxy/handler_memory.h"
#include "sidecar/proxy/proxy_shared.h"
#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

namespace {
bool Parked(const std::shared_ptr<BackendConn>& b) { return b && b->state() == BackendConn::State::kIdle; }
constexpr std::chrono::seconds kStampAhead{1};  // the sweep's period
}  // namespace

TxSlot::~TxSlot() {
  if (auto p = pool.lock()) p->SlotFreed(key);
}

TxSlot::TxSlot(TxBackends* owner, TxKey* key) : pool(owner->weak_from_this()), backends(owner), key(key) {}

TxBackends::TxBackends(Worker* w, int size, int workers, int index)
    : worker_(w),
      size_(size),
      workers_(workers),
      index_(index),
      pool_(TxPoolShare(size, workers, index)),
      stamp_(Clock::now() + kStampAhead) {}

TxBackends::Pool::Got TxBackends::Acquire(TxKey* key, TxWaiter s, std::shared_ptr<BackendConn>* conn,
                                          std::shared_ptr<TxSlot>* slot, Clock::time_point* queued_at) {
  for (;;) {
    std::vector<std::shared_ptr<BackendConn>> dead;
    auto a = pool_.Acquire(*key, s, Parked, &dead, [queued_at] { return *queued_at = Clock::now(); });
    for (auto& d : dead) d->Close("closed while parked in the transaction pool");
    if (a.got == Pool::Got::kConnect) *slot = std::make_shared<TxSlot>(this, key);
    if (a.got != Pool::Got::kTakeOver) {
      if (a.got == Pool::Got::kIdle) *conn = std::move(a.conn);
      return a.got;
    }
    // Lent to another client (or to this one, for its other backend): it lets
    // go first, then the backend is parked as if released.
    std::shared_ptr<BackendConn> b = std::move(a.conn);
    b->lent = false;
    a.holder.session->OnLentTaken(b.get());
    if (b->state() == BackendConn::State::kReady && b->Park()) {
      *conn = std::move(b);
      return Pool::Got::kIdle;
    }
    b->Close("lent backend not reusable when taken over");
  }
}

bool TxBackends::Lend(const std::shared_ptr<BackendConn>& b, ClientSession* holder) {
  if (b->lent) return true;
  if (!b->poolSlot || !pool_.Lend(*b->poolSlot->key, b, {holder, 0}, stamp_)) return false;
  b->lent = true;
  return true;
}

void TxBackends::Claim(BackendConn* b) {
  if (!b->lent) return;
  b->lent = false;
  if (b->poolSlot) pool_.Claim(*b->poolSlot->key, [b](const std::shared_ptr<BackendConn>& c) { return c.get() == b; });
}

void TxBackends::Release(std::shared_ptr<BackendConn> b) {
  Claim(b.get());
  if (!b->poolSlot || (b->state() != BackendConn::State::kIdle && !b->Park())) {
    b->Close("cannot go back to the transaction pool");
    return;
  }
  TxKey& key = *b->poolSlot->key;
  auto handoff = pool_.Release(key, std::move(b), stamp_);  // moved: no reference count up and down
  if (handoff) Grant(handoff->first, std::move(handoff->second), nullptr);
}

void TxBackends::SlotFreed(TxKey* key) {
  if (auto s = pool_.SlotFreed(*key)) Grant(*s, nullptr, std::make_shared<TxSlot>(this, key));
}

struct TxBackends::PendingGrant {
  TxBackends* pool;
  std::shared_ptr<ClientSession> session;
  uint64_t ticket;
  std::shared_ptr<BackendConn> conn;
  std::shared_ptr<TxSlot> slot;
};

namespace {
// This thread's open TxGrantScopes and the grants waiting for the outermost to close.
struct GrantTail {
  int depth = 0;
  std::vector<TxBackends::PendingGrant> grants;
};
GrantTail& Tail() {
  thread_local GrantTail t;
  return t;
}
}  // namespace

void TxGrantScope::Enter() { ++Tail().depth; }

void TxGrantScope::PostFrom(size_t i) {
  GrantTail& t = Tail();
  for (; i < t.grants.size(); ++i) t.grants[i].pool->PostGrant(std::move(t.grants[i]));
  t.grants.clear();
  --t.depth;
}

void TxGrantScope::LeaveByException() {
  GrantTail& t = Tail();
  if (t.depth > 1) {
    --t.depth;  // the outermost scope posts them
    return;
  }
  PostFrom(0);
}

void TxGrantScope::Leave() {
  GrantTail& t = Tail();
  if (t.depth > 1 || t.grants.empty()) {
    --t.depth;
    return;
  }
  // The outermost scope: the depth stays 1 while the grants run, so that one
  // made by a grant (a backend the granted client could not use, released
  // again) joins the list and runs in this loop too. A grant leaving by an
  // exception: what is left is posted as before.
  size_t i = 0;
  try {
    for (; i < t.grants.size(); ++i) {
      TxBackends::PendingGrant g = std::move(t.grants[i]);
      g.session->OnTxGrant(g.ticket, std::move(g.conn), std::move(g.slot));
    }
  } catch (...) {
    PostFrom(i + 1);
    throw;
  }
  t.grants.clear();
  --t.depth;
}

void TxBackends::Grant(TxWaiter w, std::shared_ptr<BackendConn>&& conn, std::shared_ptr<TxSlot>&& slot) {
  // A queued session is alive (Close cancels its place); it runs the grant
  // when this read handler returns, or on its next turn. Should it close
  // before then, what it got goes back: the backend to the pool, the slot
  // freed with it.
  PendingGrant g{this, w.session->shared_from_this(), w.ticket, std::move(conn), std::move(slot)};
  GrantTail& t = Tail();
  if (t.depth > 0) {
    worker_->shared->metrics->poolGrantsAtHandlerEnd.Inc();
    t.grants.push_back(std::move(g));
    return;
  }
  PostGrant(std::move(g));
}

void TxBackends::PostGrant(PendingGrant g) {
  boost::asio::post(worker_->io, UseHandlerMemory([g = std::move(g)]() mutable {
                      g.session->OnTxGrant(g.ticket, std::move(g.conn), std::move(g.slot));
                    }));
}

void TxBackends::Sweep(std::chrono::milliseconds timeout) {
  const auto now = Clock::now();
  stamp_ = now + kStampAhead;
  auto out = pool_.Expire(now, timeout, Parked);
  for (auto& b : out) b->Close("parked longer than proxy.pool.idleTimeout");
  for (auto& [holder, b] : pool_.ExpireLent(now, timeout)) {
    b->lent = false;
    holder.session->OnLentTaken(b.get());
    b->Close("idle (lent to its last client) longer than proxy.pool.idleTimeout");
  }
}

}  // namespace pgvigil::proxy
