// Transaction pooling on one worker: the pure TxPool (tx_pool.h) with its I/O
// around it. Backends are shared per pool key (node, user, database, startup
// options); each backend holds a TxSlot, and its slot is freed when the slot is
// destroyed (the backend closed, a login failed, a granted client went away),
// whatever path dropped it, so the count cannot drift. Handing a backend or a
// slot to a waiting client is posted to the worker's loop, never run inside
// the releasing client's handler. Worker thread only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sidecar/proxy/tx_pool.h"

namespace pgvigil::proxy {

class BackendConn;
class ClientSession;
struct Worker;
class TxBackends;

// One slot of a pool, held by the backend using it (BackendConn::poolSlot) or
// by a client about to open one.
struct TxSlot {
  TxSlot(std::weak_ptr<TxBackends> pool, std::string key) : pool(std::move(pool)), key(std::move(key)) {}
  ~TxSlot();
  TxSlot(const TxSlot&) = delete;
  TxSlot& operator=(const TxSlot&) = delete;
  std::weak_ptr<TxBackends> pool;
  const std::string key;
};

// A queued client, with the number of its wait: a grant meant for a wait the
// client gave up (timeout) is not taken for a later one.
struct TxWaiter {
  ClientSession* session = nullptr;
  uint64_t ticket = 0;
  bool operator==(const TxWaiter& o) const { return session == o.session && ticket == o.ticket; }
};

class TxBackends : public std::enable_shared_from_this<TxBackends> {
 public:
  using Pool = TxPool<std::shared_ptr<BackendConn>, TxWaiter>;
  TxBackends(Worker* w, int slots_per_key) : worker_(w), pool_(slots_per_key) {}

  // kIdle: *conn is a parked backend to adopt; kConnect: *slot is the slot for a
  // new backend; kQueued: the client gets OnTxGrant later (or cancels).
  Pool::Got Acquire(const std::string& key, TxWaiter w, std::shared_ptr<BackendConn>* conn,
                    std::shared_ptr<TxSlot>* slot);
  // A backend at a transaction boundary (kReady, no owner): parked and handed
  // to the first waiter, or kept idle. One without a slot, or that cannot be
  // parked, is closed.
  void Release(std::shared_ptr<BackendConn> b);
  void Cancel(const std::string& key, TxWaiter w) { pool_.Cancel(key, w); }
  // Closes idle backends past `timeout` (0: never) or closed already.
  void Sweep(std::chrono::milliseconds timeout);
  const Pool& pool() const { return pool_; }
  // From ~TxSlot.
  void SlotFreed(const std::string& key);

 private:
  void Grant(TxWaiter w, std::shared_ptr<BackendConn> conn, std::shared_ptr<TxSlot> slot);
  Worker* worker_;
  Pool pool_;
};

}  // namespace pgvigil::proxy
