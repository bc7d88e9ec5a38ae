// ContactTracker: the echo check that drops a datagram captured before the
// receiver restarted (issue 14 item 9b), and the write lease (item 10).
#include "sidecar/watchdog/contact_lease.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "sidecar/watchdog/replay_guard.h"
#include "sidecar/watchdog/wire_message.h"

namespace pgvigil {
namespace watchdog {
namespace {

const std::string kKey = "correct horse battery staple";
const uint32_t kPrint = MembershipFingerprint({"server1", "server2", "server3"});
constexpr uint64_t Seq(uint32_t incarnation, uint32_t counter) {
  return (uint64_t{incarnation} << 32) | counter;
}

// A vote request from member 1 to member 0 whose echo names member 0's
// incarnation `echo_incarnation`, as bytes on the wire.
std::vector<uint8_t> VoteRequestBytes(uint64_t seq, uint32_t echo_incarnation) {
  WireMessage m;
  m.kind = MessageKind::kVoteRequest;
  m.from = 1;
  m.fingerprint = kPrint;
  m.seq = seq;
  m.echo = Seq(echo_incarnation, 17);
  m.term = 1000;
  return EncodeMessage(m, kKey);
}

// What the receiver does with a datagram, in the watchdog service's order.
DropReason Receive(ContactTracker* c, ReplayGuard* g, const std::vector<uint8_t>& bytes,
                   int64_t now) {
  DecodeResult r = DecodeMessage(bytes.data(), bytes.size(), kKey, 3, kPrint);
  if (!r.ok()) return r.error;
  DropReason d = c->Received(r.message.from, r.message.seq, r.message.echo, now);
  if (d == DropReason::kNone) d = g->Check(r.message.from, r.message.seq);
  if (d == DropReason::kNone) c->Accepted(r.message.from, r.message.echo);
  return d;
}

TEST(ContactTracker, ADatagramCapturedBeforeTheReceiverRestartedIsDropped) {
  // Member 0 runs as incarnation 100; member 1 (incarnation 50) sends it a vote
  // request, which an attacker records.
  auto captured = VoteRequestBytes(Seq(50, 9), 100);
  // The echo is on the wire at bytes 23..30, after the seq: incarnation 100, counter 17.
  ASSERT_GE(captured.size(), 31u);
  EXPECT_EQ(std::vector<uint8_t>(captured.begin() + 23, captured.begin() + 31),
            (std::vector<uint8_t>{0, 0, 0, 100, 0, 0, 0, 17}));
  {
    ContactTracker before(0, 3, 100, 1000, 0, 0);
    ReplayGuard guard(3);
    EXPECT_EQ(Receive(&before, &guard, captured, 10), DropReason::kNone);
    EXPECT_EQ(Receive(&before, &guard, captured, 11), DropReason::kReplayed);
  }
  // Member 0 restarts as incarnation 101: a fresh replay window would take the
  // captured datagram once; its echo names incarnation 100, so it is dropped.
  ContactTracker after(0, 3, 101, 1000, 0, 0);
  ReplayGuard guard(3);
  EXPECT_EQ(Receive(&after, &guard, captured, 20), DropReason::kOldIncarnation);
  // A datagram member 1 makes after hearing the new incarnation is taken.
  EXPECT_EQ(Receive(&after, &guard, VoteRequestBytes(Seq(50, 10), 101), 21), DropReason::kNone);
  EXPECT_EQ(Receive(&after, &guard, captured, 22), DropReason::kOldIncarnation);
}

TEST(ContactTracker, TwoRestartedMembersLearnEachOtherInOneExchange) {
  ContactTracker a(0, 3, 7, 1000, 0, 0), b(1, 3, 9, 1000, 0, 0);
  // Neither has heard the other: echo 0, dropped, but the seq is remembered.
  a.Sent(Seq(7, 1), 0);
  EXPECT_EQ(a.EchoFor(1), 0u);
  EXPECT_EQ(b.Received(0, Seq(7, 1), a.EchoFor(1), 1), DropReason::kOldIncarnation);
  b.Sent(Seq(9, 1), 2);
  EXPECT_EQ(b.EchoFor(0), Seq(7, 1));
  EXPECT_EQ(a.Received(1, Seq(9, 1), b.EchoFor(0), 3), DropReason::kNone);
  a.Sent(Seq(7, 2), 4);
  EXPECT_EQ(b.Received(0, Seq(7, 2), a.EchoFor(1), 5), DropReason::kNone);
}

TEST(ContactTracker, HighestSeqIsEchoedAndAReplayLowersNothing) {
  ContactTracker c(0, 3, 1, 1000, 0, 0);
  EXPECT_EQ(c.Received(2, Seq(4, 10), Seq(1, 0), 100), DropReason::kNone);
  EXPECT_EQ(c.Received(2, Seq(4, 8), Seq(1, 0), 200), DropReason::kNone);  // older: a replay
  EXPECT_EQ(c.EchoFor(2), Seq(4, 10));
  EXPECT_EQ(c.LastHeard(2), 100);  // a replayed seq does not count as hearing it
  EXPECT_EQ(c.Received(0, Seq(4, 11), Seq(1, 0), 300), DropReason::kUnknownMember);  // self
}

// Write lease: majority of confirmations within W, table-driven.
struct LeaseCase {
  const char* name;
  int members;
  std::vector<std::pair<int, int64_t>> confirmed;  // (member, send time confirmed)
  int64_t want;                                    // LeaseUntil
};

TEST(ContactTracker, WriteLeaseNeedsAMajorityOfConfirmations) {
  const int64_t W = 1000;
  const LeaseCase cases[] = {
      {"nothing confirmed: only the start grace", 3, {}, 500},
      {"one of two peers confirmed: majority of 3", 3, {{1, 2000}}, 3000},
      {"the newer of two peers counts", 3, {{1, 2000}, {2, 4000}}, 5000},
      {"5 members need two peers: the second newest", 5, {{1, 9000}, {2, 3000}, {3, 6000}}, 7000},
      {"5 members, one peer only: grace", 5, {{1, 9000}}, 500},
      {"a confirmation older than the grace does not shorten it", 3, {{2, -800}}, 500},
  };
  for (const auto& tc : cases) {
    ContactTracker c(0, tc.members, 3, W, 0, 500);
    auto confirmed = tc.confirmed;  // in time order: send, then its echo comes back
    std::sort(confirmed.begin(), confirmed.end(),
              [](const auto& x, const auto& y) { return x.second < y.second; });
    uint32_t counter = 0;
    for (const auto& [m, t] : confirmed) {
      c.Sent(Seq(3, ++counter), t);
      ASSERT_EQ(c.Received(m, Seq(8, counter), Seq(3, 0), t + 1), DropReason::kNone) << tc.name;
      c.Accepted(m, Seq(3, counter));
    }
    EXPECT_EQ(c.LeaseUntil(), tc.want) << tc.name;
    EXPECT_TRUE(c.LeaseRequired());
  }
}

TEST(ContactTracker, SmallClustersNeedNoLeaseAndUnknownEchoesConfirmNothing) {
  ContactTracker two(0, 2, 1, 1000, 0, 0), one(0, 1, 1, 1000, 0, 0);
  EXPECT_FALSE(two.LeaseRequired());
  EXPECT_FALSE(one.LeaseRequired());
  ContactTracker c(0, 3, 1, 1000, 0, 0);
  c.Sent(Seq(1, 5), 100);
  c.Accepted(1, Seq(1, 4));  // never sent (or forgotten): no confirmation
  EXPECT_EQ(c.LeaseUntil(), 0);
  c.Accepted(1, Seq(1, 5));
  EXPECT_EQ(c.LeaseUntil(), 1100);
  // Sends older than 2 W are forgotten; their echo then confirms nothing.
  c.Sent(Seq(1, 6), 2200);
  c.Accepted(2, Seq(1, 5));
  EXPECT_EQ(c.LeaseUntil(), 1100);
}

TEST(ContactTracker, LeaseIsOverForAMemberNotHeardForDeadTime) {
  ContactTracker c(0, 3, 1, 1000, 0, 0);
  EXPECT_TRUE(c.LeaseOverFor(1, 0, 1500));  // never heard
  EXPECT_FALSE(c.LeaseOverFor(0, 0, 1500)); // self
  EXPECT_EQ(c.Received(1, Seq(2, 1), Seq(1, 0), 100), DropReason::kNone);
  EXPECT_FALSE(c.LeaseOverFor(1, 1600, 1500));
  EXPECT_TRUE(c.LeaseOverFor(1, 1601, 1500));
  // A dropped datagram (old incarnation echo) still counts as hearing it: the
  // gate only opens later (never earlier) because of it.
  EXPECT_EQ(c.Received(1, Seq(2, 2), Seq(0, 0), 1700), DropReason::kOldIncarnation);
  EXPECT_FALSE(c.LeaseOverFor(1, 3000, 1500));
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil

namespace pgvigil {
namespace watchdog {
namespace {

// A membership change under a primary's lease (scale 3 -> 4 -> 5 -> 4 -> 3): the
// confirmations already received are kept and the majority is counted by the
// new size, so a lease held with every old member confirming stays held.
TEST(ContactTracker, MembershipChangeKeepsConfirmationsAndCountsTheNewMajority) {
  const int64_t W = 1000;
  ContactTracker c(0, 3, 3, W, 0, 500);
  c.Sent(Seq(3, 1), 2000);
  ASSERT_EQ(c.Received(1, Seq(8, 1), Seq(3, 0), 2001), DropReason::kNone);
  c.Accepted(1, Seq(3, 1));
  c.Sent(Seq(3, 2), 4000);
  ASSERT_EQ(c.Received(2, Seq(9, 1), Seq(3, 0), 4001), DropReason::kNone);
  c.Accepted(2, Seq(3, 2));
  EXPECT_EQ(c.LeaseUntil(), 5000);  // 3 members: the newest peer
  c.SetMembers(4);
  EXPECT_EQ(c.LeaseUntil(), 3000);  // 4 members: two peers, the older confirmation
  EXPECT_TRUE(c.LeaseOverFor(3, 4002, 1500));  // the new member: never heard
  EXPECT_EQ(c.EchoFor(3), 0u);
  ASSERT_EQ(c.Received(3, Seq(11, 1), Seq(3, 0), 4002), DropReason::kNone);
  c.Accepted(3, Seq(3, 2));
  EXPECT_EQ(c.LeaseUntil(), 5000);  // the new member confirmed too
  c.SetMembers(5);
  EXPECT_EQ(c.LeaseUntil(), 5000);  // 5 members: two peers
  c.SetMembers(4);
  c.SetMembers(3);
  EXPECT_EQ(c.LeaseUntil(), 5000);
  EXPECT_EQ(c.EchoFor(2), Seq(9, 1));  // kept through the changes
}

TEST(ReplayGuardResize, KeepsTheWindowsOfTheMembersThatStay) {
  ReplayGuard g(3);
  EXPECT_EQ(g.Check(2, 10), DropReason::kNone);
  g.Resize(4);
  EXPECT_EQ(g.Check(2, 10), DropReason::kReplayed);
  EXPECT_EQ(g.Check(3, 1), DropReason::kNone);
  g.Resize(3);
  EXPECT_EQ(g.Check(3, 2), DropReason::kUnknownMember);
  EXPECT_EQ(g.Check(2, 10), DropReason::kReplayed);
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil
