// The transaction-mode backend pool of one worker, pure (no I/O, no clock of
// its own): per pool key (node, user, database, startup options) a limit of
// backends ("slots"), the idle ones (newest first), the ones lent to their
// last client (sticky until another client needs one) and a FIFO queue of
// clients waiting for one. A slot is taken by Acquire (a new connection may be opened)
// and given back by SlotFreed when that backend is gone (closed, login failed,
// never opened); the next waiter then gets the slot. A backend released at a
// transaction boundary goes straight to the first waiter, else it idles.
// Not thread-safe: one worker's thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgvigil::proxy {

// How busy a pool is for a newcomer (TxPool::Load).
struct TxPoolLoad {
  bool ready = false;  // it would get a backend at once
  int waiting = 0;     // else it would queue behind this many
};
// A balanced read may go to any of several nodes' pools: `b` serves it sooner
// than `a` (the weighted pick) when it has a backend ready and `a` has not.
// Queue lengths are not compared: joining the shortest queue kept every
// node's queue non-empty, so no backend was ever lent at a transaction's end
// (TxPool::Lend) and every transaction took the queue's longer way (more
// instructions per transaction at 64 clients); the weighted pick's queue it is.
inline bool ServesSooner(TxPoolLoad b, TxPoolLoad a) { return b.ready && !a.ready; }

template <typename Conn, typename Waiter>
class TxPool {
 public:
  using Clock = std::chrono::steady_clock;
  // kTakeOver: a backend lent to its last client (Lend), taken from it: the
  // caller detaches it from `holder` before using it.
  enum class Got { kIdle, kConnect, kQueued, kTakeOver };
  struct Acquired {
    Got got = Got::kQueued;
    Conn conn{};      // kIdle, kTakeOver: the backend to use
    Waiter holder{};  // kTakeOver: the client it was lent to
  };
  struct Stats {
    std::string key;
    int slots = 0;    // backends of this pool (in use, idle or connecting)
    int idle = 0;     // idle, lent ones included
    int lent = 0;     // idle but still with their last client (Lend)
    int waiting = 0;
    Clock::duration maxWait{};  // how long the first waiter has waited
  };
  // One pool (key). Its address stays valid while it is referenced (Ref), has
  // slots, idle or lent backends or waiters: a client keeps it (Ref) instead of
  // looking the key up for every transaction.
  struct Key;

  explicit TxPool(int slots_per_key) : cap_(std::max(1, slots_per_key)) {}
  TxPool(const TxPool&) = delete;
  TxPool& operator=(const TxPool&) = delete;

  // The limit of keys created without one of their own.
  int capacity() const { return cap_; }
  static int Capacity(const Key& k) { return k.cap; }

  // The pool of `key`, created if need be, held until Unref. `cap` (> 0) is its
  // limit when this creates it (else the pool's); a key keeps its limit while
  // it exists.
  Key* Ref(const std::string& key, int cap = 0) {
    Key* k = &At(key, cap);
    k->refs++;
    return k;
  }
  void Unref(Key* k) {
    if (k->refs > 0) k->refs--;
    Prune(k);
  }
  static const std::string& Name(const Key& k) { return *k.name; }

  // An idle backend for which usable(c) holds (unusable ones go to *dead: the
  // caller closes them, which frees their slots), else a new slot when the pool
  // is below its limit, else a backend lent to another client (the one lent
  // longest), else `w` is queued (FIFO) since now().
  template <typename Usable, typename Now>
  Acquired Acquire(Key& k, Waiter w, Usable usable, std::vector<Conn>* dead, Now now) {
    while (!k.idle.empty()) {
      Conn c = std::move(k.idle.back().conn);
      k.idle.pop_back();
      if (usable(c)) return {Got::kIdle, std::move(c), Waiter{}};
      dead->push_back(std::move(c));
    }
    // Slots of dead backends are freed when the caller closes them; until then
    // a newcomer must not overtake the clients already waiting.
    if (k.slots < k.cap && k.waiters.empty()) {
      k.slots++;
      return {Got::kConnect, Conn{}, Waiter{}};
    }
    // Lending stops while anyone waits (see Lend), so a lent backend here
    // means nobody does: the newcomer overtakes no one.
    if (!k.lent.empty()) {
      Acquired a{Got::kTakeOver, std::move(k.lent.front().conn), k.lent.front().holder};
      k.lent.erase(k.lent.begin());
      return a;
    }
    k.waiters.push_back({w, now()});
    return {Got::kQueued, Conn{}, Waiter{}};
  }
  template <typename Usable>
  Acquired Acquire(const std::string& key, Waiter w, Usable usable, std::vector<Conn>* dead, Clock::time_point now) {
    return Acquire(At(key), w, usable, dead, [now] { return now; });
  }

