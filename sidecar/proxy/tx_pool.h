// The transaction-mode backend pool of one worker, pure (no I/O, no clock of
// its own): per pool key (node, user, database, startup options) its backends
// ("slots"), the idle ones (newest first) and a FIFO queue of clients waiting
// for one. The limit of backends per key is for the whole proxy: a TxBudget
// shared by every worker's pool. A slot is taken by Acquire (a new connection
// may be opened) and given back by SlotFreed when that backend is gone
// (closed, login failed, never opened); the next waiter of this worker then
// gets the slot, else it goes back to the budget, where a waiter of another
// worker takes it (GrantFreed). A backend released at a transaction boundary
// goes straight to the first waiter, else it idles, unless a client of
// another worker waits for the key (WantedElsewhere: the caller closes it, so
// its slot moves there). TxPool is not thread-safe: one worker's thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pgvigil::proxy {

// proxy.pool.size for the whole proxy: backends per pool key, counted over
// every worker, and the clients queued for a key in any worker. Thread-safe
// (one mutex, taken when a backend is opened or closed and when a client
// queues or stops waiting, never for a transaction on a pooled backend).
class TxBudget {
 public:
  explicit TxBudget(int size) : size_(std::max(1, size)) {}
  int size() const { return size_; }
  // One more backend of `key`, when below the size.
  bool TryTake(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    Entry& e = keys_[key];
    if (e.used >= size_) return false;
    e.used++;
    return true;
  }
  void Give(const std::string& key) { Change(key, -1, 0); }
  void Waiting(const std::string& key, int delta) { Change(key, 0, delta); }
  int Used(const std::string& key) const { return Get(key).used; }
  int Waiters(const std::string& key) const { return Get(key).waiters; }

 private:
  struct Entry {
    int used = 0, waiters = 0;
  };
  void Change(const std::string& key, int used, int waiters) {
    std::lock_guard<std::mutex> l(mu_);
    Entry& e = keys_[key];
    e.used = std::max(0, e.used + used);
    e.waiters = std::max(0, e.waiters + waiters);
    if (e.used == 0 && e.waiters == 0) keys_.erase(key);
  }
  Entry Get(const std::string& key) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = keys_.find(key);
    return it == keys_.end() ? Entry{} : it->second;
  }
  const int size_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> keys_;
};

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

  // A pool alone (its own budget), or one of several sharing `budget`.
  explicit TxPool(int slots_per_key) : budget_(std::make_shared<TxBudget>(slots_per_key)) {}
  explicit TxPool(std::shared_ptr<TxBudget> budget) : budget_(std::move(budget)) {}
  TxPool(const TxPool&) = delete;
  TxPool& operator=(const TxPool&) = delete;

  int capacity() const { return budget_->size(); }
  const TxBudget& budget() const { return *budget_; }

  // An idle backend for which usable(c) holds (unusable ones go to *dead: the
  // caller closes them, which frees their slots), else a new slot when the
  // budget has one, else `w` is queued (FIFO).
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
    if (k.waiters.empty() && budget_->TryTake(key)) {
      k.slots++;
      return {Got::kConnect, Conn{}};
    }
    k.waiters.push_back({w, now});
    budget_->Waiting(key, 1);
    return {Got::kQueued, Conn{}};
  }

  // A backend back at a transaction boundary: handed to the first waiter
  // (returned), else kept idle since `now`.
  std::optional<std::pair<Waiter, Conn>> Release(const std::string& key, Conn c, Clock::time_point now) {
    Key& k = keys_[key];
    if (!k.waiters.empty()) return std::make_pair(PopWaiter(key, k), std::move(c));
    k.idle.push_back({std::move(c), now});
    return std::nullopt;
  }

  // Whether a backend of `key` released now should be closed rather than kept
  // idle: no client of this worker waits for it, one of another worker does.
  bool WantedElsewhere(const std::string& key) const { return Waiting(key) == 0 && budget_->Waiters(key) > 0; }

  // A slot's backend is gone: the first waiter gets the slot (returned; it
  // opens a new backend), else the slot goes back to the budget (the caller
  // tells the other workers: GrantFreed).
  std::optional<Waiter> SlotFreed(const std::string& key) {
    auto it = keys_.find(key);
    if (it == keys_.end()) return std::nullopt;
    Key& k = it->second;
    if (!k.waiters.empty()) return PopWaiter(key, k);
    if (k.slots > 0) {
      k.slots--;
      budget_->Give(key);
    }
    Prune(it);
    return std::nullopt;
  }

  // The budget of `key` may have a slot again (freed by another worker): the
  // first waiter here gets it (returned; it opens a new backend).
  std::optional<Waiter> GrantFreed(const std::string& key) {
    auto it = keys_.find(key);
    if (it == keys_.end() || it->second.waiters.empty() || !budget_->TryTake(key)) return std::nullopt;
    it->second.slots++;
    return PopWaiter(key, it->second);
  }

  // An idle backend of `key` taken out (the caller closes it, for a client of
  // another worker waiting for the key), the newest first.
  std::optional<Conn> TakeIdle(const std::string& key) {
    auto it = keys_.find(key);
    if (it == keys_.end() || it->second.idle.empty()) return std::nullopt;
    Conn c = std::move(it->second.idle.back().conn);
    it->second.idle.pop_back();
    return c;
  }

  // A waiter gives up (queue timeout, client gone). True when it was queued.
  bool Cancel(const std::string& key, Waiter w) {
    auto it = keys_.find(key);
    if (it == keys_.end()) return false;
    auto& q = it->second.waiters;
    for (auto x = q.begin(); x != q.end(); ++x) {
      if (x->w == w) {
        q.erase(x);
        budget_->Waiting(key, -1);
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
  Waiter PopWaiter(const std::string& key, Key& k) {
    Waiter w = k.waiters.front().w;
    k.waiters.pop_front();
    budget_->Waiting(key, -1);
    return w;
  }
  void Prune(typename std::map<std::string, Key>::iterator it) {
    const Key& k = it->second;
    if (k.slots == 0 && k.idle.empty() && k.waiters.empty()) keys_.erase(it);
  }

  std::shared_ptr<TxBudget> budget_;
  std::map<std::string, Key> keys_;
};

}  // namespace pgvigil::proxy
