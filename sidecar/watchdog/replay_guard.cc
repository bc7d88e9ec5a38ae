#include "sidecar/watchdog/replay_guard.h"

namespace pgvigil {
namespace watchdog {

DropReason ReplayGuard::Check(uint8_t from, uint64_t seq) {
  if (from >= peers_.size()) return DropReason::kUnknownMember;
  Window& w = peers_[from];
  if (!w.any) {
    w.any = true;
    w.highest = seq;
    w.bits = 1;
    return DropReason::kNone;
  }
  if (seq > w.highest) {
    uint64_t shift = seq - w.highest;
    w.bits = shift >= kWindow ? 0 : w.bits << shift;
    w.bits |= 1;
    w.highest = seq;
    return DropReason::kNone;
  }
  uint64_t age = w.highest - seq;
  if (age >= kWindow) return DropReason::kStale;
  uint64_t bit = uint64_t{1} << age;
  if (w.bits & bit) return DropReason::kReplayed;
  w.bits |= bit;
  return DropReason::kNone;
}

}  // namespace watchdog
}  // namespace pgvigil