  // A backend back at a transaction boundary: handed to the first waiter
  // (returned), else kept idle since `now`.
  std::optional<std::pair<Waiter, Conn>> Release(Key& k, Conn c, Clock::time_point now) {
    if (!k.waiters.empty()) {
      Waiter w = k.waiters.front().w;
      k.waiters.pop_front();
      return std::make_pair(w, std::move(c));
    }
    k.idle.push_back({std::move(c), now});
    return std::nullopt;
  }
  std::optional<std::pair<Waiter, Conn>> Release(const std::string& key, Conn c, Clock::time_point now) {
    return Release(At(key), std::move(c), now);
  }

  // Sticky backends: at a transaction boundary with nobody waiting for this
  // pool, the backend stays with its client (`holder`) but counts as idle: the
  // client's next transaction takes it back (Claim) without a release and an
  // acquire; another client needing one while none is idle and the pool is
  // full takes it over (Acquire, kTakeOver). False (nothing done) when
  // someone waits: then it must be released to them.
  bool Lend(Key& k, Conn c, Waiter holder, Clock::time_point now) {
    if (!k.waiters.empty()) return false;
    k.lent.push_back({std::move(c), holder, now});
    return true;
  }
  // The holder uses its lent backend again (same(c) picks it): true when it was
  // still lent (not taken over, not expired).
  template <typename Same>
  bool Claim(Key& k, Same same) {
    for (auto it = k.lent.begin(); it != k.lent.end(); ++it) {
      if (same(it->conn)) {
        k.lent.erase(it);
        return true;
      }
    }
    return false;
  }
  bool HasWaiters(const Key& k) const { return !k.waiters.empty(); }
  // What an Acquire of k would get now: a backend (idle, lent, or a free slot
  // to open one), else a place behind `waiting` clients.
  static TxPoolLoad Load(const Key& k) {
    const bool ready = !k.idle.empty() || !k.lent.empty() || (k.slots < k.cap && k.waiters.empty());
    return {ready, int(k.waiters.size())};
  }

  // A slot's backend is gone: the first waiter gets the slot (returned; it
  // opens a new backend), else the slot is free.
  std::optional<Waiter> SlotFreed(Key& k) {
    if (!k.waiters.empty()) {
      Waiter w = k.waiters.front().w;
      k.waiters.pop_front();
      return w;
    }
    if (k.slots > 0) k.slots--;
    Prune(&k);
    return std::nullopt;
  }
  std::optional<Waiter> SlotFreed(const std::string& key) {
    auto it = keys_.find(key);
    if (it == keys_.end()) return std::nullopt;
    return SlotFreed(it->second);
  }

  // A waiter gives up (queue timeout, client gone). True when it was queued.
  bool Cancel(Key& k, Waiter w) {
    auto& q = k.waiters;
    for (auto x = q.begin(); x != q.end(); ++x) {
      if (x->w == w) {
        q.erase(x);
        Prune(&k);
        return true;
      }
    }
    return false;
  }
  bool Cancel(const std::string& key, Waiter w) {
    auto it = keys_.find(key);
    return it != keys_.end() && Cancel(it->second, w);
  }

