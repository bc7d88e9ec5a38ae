// Table-style and scenario tests of the election state machine. Scenarios use
// SimCluster with a clean network; single-message rules are driven by hand.
#include "sidecar/watchdog/election.h"

#include <gtest/gtest.h>

#include "sidecar/watchdog/sim_cluster.h"

namespace pgvigil {
namespace watchdog {
namespace {

constexpr int64_t kMs = 1000;

int Leader(const SimCluster& c) {
  int leader = -1;
  for (int m = 0; m < c.members(); ++m)
    if (c.alive(m) && c.election(m)->state() == MemberState::kLeader) leader = m;
  return leader;
}

ElectionConfig Config(int self, int members) {
  ElectionConfig c;
  c.self = self;
  c.members = members;
  return c;
}

template <typename Pred>
int CountActions(const Actions& out, Pred p) {
  int n = 0;
  for (const auto& a : out) n += p(a) ? 1 : 0;
  return n;
}

bool Granted(const Actions& out) {
  return CountActions(out, [](const Action& a) {
           return a.kind == ActionKind::kSend && a.message.kind == MessageKind::kVoteReply &&
                  a.message.Has(kFlagGranted);
         }) > 0;
}

WireMessage VoteRequest(int from, uint64_t term, bool pre = false) {
  WireMessage m;
  m.kind = MessageKind::kVoteRequest;
  m.from = static_cast<uint8_t>(from);
  m.term = term;
  m.state = MemberState::kCandidate;
  m.flags = pre ? kFlagPreVote : 0;
  return m;
}

WireMessage Round(int from, uint64_t term, uint64_t round) {
  WireMessage m;
  m.kind = MessageKind::kHeartbeat;
  m.from = static_cast<uint8_t>(from);
  m.leader = static_cast<uint8_t>(from);
  m.term = term;
  m.state = MemberState::kLeader;
  m.round = round;
  return m;
}

TEST(Election, DerivedTimesForTheDefaults) {
  ElectionConfig c;
  EXPECT_EQ(c.PromiseMs(), 1500);
  EXPECT_EQ(c.LeaseMs(), 1441 - 250);
  EXPECT_EQ(c.RoundMs(), 100);
  EXPECT_EQ(c.TickMs(), 25);
  EXPECT_EQ(Config(0, 3).Majority(), 2);
  EXPECT_EQ(Config(0, 4).Majority(), 3);
}

TEST(Election, ThreeMembersElectExactlyOneLeaderThatHoldsTheVip) {
  SimCluster c(3, 1);
  c.RunUntil(1400 * kMs);  // everyone honours the start-up promise: nobody leads yet
  EXPECT_EQ(Leader(c), -1);
  c.RunUntil(3000 * kMs);
  ASSERT_EQ(c.failure(), "");
  int l = Leader(c);
  ASSERT_GE(l, 0);
  EXPECT_EQ(c.VipHolder(), l);
  for (int m = 0; m < 3; ++m) {
    int64_t now = c.LocalMs(m);
    EXPECT_EQ(c.election(m)->leader(now), l);
    EXPECT_TRUE(c.election(m)->HasQuorum(now));
    EXPECT_EQ(c.election(0)->Display(m, c.LocalMs(0)),
              m == l ? DisplayState::kLeader : DisplayState::kStandby);
  }
}

TEST(Election, CleanStopHandsOverWellUnderDeadTimeAndShowsShutdown) {
  SimCluster c(3, 2);
  c.RunUntil(4000 * kMs);
  int old = Leader(c);
  ASSERT_GE(old, 0);
  c.Resign(old);
  EXPECT_EQ(c.VipHolder(), -1);
  c.RunUntil(4500 * kMs);  // < deadTime later
  ASSERT_EQ(c.failure(), "");
  int l = Leader(c);
  ASSERT_GE(l, 0);
  EXPECT_NE(l, old);
  EXPECT_EQ(c.VipHolder(), l);
  EXPECT_EQ(c.election(l)->Display(old, c.LocalMs(l)), DisplayState::kShutdown);

  // The old leader comes back as a standby and the leader does not change.
  c.Restart(old);
  c.RunUntil(9000 * kMs);
  ASSERT_EQ(c.failure(), "");
  EXPECT_EQ(Leader(c), l);
  EXPECT_EQ(c.election(old)->state(), MemberState::kStandby);
  EXPECT_EQ(c.election(old)->leader(c.LocalMs(old)), l);
  EXPECT_EQ(c.election(l)->Display(old, c.LocalMs(l)), DisplayState::kStandby);
}

TEST(Election, IsolatedLeaderDropsTheVipAndTheOthersElect) {
  SimCluster c(3, 3);
  c.RunUntil(4000 * kMs);
  int old = Leader(c);
  ASSERT_GE(old, 0);
  c.Partition({old});
  ElectionConfig cfg;
  c.RunUntil(4000 * kMs + cfg.LeaseMs() * kMs * 102 / 98 + 50 * kMs);
  EXPECT_FALSE(c.election(old)->vipHeld());
  EXPECT_NE(c.election(old)->state(), MemberState::kLeader);
  c.RunUntil(9000 * kMs);
  ASSERT_EQ(c.failure(), "");
  int l = Leader(c);
  ASSERT_GE(l, 0);
  EXPECT_NE(l, old);
  EXPECT_EQ(c.VipHolder(), l);
  EXPECT_FALSE(c.election(old)->HasQuorum(c.LocalMs(old)));
  // Heal: the old leader follows the new one; still one leader.
  c.HealAll();
  c.RunUntil(12000 * kMs);
  ASSERT_EQ(c.failure(), "");
  EXPECT_EQ(Leader(c), l);
  EXPECT_EQ(c.election(old)->leader(c.LocalMs(old)), l);
}

TEST(Election, SingleMemberClusterLeadsAlone) {
  SimCluster c(1, 4);
  c.RunUntil(2500 * kMs);
  EXPECT_EQ(Leader(c), 0);
  EXPECT_EQ(c.VipHolder(), 0);
}

TEST(Election, OneVotePerTermSurvivesARestart) {
  Actions out;
  Election e(Config(0, 3), PersistentState{}, 1, 0);
  e.OnMessage(VoteRequest(1, 1), 2000, &out);  // after the start-up promise
  ASSERT_TRUE(Granted(out));
  PersistentState stored;
  for (const auto& a : out)
    if (a.kind == ActionKind::kPersist) stored = a.persist;
  EXPECT_EQ(stored.term, 1u);
  EXPECT_EQ(stored.votedFor, 1);

  Election again(Config(0, 3), stored, 2, 10000);
  out.clear();
  again.OnMessage(VoteRequest(2, 1), 12000, &out);
  EXPECT_FALSE(Granted(out));
  out.clear();
  again.OnMessage(VoteRequest(1, 1), 12000, &out);  // the same candidate again: fine
  EXPECT_TRUE(Granted(out));
}

TEST(Election, AMemberThatHearsALiveLeaderVotesForNobodyElse) {
  Actions out;
  Election e(Config(0, 3), PersistentState{}, 1, 0);
  e.OnMessage(Round(1, 3, 1), 2000, &out);
  EXPECT_EQ(e.leader(2000), 1);
  out.clear();
  e.OnMessage(VoteRequest(2, 4, true), 2500, &out);
  EXPECT_FALSE(Granted(out));
  out.clear();
  e.OnMessage(VoteRequest(2, 4), 2500, &out);
  EXPECT_FALSE(Granted(out));
  EXPECT_EQ(e.term(), 3u);  // not even the term moved
  // Once the leader has been silent for deadTime, the vote is free.
  out.clear();
  e.OnMessage(VoteRequest(2, 4), 2000 + 1500, &out);
  EXPECT_TRUE(Granted(out));
  EXPECT_EQ(e.term(), 4u);
}

TEST(Election, ARestartedMemberVotesForNobodyDuringItsStartupPromise) {
  Actions out;
  Election e(Config(0, 3), PersistentState{}, 1, 5000);
  e.OnMessage(VoteRequest(2, 1), 5000 + 1499, &out);
  EXPECT_FALSE(Granted(out));
}

TEST(Election, RoundsFromADeposedLeaderAreAnsweredWithTheNewTerm) {
  Actions out;
  PersistentState s;
  s.term = 5;
  Election e(Config(0, 3), s, 1, 0);
  e.OnMessage(Round(1, 4, 9), 100, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message.kind, MessageKind::kAck);
  EXPECT_EQ(out[0].message.term, 5u);
  EXPECT_EQ(e.leader(100), -1);
}

TEST(Election, RegisterWriteIsDurableOnlyWithAMajorityAndSurvivesTheLeader) {
  SimCluster c(3, 5);
  c.RunUntil(4000 * kMs);
  int l = Leader(c);
  ASSERT_GE(l, 0);
  c.SetRegisterWrites(200 * kMs);
  c.RunUntil(6000 * kMs);
  ASSERT_EQ(c.failure(), "");
  EXPECT_GT(c.durableWrites(), 3u);
  std::string doc = c.election(l)->reg().doc;
  c.Crash(l);
  c.SetRegisterWrites(0);
  c.RunUntil(10000 * kMs);
  ASSERT_EQ(c.failure(), "");
  int next = Leader(c);
  ASSERT_GE(next, 0);
  // Every write acknowledged as durable is in the new leader's copy (the sim checks
  // it at election); the last document written is, too, since it reached a majority.
  EXPECT_NE(c.election(next)->reg().doc.find(doc), std::string::npos);
}

// A member cut off while the leader kept writing the register (a failover was
// decided meanwhile) must not call its copy current on rejoining before it holds
// everything written while it was away: its proxy would route by a stale table.
TEST(Election, RejoiningMemberIsNotRegisterCurrentUntilItCaughtUp) {
  SimCluster c(3, 7);
  c.RunUntil(4000 * kMs);
  int l = Leader(c);
  ASSERT_GE(l, 0);
  int away = (l + 1) % 3;
  EXPECT_TRUE(c.election(away)->RegisterCurrent(c.LocalMs(away)));
  c.Partition({away});
  c.SetRegisterWrites(200 * kMs);
  c.RunUntil(7000 * kMs);
  c.SetRegisterWrites(0);
  ASSERT_EQ(c.failure(), "");
  EXPECT_FALSE(c.election(away)->RegisterCurrent(c.LocalMs(away)));
  l = Leader(c);
  ASSERT_GE(l, 0);
  const uint64_t written = c.election(l)->reg().version;
  ASSERT_GT(written, c.election(away)->reg().version);
  c.HealAll();
  bool became_current = false;
  for (int64_t t = 7000; t < 10000; t += 5) {
    c.RunUntil(t * kMs);
    if (c.election(away)->RegisterCurrent(c.LocalMs(away))) {
      became_current = true;
      ASSERT_GE(c.election(away)->reg().version, written) << "current at " << t << " ms with a stale copy";
    }
  }
  EXPECT_TRUE(became_current);
  ASSERT_EQ(c.failure(), "");
}

TEST(Election, WriteIsRefusedWithoutTheLease) {
  Actions out;
  Election e(Config(0, 3), PersistentState{}, 1, 0);
  EXPECT_EQ(e.WriteRegister("{}", 10, &out), 0u);
}

TEST(Election, BackendIsDownOnlyWhenAMajorityOfLiveMembersSaySo) {
  Actions out;
  Election e(Config(0, 3), PersistentState{}, 1, 0);
  e.SetLocalHealth({{1, HealthStatus::kDown}});
  // Alone, its own view is the majority of live members, but there is no quorum.
  EXPECT_TRUE(e.Consensus(1, 100).consensusDown);
  EXPECT_FALSE(e.HasQuorum(100));
  WireMessage hb;
  hb.kind = MessageKind::kHeartbeat;
  hb.from = 1;
  hb.health = {{1, HealthStatus::kUp}};
  e.OnMessage(hb, 100, &out);
  BackendConsensus c = e.Consensus(1, 100);
  EXPECT_EQ(c.live, 2);
  EXPECT_EQ(c.down, 1);
  EXPECT_FALSE(c.consensusDown);
  hb.from = 2;
  hb.health = {{1, HealthStatus::kDown}};
  e.OnMessage(hb, 100, &out);
  c = e.Consensus(1, 100);
  EXPECT_EQ(c.down, 2);
  EXPECT_TRUE(c.consensusDown);
  // Member 2's view expires after deadTime: back to 1 of 2.
  c = e.Consensus(1, 100 + 1501);
  EXPECT_EQ(c.live, 1);
}

// Election::SetMembers by hand: a follower promised to a leader that leaves
// keeps the promise until it runs out; the quorum follows the new count.
TEST(Election, SetMembersKeepsPromisesAndCountsTheNewQuorum) {
  Election e(Config(1, 5), PersistentState{}, 1, 0);
  Actions out;
  e.OnMessage(Round(4, 3, 1), 2000, &out);  // member 4 leads term 3
  ASSERT_EQ(e.leader(2000), 4);
  out.clear();
  e.SetMembers(4, 2100, &out);  // member 4 left
  EXPECT_EQ(e.config().members, 4);
  EXPECT_EQ(e.config().Majority(), 3);
  EXPECT_EQ(e.leader(2100), -1);
  out.clear();
  e.OnMessage(VoteRequest(2, 4), 2200, &out);  // still within the promise made to 4
  EXPECT_FALSE(Granted(out));
  out.clear();
  e.OnMessage(VoteRequest(2, 4), 2000 + e.config().PromiseMs() + 1, &out);
  EXPECT_TRUE(Granted(out));
  // A member past the list is not heard; the self index never moves.
  out.clear();
  e.OnMessage(Round(4, 9, 1), 5000, &out);
  EXPECT_EQ(e.term(), 4u);
  e.SetMembers(1, 5000, &out);  // would drop this member itself: ignored
  EXPECT_EQ(e.config().members, 4);
}

// The leader's lease through 3 -> 4 -> 3 members in a simulated cluster whose
// lists all change at once: it is kept, and the fourth member joins the quorum.
TEST(Election, LeaderKeepsItsLeaseWhileTheMembershipGrowsAndShrinks) {
  SimCluster c(4, 3, 7);
  c.RunUntil(4000 * kMs);
  const int l = Leader(c);
  ASSERT_GE(l, 0);
  const int lost = c.leasesLost(l);
  for (int m = 0; m < 4; ++m) c.SetListSize(m, 4);
  c.Restart(3);
  c.RunUntil(c.now() + 3000 * kMs);
  ASSERT_EQ(c.failure(), "");
  EXPECT_EQ(Leader(c), l);
  EXPECT_EQ(c.election(l)->LiveMembers(c.LocalMs(l)), 4);
  for (int m = 0; m < 3; ++m) c.SetListSize(m, 3);
  c.Resign(3);
  c.RunUntil(c.now() + 3000 * kMs);
  ASSERT_EQ(c.failure(), "");
  EXPECT_EQ(Leader(c), l);
  EXPECT_EQ(c.leasesLost(l), lost);
  EXPECT_TRUE(c.election(l)->HasLease(c.LocalMs(l)));
}

// ---------------------------------------------------------------- handover on a clean stop

WireMessage Resign(int from, uint64_t term, int successor) {
  WireMessage m;
  m.kind = MessageKind::kResign;
  m.from = static_cast<uint8_t>(from);
  m.term = term;
  m.state = MemberState::kShutdown;
  m.leader = successor < 0 ? kNoMember : static_cast<uint8_t>(successor);
  return m;
}

WireMessage Reply(int from, uint64_t term, bool pre) {
  WireMessage m;
  m.kind = MessageKind::kVoteReply;
  m.from = static_cast<uint8_t>(from);
  m.term = term;
  m.flags = kFlagGranted | (pre ? kFlagPreVote : 0);
  return m;
}

WireMessage Ack(int from, uint64_t term, uint64_t round) {
  WireMessage m;
  m.kind = MessageKind::kAck;
  m.from = static_cast<uint8_t>(from);
  m.term = term;
  m.round = round;
  return m;
}

const Action* FirstSend(const Actions& out, MessageKind kind) {
  for (const auto& a : out)
    if (a.kind == ActionKind::kSend && a.message.kind == kind) return &a;
  return nullptr;
}

// Member 0 of 3 elected in term 1 by hand (member 1's votes), holding the VIP.
Election LeaderOfTermOne(Actions* out) {
  Election e(Config(0, 3), PersistentState{}, 1, 0);
  e.OnTick(2000, out);                              // pre-vote after the start-up promise
  e.OnMessage(Reply(1, 1, /*pre=*/true), 2001, out);  // -> election in term 1
  e.OnMessage(Reply(1, 1, /*pre=*/false), 2002, out);  // -> leader, round 1
  e.OnMessage(Ack(1, 1, 1), 2003, out);             // lease, VIP
  return e;
}

TEST(Election, AResigningLeaderDropsTheVipThenNamesTheMemberThatAckedTheNewestRound) {
  Actions out;
  Election e = LeaderOfTermOne(&out);
  ASSERT_EQ(e.state(), MemberState::kLeader);
  ASSERT_TRUE(e.vipHeld());
  e.OnTick(2200, &out);                 // round 2
  e.OnMessage(Ack(2, 1, 2), 2201, &out);  // member 2 acked round 2, member 1 only round 1
  out.clear();
  e.Resign(2300, &out);
  int vip_down = -1, resign = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].kind == ActionKind::kVipDown && vip_down < 0) vip_down = int(i);
    if (out[i].kind == ActionKind::kSend && out[i].message.kind == MessageKind::kResign && resign < 0)
      resign = int(i);
  }
  ASSERT_GE(vip_down, 0);
  ASSERT_GT(resign, vip_down);  // the VIP is gone before anyone hears of the resign
  EXPECT_EQ(out[size_t(resign)].message.leader, 2);
  EXPECT_EQ(out[size_t(resign)].message.term, 1u);
  EXPECT_FALSE(e.vipHeld());
  EXPECT_FALSE(e.HasLease(2300));

