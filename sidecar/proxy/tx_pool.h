// The transaction-mode backend pool of one worker, pure (no I/O, no clock of
// its own): per pool key (node, user, database, startup options) a limit of
// backends ("slots"), the idle ones (newest first) and a FIFO queue of clients
// waiting for one. A slot is taken by Acquire (a new connection may be opened)
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

template <typename Conn, typename Waiter>
class TxPool {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Got { kIdle, kConnect, kQueued };
  struct Acquired {
    Got got = Got::kQueued;
    Conn conn{};  // kIdle: the backend to use
  };
  struct Stats {
    std::string key;
    int slots = 0;    // backends of this pool (in use, idle or connecting)
    int idle = 0;
    int waiting = 0;
    Clock::duration maxWait{};  // how long the first waiter has waited
  };

  explicit TxPool(int slots_per_key) : cap_(std::max(1, slots_per_key)) {}
  TxPool(const TxPool&) = delete;
  TxPool& operator=(const TxPool&) = delete;

  int capacity() const { return cap_; }

  // An idle backend for which usable(c) holds (unusable ones go to *dead: the
  // caller closes them, which frees their slots), else a new slot when the pool
  // is below its limit, else `w` is queued (FIFO).
  template <typename Usable>
  Acquired Acquire(const std::string& key, Waiter w, Usable usable, std::vector<Conn>* dead, Clock::time_point now) {
    Key& k = keys_[key];
    while (!k.idle.empty()) {
      Conn c = std::move(k.idle.back().conn);
      k.idle.pop_back();
      if (usable(c)) return {Got::kIdle, std::move(c)};
      dead->push_back(std::move(c));
    }
    // Slots of dead backends are freed when the caller closes them; until then
    // a newcomer must not overtake the clients already waiting.
    if (k.slots < cap_ && k.waiters.empty()) {
      k.slots++;
      return {Got::kConnect, Conn{}};
    }
    k.waiters.push_back({w, now});
    return {Got::kQueued, Conn{}};
  }

  // A backend back at a transaction boundary: handed to the first waiter
  // (returned), else kept idle since `now`.
  std::optional<std::pair<Waiter, Conn>> Release(const std::string& key, Conn c, Clock::time_point now) {
    Key& k = keys_[key];
    if (!k.waiters.empty()) {
      Waiter w = k.waiters.front().w;
      k.waiters.pop_front();
      return std::make_pair(w, std::move(c));
    }
    k.idle.push_back({std::move(c), now});
    return std::nullopt;
  }

  // A slot's backend is gone: the first waiter gets the slot (returned; it
  // opens a new backend), else the slot is free.
  std::optional<Waiter> SlotFreed(const std::string& key) {
    auto it = keys_.find(key);
    if (it == keys_.end()) return std::nullopt;
    Key& k = it->second;
    if (!k.waiters.empty()) {
      Waiter w = k.waiters.front().w;
      k.waiters.pop_front();
      return w;
    }
    if (k.slots > 0) k.slots--;
    Prune(it);
    return std::nullopt;
  }

  // A waiter gives up (queue timeout, client gone). True when it was queued.
  bool Cancel(const std::string& key, Waiter w) {
    auto it = keys_.find(key);
    if (it == keys_.end()) return false;
    auto& q = it->second.waiters;
    for (auto x = q.begin(); x != q.end(); ++x) {
      if (x->w == w) {
        q.erase(x);
        Prune(it);
        return true;
      }
    }
    return false;
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

  // The idle backends (for SHOW servers).
  template <typename F>
  void ForEachIdle(F f) const {
    for (const auto& [key, k] : keys_)
      for (const auto& e : k.idle) f(key, e.conn, e.since);
  }
  std::vector<Stats> Snapshot(Clock::time_point now) const {
    std::vector<Stats> out;
    for (const auto& [key, k] : keys_) {
      Stats s;
      s.key = key;
      s.slots = k.slots;
      s.idle = int(k.idle.size());
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

 private:
  struct IdleEntry {
    Conn conn;
    Clock::time_point since;
  };
  struct WaitEntry {
    Waiter w;
    Clock::time_point since;
  };
  struct Key {
    int slots = 0;
    std::vector<IdleEntry> idle;  // newest last
    std::deque<WaitEntry> waiters;
  };
  void Prune(typename std::map<std::string, Key>::iterator it) {
    const Key& k = it->second;
    if (k.slots == 0 && k.idle.empty() && k.waiters.empty()) keys_.erase(it);
  }

  int cap_;
  std::map<std::string, Key> keys_;
};

// The share of proxy.pool.size that worker `index` of `workers` keeps: the size
// divided between them, at least one each (so with fewer slots than workers the
// proxy as a whole may open up to `workers` backends per pool).
inline int TxPoolShare(int size, int workers, int index) {
  if (workers <= 1) return std::max(1, size);
  int share = size / workers + (index < size % workers ? 1 : 0);
  return std::max(1, share);
}

}  // namespace pgvigil::proxy
