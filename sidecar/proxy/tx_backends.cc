#include "sidecar/proxy/tx_backends.h"

#include <boost/asio.hpp>

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
  auto handoff = pool_.Release(*b->poolSlot->key, b, stamp_);
  if (handoff) Grant(handoff->first, std::move(handoff->second), nullptr);
}

void TxBackends::SlotFreed(TxKey* key) {
  if (auto s = pool_.SlotFreed(*key)) Grant(*s, nullptr, std::make_shared<TxSlot>(this, key));
}

void TxBackends::Grant(TxWaiter w, std::shared_ptr<BackendConn> conn, std::shared_ptr<TxSlot> slot) {
  // A queued session is alive (Close cancels its place); it runs the grant on
  // its next turn. Should it close before then, what it got goes back: the
  // backend to the pool, the slot freed with it.
  std::shared_ptr<ClientSession> self = w.session->shared_from_this();
  boost::asio::post(worker_->io, UseHandlerMemory([self, ticket = w.ticket, conn = std::move(conn),
                                                 slot = std::move(slot)]() mutable {
                      self->OnTxGrant(ticket, std::move(conn), std::move(slot));
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