  // Idle backends past the timeout (0: none) or no longer usable, taken out;
  // the caller closes them (their slots are freed then).
  template <typename Usable>
  std::vector<Conn> Expire(Clock::time_point now, std::chrono::milliseconds timeout, Usable usable) {
    std::vector<Conn> out;
    for (auto& [key, k] : keys_) {
      for (auto e = k.idle.begin(); e != k.idle.end();) {
        if ((timeout.count() > 0 && now - e->since >= timeout) || !usable(e->conn)) {
          out.push_back(std::move(e->conn));
          e = k.idle.erase(e);
        } else {
          ++e;
        }
      }
    }
    return out;
  }
  // Lent backends idle past the timeout (0: none), taken out with their
  // holders: the caller detaches and closes them.
  std::vector<std::pair<Waiter, Conn>> ExpireLent(Clock::time_point now, std::chrono::milliseconds timeout) {
    std::vector<std::pair<Waiter, Conn>> out;
    if (timeout.count() <= 0) return out;
    for (auto& [key, k] : keys_) {
      for (auto e = k.lent.begin(); e != k.lent.end();) {
        if (now - e->since >= timeout) {
          out.emplace_back(e->holder, std::move(e->conn));
          e = k.lent.erase(e);
        } else {
          ++e;
        }
      }
    }
    return out;
  }

  // The idle backends, lent ones too (for SHOW servers).
  template <typename F>
  void ForEachIdle(F f) const {
    for (const auto& [key, k] : keys_) {
      for (const auto& e : k.idle) f(key, e.conn, e.since);
      for (const auto& e : k.lent) f(key, e.conn, e.since);
    }
  }
  std::vector<Stats> Snapshot(Clock::time_point now) const {
    std::vector<Stats> out;
    for (const auto& [key, k] : keys_) {
      if (k.slots == 0 && k.idle.empty() && k.lent.empty() && k.waiters.empty()) continue;  // only referenced
      Stats s;
      s.key = key;
      s.slots = k.slots;
      s.idle = int(k.idle.size() + k.lent.size());
      s.lent = int(k.lent.size());
      s.waiting = int(k.waiters.size());
      if (!k.waiters.empty()) s.maxWait = now - k.waiters.front().since;
      out.push_back(std::move(s));
    }
    return out;
  }
  int Waiting(const std::string& key) const {
    auto it = keys_.find(key);
    return it == keys_.end() ? 0 : int(it->second.waiters.size());
  }

  struct Key {
   private:
    friend class TxPool;
    struct IdleEntry {
      Conn conn;
      Clock::time_point since;
    };
    struct LentEntry {
      Conn conn;
      Waiter holder;
      Clock::time_point since;
    };
    struct WaitEntry {
      Waiter w;
      Clock::time_point since;
    };
    const std::string* name = nullptr;  // its key in keys_
    int cap = 1;                        // its limit of slots
    int refs = 0;
    int slots = 0;
    std::vector<IdleEntry> idle;  // newest last
    std::vector<LentEntry> lent;  // lent longest first
    std::deque<WaitEntry> waiters;
  };

 private:
  Key& At(const std::string& key, int cap = 0) {
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      it = keys_.emplace(key, Key{}).first;
      it->second.name = &it->first;
      it->second.cap = cap > 0 ? cap : cap_;
    }
    return it->second;
  }
  void Prune(Key* k) {
    if (k->refs == 0 && k->slots == 0 && k->idle.empty() && k->lent.empty() && k->waiters.empty())
      keys_.erase(keys_.find(*k->name));
  }

  int cap_;
  std::map<std::string, Key> keys_;
};

// The share of proxy.pool.size that worker `index` of `workers` keeps for the
// pool of node `node` (its place in the routing table): the size divided
// between them, at least one each (so with fewer slots than workers the proxy
// as a whole may open up to `workers` backends per pool). The slots left over
// go to other workers from one node to the next, so that every worker holds
// about as many backends over all nodes: with 7 per node, 2 workers and 2
// standbys, 4 + 3 and 3 + 4, not 4 + 4 and 3 + 3 (balanced reads of one
// worker's clients wait on its backends of every node).
inline int TxPoolShare(int size, int workers, int index, int node = 0) {
  if (workers <= 1) return std::max(1, size);
  const int turn = (index + std::max(0, node)) % workers;
  int share = size / workers + (turn < size % workers ? 1 : 0);
  return std::max(1, share);
}

}  // namespace pgvigil::proxy
