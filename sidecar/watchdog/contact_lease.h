// ContactTracker: which of this member's datagrams the others confirmed, and the
// write lease derived from it; also the boot-incarnation check that drops a
// datagram captured before this member restarted. Pure (times are passed in);
// not thread-safe (one owner: the watchdog's event loop).
//
// Echo. Every datagram carries `echo`: the newest seq its sender received from
// the destination (wire_message.h). Seqs are (incarnation << 32 | counter) and
// the incarnation grows at every start, so a datagram echoing an older
// incarnation of the receiver was made before the receiver's restart: it is
// dropped (kOldIncarnation), even though the receiver's fresh replay window would
// take it. The seq of every authenticated datagram is remembered for the echo
// even when the datagram is dropped, so two members that both restarted learn
// each other's incarnation in one exchange (no deadlock), and a replayed seq
// can only lower nothing: the echo is the highest seq seen.
//
// Write lease (self-fencing, issue 14 item 10). A member may keep a writable
// PostgreSQL primary only while a majority of the members (itself included)
// confirmed, by their echo, a datagram it sent within the last W ms of its own
// clock: LeaseUntil = the (majority-1)-th newest confirmed send time + W.
// Safety argument, with P = deadTime, rho the clock-rate bound, M the margin
// (ElectionConfig::LeaseMs: W = P (1 - rho) / (1 + rho) - M):
//  * member j confirms our datagram sent at s only after receiving it, at real
//    time t >= s; j's LastHeard(us) is then >= t;
//  * the controller beside the leader L fails our primary over (when our sidecar
//    does not answer) only once L has heard nothing from us for P on L's clock
//    (member state LOST, `writeLeaseOver`): real time >= t_L + P / (1 + rho);
//  * our lease from L's confirmation ends at s + W on our clock, i.e. real time
//    <= s + W / (1 - rho) <= t_L + P / (1 + rho) - M / (1 - rho): at least M
//    before L's gate opens. M (half a heartbeat interval) covers the fencer's poll
//    and the fence itself (SIGINT, then SIGQUIT after M / 2: agent/self_fence.h).
//  * The majority rule keeps a primary writable while the leader alone is gone
//    (it died, an election runs): then the other live member still confirms.
//    Residual assumption: in a partial partition where we keep contact with a
//    member X that the leader still hears, a failover needs X to see our
//    PostgreSQL down too (consensus); we assume a host whose heartbeats reach X
//    answers X's health checks.
//  * Clusters of 1 or 2 members: no majority can form without us, so nobody can
//    promote in our place; the lease is not required (LeaseRequired false).
//  * At start the lease is granted until start + grace (deadTime): the first
//    exchange takes one heartbeat, and a sidecar that was down fenced nothing
//    either (see the watchdog README: what self-fencing does not cover).
#pragma once

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "sidecar/watchdog/wire_message.h"

namespace pgvigil {
namespace watchdog {

class ContactTracker {
 public:
  ContactTracker(int self, int members, uint32_t incarnation, int64_t window_ms, int64_t start_ms,
                 int64_t grace_ms);

  // The membership changed (one member more or fewer, at the end): what is
  // known of the members that stay is kept; LeaseUntil counts the new majority.
  void SetMembers(int members);

  // A datagram sent now carrying `seq` (one seq for every destination).
  void Sent(uint64_t seq, int64_t now);
  // The echo for a datagram to `to`.
  uint64_t EchoFor(int to) const;
  // An authenticated datagram from `from`: remembers its seq for our echoes, then
  // checks its echo. kNone, or kOldIncarnation (drop it).
  DropReason Received(int from, uint64_t seq, uint64_t echo, int64_t now);
  // The datagram passed every check (replay window too): its echo confirms ours.
  void Accepted(int from, uint64_t echo);

  bool LeaseRequired() const { return members_ >= 3; }
  // Our write lease ends at this time (our clock); meaningful when required.
  int64_t LeaseUntil() const;
  // When we last received a fresh authenticated datagram from `member`; -1 never.
  int64_t LastHeard(int member) const { return lastHeard_[member]; }
  // `member` cannot hold a write lease confirmed by us any more: we have heard
  // nothing from it for more than dead_time_ms (or never, since our start).
  bool LeaseOverFor(int member, int64_t now, int64_t dead_time_ms) const {
    return member != self_ && (lastHeard_[member] < 0 || now - lastHeard_[member] > dead_time_ms);
  }
  uint32_t incarnation() const { return incarnation_; }

 private:
  const int self_;
  int members_;
  const uint32_t incarnation_;
  const int64_t window_;
  const int64_t graceUntil_;
  std::vector<uint64_t> heard_;      // newest seq received from each member
  std::vector<int64_t> lastHeard_;   // when heard_ last grew
  std::vector<int64_t> confirmed_;   // send time of our newest datagram each member echoed; -1
  std::deque<std::pair<uint64_t, int64_t>> sent_;  // (seq, send time), seqs increasing
};

}  // namespace watchdog
}  // namespace pgvigil