  // A member silent for deadTime is not named; nobody live: no successor.
  out.clear();
  Election f = LeaderOfTermOne(&out);
  out.clear();
  f.Resign(2003 + 1501, &out);
  const Action* r = FirstSend(out, MessageKind::kResign);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->message.leader, kNoMember);
}

TEST(Election, AFollowerVotesForTheNamedSuccessorAndKeepsFollowingTheOldLeaderUntilItsRound) {
  Actions out;
  Election e(Config(1, 5), PersistentState{}, 1, 0);
  e.OnMessage(Round(0, 5, 1), 2000, &out);
  ASSERT_EQ(e.leader(2000), 0);
  ASSERT_TRUE(e.RegisterCurrent(2000));
  out.clear();
  e.OnMessage(VoteRequest(2, 6), 2100, &out);  // before the resign: the promise holds
  EXPECT_FALSE(Granted(out));
  out.clear();
  e.OnMessage(Resign(0, 5, 2), 2200, &out);
  EXPECT_EQ(FirstSend(out, MessageKind::kVoteRequest), nullptr);  // not named: does not stand
  EXPECT_EQ(e.leader(2200), 0);  // still followed, with its register tag: no leaderless moment
  EXPECT_TRUE(e.RegisterCurrent(2200));
  e.OnMessage(Resign(0, 5, 2), 2201, &out);  // the second copy changes nothing
  EXPECT_EQ(e.leader(2201), 0);
  out.clear();
  e.OnMessage(Round(0, 5, 2), 2202, &out);  // sent before the resign, reordered: dropped
  EXPECT_EQ(FirstSend(out, MessageKind::kAck), nullptr);
  EXPECT_EQ(e.Display(0, 2202), DisplayState::kShutdown);
  out.clear();
  e.OnMessage(VoteRequest(3, 6, true), 2210, &out);  // anyone else: the promise still holds
  EXPECT_FALSE(Granted(out));
  out.clear();
  e.OnMessage(VoteRequest(2, 6, true), 2210, &out);  // the successor: pre-vote and vote
  EXPECT_TRUE(Granted(out));
  out.clear();
  e.OnMessage(VoteRequest(2, 6), 2211, &out);
  EXPECT_TRUE(Granted(out));
  EXPECT_EQ(e.term(), 6u);
  EXPECT_EQ(e.leader(2211), 0);
  e.OnMessage(Round(2, 6, 1), 2215, &out);
  EXPECT_EQ(e.leader(2215), 2);
  EXPECT_TRUE(e.RegisterCurrent(2215));

  // Without the successor's round the old leader is followed until the promise
  // made at its last round runs out, as after a crash; then anyone may be elected.
  Election g(Config(1, 4), PersistentState{}, 1, 0);
  g.OnMessage(Round(0, 5, 1), 2000, &out);
  g.OnMessage(Resign(0, 5, 2), 2100, &out);
  EXPECT_EQ(g.leader(3499), 0);
  out.clear();
  g.OnMessage(VoteRequest(3, 6), 3499, &out);
  EXPECT_FALSE(Granted(out));
  EXPECT_EQ(g.leader(3500), -1);
  out.clear();
  g.OnMessage(VoteRequest(3, 6), 3500, &out);
  EXPECT_TRUE(Granted(out));
}

