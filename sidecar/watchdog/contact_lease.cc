// See contact_lease.h.
#include "sidecar/watchdog/contact_lease.h"

#include <algorithm>
#include <functional>

namespace pgvigil {
namespace watchdog {

namespace {
constexpr size_t kMaxSent = 4096;  // bounds memory whatever the send rate
}  // namespace

ContactTracker::ContactTracker(int self, int members, uint32_t incarnation, int64_t window_ms,
                               int64_t start_ms, int64_t grace_ms)
    : self_(self),
      members_(members),
      incarnation_(incarnation),
      window_(window_ms),
      graceUntil_(start_ms + grace_ms),
      heard_(members, 0),
      lastHeard_(members, -1),
      confirmed_(members, -1) {}

void ContactTracker::SetMembers(int members) {
  if (members < 1 || members <= self_) return;
  members_ = members;
  heard_.resize(members, 0);
  lastHeard_.resize(members, -1);
  confirmed_.resize(members, -1);
}

void ContactTracker::Sent(uint64_t seq, int64_t now) {
  if (!sent_.empty() && seq <= sent_.back().first) return;  // seqs only grow
  sent_.emplace_back(seq, now);
  // A confirmation older than the window no longer extends the lease: forget it.
  while (!sent_.empty() && (sent_.size() > kMaxSent || now - sent_.front().second > 2 * window_))
    sent_.pop_front();
}

uint64_t ContactTracker::EchoFor(int to) const {
  return to >= 0 && to < members_ ? heard_[to] : 0;
}

DropReason ContactTracker::Received(int from, uint64_t seq, uint64_t echo, int64_t now) {
  if (from < 0 || from >= members_ || from == self_) return DropReason::kUnknownMember;
  if (seq > heard_[from]) {
    heard_[from] = seq;
    lastHeard_[from] = now;
  }
  if (static_cast<uint32_t>(echo >> 32) != incarnation_) return DropReason::kOldIncarnation;
  return DropReason::kNone;
}

void ContactTracker::Accepted(int from, uint64_t echo) {
  if (from < 0 || from >= members_ || from == self_) return;
  auto it = std::lower_bound(sent_.begin(), sent_.end(), std::make_pair(echo, int64_t{-1}));
  if (it == sent_.end() || it->first != echo) return;  // not ours, or forgotten (too old)
  confirmed_[from] = std::max(confirmed_[from], it->second);
}

int64_t ContactTracker::LeaseUntil() const {
  const int need = members_ / 2;  // others needed besides us for a majority
  std::vector<int64_t> c;
  for (int i = 0; i < members_; ++i)
    if (i != self_) c.push_back(confirmed_[i]);
  int64_t until = -1;
  if (need <= 0) {
    until = INT64_MAX;
  } else if (static_cast<int>(c.size()) >= need) {
    std::nth_element(c.begin(), c.begin() + (need - 1), c.end(), std::greater<int64_t>());
    if (c[need - 1] >= 0) until = c[need - 1] + window_;
  }
  return std::max(until, graceUntil_);
}

}  // namespace watchdog
}  // namespace pgvigil
