// Transaction pooling on one worker: the pure TxPool (tx_pool.h) with its I/O
// around it. Backends are shared per pool key (node, user, database, startup
// options); each backend holds a TxSlot, and its slot is freed when the slot is
// destroyed (the backend closed, a login failed, a granted client went away),
// whatever path dropped it, so the count cannot drift. Handing a backend or a
// slot to a waiting client is posted to the worker's loop, never run inside
// the releasing client's handler. A backend at a transaction boundary with
// nobody waiting for its pool is lent to its client (sticky): still attached,
// counted idle, taken back by the client's next message to it
// (BackendConn::Send claims it) or taken over by another client that needs one.
// Worker thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sidecar/proxy/tx_pool.h"

namespace pgvigil::proxy {

class BackendConn;
class ClientSession;
struct Worker;
class TxBackends;

// A queued client, with the number of its wait: a grant meant for a wait the
// client gave up (timeout) is not taken for a later one. Ticket 0: a client
// holding a lent backend.
struct TxWaiter {
  ClientSession* session = nullptr;
  uint64_t ticket = 0;
  bool operator==(const TxWaiter& o) const { return session == o.session && ticket == o.ticket; }
};

using TxPoolKeys = TxPool<std::shared_ptr<BackendConn>, TxWaiter>;
using TxKey = TxPoolKeys::Key;

// One slot of a pool, held by the backend using it (BackendConn::poolSlot) or
// by a client about to open one. Its pool (key) lives at least as long.
struct TxSlot {
  TxSlot(TxBackends* owner, TxKey* key);
  ~TxSlot();
  TxSlot(const TxSlot&) = delete;
  TxSlot& operator=(const TxSlot&) = delete;
  std::weak_ptr<TxBackends> pool;
  // The pool itself, used for BackendConn::lent backends only (the pool holds
  // those, so it is alive then): no reference count per claim.
  TxBackends* const backends;
  TxKey* const key;
};

// Open while a socket read handler of this thread runs (client or backend
// connection): a backend or slot freed for a queued client inside it is handed
// over when the outermost scope closes, as the handler returns, before the loop
// runs any other handler. Outside a scope (a timer, a posted handler) the grant
// is posted, as before. Either way the grant runs in a handler of its own, never
// inside the releasing client's: the end of the read handler is the front of the
// loop's queue, where a post made while nothing else is ready runs too, so no
// order of events is new. Posted, a grant waited behind every handler the loop
// had ready (up to one per client at 64 clients) while its backend sat idle.
// Run(handler) is the scope: the handler leaving by an exception is caught
// and rethrown here (what is left is posted), where a destructor had to ask
// std::uncaught_exceptions() (an out-of-line call) for every grant.
class TxGrantScope {
 public:
  template <typename Handler>
  static void Run(Handler&& handler) {
    Enter();
    try {
      handler();
    } catch (...) {
      LeaveByException();
      throw;
    }
    Leave();
  }

 private:
  static void Enter();
  static void Leave();
  static void LeaveByException();
  static void PostFrom(size_t i);  // the grants from i on, posted; the scope closed
};

class TxBackends : public std::enable_shared_from_this<TxBackends> {
 public:
  using Pool = TxPoolKeys;
  using Clock = std::chrono::steady_clock;
  // This worker (index of workers) keeps its share of `size` backends per pool (TxPoolShare).
  TxBackends(Worker* w, int size, int workers, int index);

  // A client's reference to the pool of `key` of node `node` (its place in
  // routing, for the share; kept for its session; Unref when it closes).
  TxKey* Ref(const std::string& key, int node) { return pool_.Ref(key, TxPoolShare(size_, workers_, index_, node)); }
  void Unref(TxKey* k) { pool_.Unref(k); }

  // kIdle: *conn is a parked backend to adopt (an idle one, or one taken over
  // from the client it was lent to); kConnect: *slot is the slot for a new
  // backend; kQueued: the client gets OnTxGrant later (or cancels); it queued
  // at *queued_at (the one clock read, only then).
  Pool::Got Acquire(TxKey* key, TxWaiter w, std::shared_ptr<BackendConn>* conn, std::shared_ptr<TxSlot>* slot,
                    Clock::time_point* queued_at);
  // A backend at a transaction boundary (kReady, no owner): parked and handed
  // to the first waiter, or kept idle. One without a slot, or that cannot be
  // parked, is closed. A lent one is claimed first.
  void Release(std::shared_ptr<BackendConn> b);
  // A backend at a transaction boundary stays with its client `holder` (lent):
  // false when someone waits for its pool (then Release it).
  bool Lend(const std::shared_ptr<BackendConn>& b, ClientSession* holder);
  // Someone waits for the pool of this slot (a backend's BackendConn::poolSlot;
  // none: false): Lend would refuse its backend. Inline, for the session at
  // every transaction boundary.
  bool Waited(const TxSlot* slot) const { return slot && pool_.HasWaiters(*slot->key); }
  // Its client uses the lent backend again, or it closes (BackendConn).
  void Claim(BackendConn* b);
  void Cancel(TxKey* key, TxWaiter w) { pool_.Cancel(*key, w); }
  // Closes idle backends past `timeout` (0: never) or closed already, and
  // lent ones past it (taken from their clients first).
  void Sweep(std::chrono::milliseconds timeout);
  const Pool& pool() const { return pool_; }
  // From ~TxSlot.
  void SlotFreed(TxKey* key);
  // A grant not yet run (tx_backends.cc).
  struct PendingGrant;

 private:
  // conn and slot by reference: moved once, into the pending grant.
  void Grant(TxWaiter w, std::shared_ptr<BackendConn>&& conn, std::shared_ptr<TxSlot>&& slot);
  friend class TxGrantScope;
  void PostGrant(PendingGrant g);
  Worker* worker_;
  const int size_, workers_, index_;
  Pool pool_;
  // When idle and lent backends went idle, to a second (no clock read per
  // transaction): one second past the last sweep's time, so never earlier
  // than the truth and an idle timeout is never cut short.
  Clock::time_point stamp_;
};

}  // namespace pgvigil::proxy
