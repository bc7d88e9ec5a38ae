// Nodes a worker keeps away from for a while after a connect to them failed.
// Pure bookkeeping (no I/O, the caller passes the time), so a table test can
// drive it. Expired entries are removed by Prune: an empty list is the fast
// path of every routing decision (no clock read, no string hashing), so it
// must become empty again once the last avoidance has run out, not stay
// non-empty for the life of the process after one failure.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

namespace pgvigil::proxy {

class AvoidList {
 public:
  using Clock = std::chrono::steady_clock;

  bool empty() const { return until_.empty(); }
  size_t size() const { return until_.size(); }

  // Avoid `node` until `until` (a later call replaces the time).
  void Avoid(const std::string& node, Clock::time_point until) { until_[node] = until; }

  bool Avoided(const std::string& node, Clock::time_point now) const {
    if (until_.empty()) return false;
    auto it = until_.find(node);
    return it != until_.end() && it->second > now;
  }

  // Drops every entry whose time has passed at `now`.
  void Prune(Clock::time_point now) {
    for (auto it = until_.begin(); it != until_.end();)
      it = it->second > now ? std::next(it) : until_.erase(it);
  }

 private:
  std::unordered_map<std::string, Clock::time_point> until_;
};

}  // namespace pgvigil::proxy
