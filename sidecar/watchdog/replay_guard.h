// Per-sender replay protection for authenticated datagrams: a sliding window over
// sequence numbers (like IPsec's anti-replay window). A sequence is accepted once;
// reordering within the window is tolerated, anything older than the window is
// stale. Sequences are (incarnation << 32 | counter), so a restarted sender with a
// larger incarnation starts a fresh window. Pure; not thread-safe (one owner).
#pragma once

#include <cstdint>
#include <vector>

#include "sidecar/watchdog/wire_message.h"

namespace pgvigil {
namespace watchdog {

class ReplayGuard {
 public:
  static constexpr uint64_t kWindow = 64;

  explicit ReplayGuard(size_t member_count) : peers_(member_count) {}
  // The membership changed: the windows of the members that stay are kept (a
  // datagram they sent before the change is still taken at most once).
  void Resize(size_t member_count) { peers_.resize(member_count); }

  // kNone when accepted (and recorded); kReplayed for a sequence already seen;
  // kStale for one older than the window.
  DropReason Check(uint8_t from, uint64_t seq);

 private:
  struct Window {
    bool any = false;
    uint64_t highest = 0;
    uint64_t bits = 0;  // bit i set: highest - i seen
  };
  std::vector<Window> peers_;
};

// Produces a sender's sequence numbers: (incarnation << 32) | counter.
class SequenceCounter {
 public:
  explicit SequenceCounter(uint32_t incarnation) : incarnation_(incarnation) {}
  uint64_t Next() { return (static_cast<uint64_t>(incarnation_) << 32) | ++counter_; }

 private:
  uint32_t incarnation_;
  uint32_t counter_ = 0;
};

}  // namespace watchdog
}  // namespace pgvigil