TEST(Election, TheNamedSuccessorStandsAtOnceWithoutAPreVote) {
  Actions out;
  Election e(Config(2, 3), PersistentState{}, 1, 0);
  e.OnMessage(Round(0, 5, 1), 2000, &out);
  out.clear();
  e.OnMessage(Resign(0, 5, 2), 2100, &out);
  const Action* v = FirstSend(out, MessageKind::kVoteRequest);
  ASSERT_NE(v, nullptr);
  EXPECT_FALSE(v->message.Has(kFlagPreVote));
  EXPECT_EQ(v->message.term, 6u);
  EXPECT_EQ(e.state(), MemberState::kCandidate);
  EXPECT_EQ(e.leader(2100), 0);  // followed until elected
  out.clear();
  e.OnMessage(Reply(1, 6, false), 2102, &out);
  EXPECT_EQ(e.state(), MemberState::kLeader);
  EXPECT_EQ(e.leader(2102), 2);
}

TEST(Election, AResignThatIsNoHandoverElectsAsBefore) {
  // The resigner's last datagram said it was no longer leader (it had stepped
  // down): its Resign's `leader` is not a successor; the promise is dropped.
  Actions out;
  Election e(Config(2, 3), PersistentState{}, 1, 0);
  e.OnMessage(Round(0, 5, 1), 2000, &out);
  WireMessage standby = Round(0, 5, 0);
  standby.state = MemberState::kStandby;
  standby.leader = kNoMember;
  e.OnMessage(standby, 2050, &out);
  ASSERT_EQ(e.leader(2050), 0);  // still promised
  out.clear();
  e.OnMessage(Resign(0, 5, 2), 2100, &out);
  EXPECT_EQ(FirstSend(out, MessageKind::kVoteRequest), nullptr);
  EXPECT_EQ(e.state(), MemberState::kStandby);
  EXPECT_EQ(e.leader(2100), -1);
  // A Resign of an older term, or from a member we do not follow: nothing changes.
  Election f(Config(1, 3), PersistentState{}, 1, 0);
  f.OnMessage(Round(0, 5, 1), 2000, &out);
  f.OnMessage(Resign(2, 5, 1), 2100, &out);
  f.OnMessage(Resign(0, 4, 1), 2100, &out);
  EXPECT_EQ(f.leader(2100), 0);
  out.clear();
  f.OnMessage(VoteRequest(2, 6), 2100, &out);
  EXPECT_FALSE(Granted(out));
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil
