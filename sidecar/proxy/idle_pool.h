// The idle backend pool of one worker, pure (no I/O, no clock of its own): a
// list of connections by login key, oldest first. The cap is global (every
// worker's pool together, counted in a shared atomic), so Put evicts this
// pool's oldest entry, or refuses, when the total is reached; Expire hands back
// what has been idle longer than the timeout. Callers close what they get back.
// Not thread-safe: one worker's thread; only `total` is shared.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace pgvigil::proxy {

template <typename Conn>
class IdlePool {
 public:
  using Clock = std::chrono::steady_clock;
  IdlePool(std::atomic<int>* total, int max_idle, std::chrono::milliseconds idle_timeout)
      : total_(total), max_(max_idle), timeout_(idle_timeout) {}
  ~IdlePool() { total_->fetch_sub(int(entries_.size())); }
  IdlePool(const IdlePool&) = delete;
  IdlePool& operator=(const IdlePool&) = delete;

  // Adds `c` idle since `now`. Returns the connections to close: this pool's
  // oldest when the global cap is reached, or `c` itself when this pool has
  // nothing to give up (or the cap is 0).
  std::vector<Conn> Put(const std::string& key, Conn c, Clock::time_point now) {
    std::vector<Conn> out;
    if (max_ <= 0) {
      out.push_back(std::move(c));
      return out;
    }
    if (total_->load() >= max_) {
      if (entries_.empty()) {
        out.push_back(std::move(c));
        return out;
      }
      out.push_back(std::move(entries_.front().conn));
      entries_.pop_front();
      total_->fetch_sub(1);
    }
    entries_.push_back({key, std::move(c), now});
    total_->fetch_add(1);
    return out;
  }

  // The most recently pooled connection for `key` for which usable(c) holds;
  // entries for that key that are not usable are dropped into *dead.
  template <typename Usable>
  Conn Take(const std::string& key, Usable usable, std::vector<Conn>* dead) {
    for (size_t i = entries_.size(); i-- > 0;) {
      if (entries_[i].key != key) continue;
      Conn c = std::move(entries_[i].conn);
      entries_.erase(entries_.begin() + long(i));
      total_->fetch_sub(1);
      if (usable(c)) return c;
      dead->push_back(std::move(c));
    }
    return Conn{};
  }

  // Removes what has been idle for the timeout or longer (0: no timeout), and
  // what is no longer usable; returns them.
  template <typename Usable>
  std::vector<Conn> Expire(Clock::time_point now, Usable usable) {
    std::vector<Conn> out;
    for (auto it = entries_.begin(); it != entries_.end();) {
      bool old = timeout_.count() > 0 && now - it->since >= timeout_;
      if (old || !usable(it->conn)) {
        out.push_back(std::move(it->conn));
        it = entries_.erase(it);
        total_->fetch_sub(1);
      } else {
        ++it;
      }
    }
    return out;
  }

  size_t size() const { return entries_.size(); }
  template <typename F>
  void ForEach(F f) const {
    for (const auto& e : entries_) f(e.key, e.conn);
  }

 private:
  struct Entry {
    std::string key;
    Conn conn;
    Clock::time_point since;
  };
  std::atomic<int>* total_;
  int max_;
  std::chrono::milliseconds timeout_;
  std::deque<Entry> entries_;
};

}  // namespace pgvigil::proxy
