#include "sidecar/proxy/tx_backends.h"

#include <boost/asio.hpp>

#include "sidecar/proxy/backend_conn.h"
#include "sidecar/proxy/proxy_shared.h"
#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

namespace {
bool Parked(const std::shared_ptr<BackendConn>& b) { return b && b->state() == BackendConn::State::kIdle; }
}  // namespace

TxSlot::~TxSlot() {
  if (auto p = pool.lock()) p->SlotFreed(key);
}

TxBackends::Pool::Got TxBackends::Acquire(const std::string& key, TxWaiter s,
                                          std::shared_ptr<BackendConn>* conn, std::shared_ptr<TxSlot>* slot) {
  std::vector<std::shared_ptr<BackendConn>> dead;
  auto a = pool_.Acquire(key, s, Parked, &dead, std::chrono::steady_clock::now());
  for (auto& d : dead) d->Close("closed while parked in the transaction pool");
  if (a.got == Pool::Got::kIdle) *conn = std::move(a.conn);
  if (a.got == Pool::Got::kConnect) *slot = std::make_shared<TxSlot>(weak_from_this(), key);
  return a.got;
}

void TxBackends::Release(std::shared_ptr<BackendConn> b) {
  if (!b->poolSlot || (b->state() != BackendConn::State::kIdle && !b->Park())) {
    b->Close("cannot go back to the transaction pool");
    return;
  }
  auto handoff = pool_.Release(b->poolSlot->key, b, std::chrono::steady_clock::now());
  if (handoff) Grant(handoff->first, std::move(handoff->second), nullptr);
}

void TxBackends::SlotFreed(const std::string& key) {
  if (auto s = pool_.SlotFreed(key)) Grant(*s, nullptr, std::make_shared<TxSlot>(weak_from_this(), key));
}

void TxBackends::Grant(TxWaiter w, std::shared_ptr<BackendConn> conn, std::shared_ptr<TxSlot> slot) {
  // A queued session is alive (Close cancels its place); it runs the grant on
  // its next turn. Should it close before then, what it got goes back: the
  // backend to the pool, the slot freed with it.
  std::shared_ptr<ClientSession> self = w.session->shared_from_this();
  boost::asio::post(worker_->io, [self, ticket = w.ticket, conn = std::move(conn), slot = std::move(slot)]() mutable {
    self->OnTxGrant(ticket, std::move(conn), std::move(slot));
  });
}

void TxBackends::Sweep(std::chrono::milliseconds timeout) {
  auto out = pool_.Expire(std::chrono::steady_clock::now(), timeout, Parked);
  for (auto& b : out) b->Close("parked longer than proxy.pool.idleTimeout");
}

}  // namespace pgvigil::proxy
