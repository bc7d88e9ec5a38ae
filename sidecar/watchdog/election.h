// The watchdog's election and lease state machine. Pure: no sockets, clocks,
// threads or randomness from outside the seed. Inputs are authenticated
// messages and ticks carrying the member's own monotonic time in milliseconds;
// outputs are Actions (messages to send, state to persist, VIP up/down, events
// to log and count), to be carried out in order by the caller.
//
// Safety argument (the numbers are ElectionConfig's):
//  * One vote per member per term, persisted (Persist action) before the vote
//    is sent; a candidate needs a majority of all configured members, so there
//    is at most one leader per term. Pre-votes keep a partitioned member from
//    raising terms and disrupting a live leader.
//  * A follower that accepts a leader's round promises not to vote for anyone
//    else for P = deadTime of its own clock from receipt. A restarted member
//    makes that promise to nobody in particular for P from start, since it may
//    have made one before it stopped.
//  * The leader holds the lease until send(R) + L on its own clock, where R is
//    the newest round a majority (itself included) acknowledged, and
//    L = P * (1 - rho) / (1 + rho) - M. With clock rates within 1 +/- rho of real
//    time, the lease ends at least M / (1 - rho) of real time before any member of
//    that majority can vote for someone else, so before any other member can lead.
//    M (half a heartbeat interval) must cover the leader's tick delay and the
//    time its VIP down command takes: we assume the leader's process is scheduled
//    at least every M / 2 and `ip addr del` finishes within M / 2.
//  * VIP up only while leader with an unexpired lease; VIP down (emitted before
//    any other action) when the lease runs out, on a higher term, or on Resign.
//  * Handover on a clean stop: a resigning leader drops the VIP and its lease
//    first, then its Resign names a successor (the `leader` field of a kResign:
//    the live member that acknowledged its newest round). The successor stands
//    at once (no pre-vote); a member that followed the resigner in this term,
//    and last heard it as leader, votes for that successor although its promise
//    to the resigner is unexpired: the promise protects a lease that no longer
//    exists once the Resign is sent. It keeps following the resigner (leader()
//    and its register tag) until the successor's first round, or until the
//    promise runs out as after a crash, so that its proxy sees no leaderless
//    moment. Candidates other than the successor still meet the promise; a lost
//    Resign or vote costs what a crash does.
//  * Membership changes (SetMembers) add or remove one member, the last, at a
//    time, and reach the members one after another; each counts majorities by
//    its own list. Any majority of N members and any majority of N + 1 (the
//    first N among them) overlap, so two leaders in one term still need a
//    member voting twice, a lease confirmed by one majority still ends before a
//    member of any other can vote otherwise, and a durable register write still
//    meets every voting majority. A lease and a commit made under the old count
//    stay valid (the same overlap); the next acks are counted by the new one.
//  * Register: the leader writes (term, version) copies; a write is durable once
//    a majority stored it (acks carry the stored tag). Votes carry the voter's
//    copy and a new leader adopts the newest one from its voters, so every durable
//    write survives (the voting majority meets the storing majority).
//
// Not thread-safe: one owner (the watchdog's event loop or the simulator).
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "sidecar/watchdog/wire_message.h"

namespace pgvigil {
namespace watchdog {

struct ElectionConfig {
  int self = 0;
  int members = 1;
  int64_t heartbeatIntervalMs = 500;
  int64_t deadTimeMs = 1500;
  // The bound we assume on any member's clock rate error against real time
  // (CLOCK_MONOTONIC drifts by parts per million; 2% leaves room for VMs).
  static constexpr double kMaxClockRateError = 0.02;

  int Majority() const { return members / 2 + 1; }
  int64_t PromiseMs() const { return deadTimeMs; }
  int64_t MarginMs() const { return heartbeatIntervalMs / 2; }
  int64_t LeaseMs() const {
    const double rho = kMaxClockRateError;
    return static_cast<int64_t>(PromiseMs() * (1 - rho) / (1 + rho)) - MarginMs();
  }
  // The leader renews its lease this often, several times per lease, so that a
  // lost round or two costs nothing.
  int64_t RoundMs() const { return heartbeatIntervalMs / 5 > 10 ? heartbeatIntervalMs / 5 : 10; }
  // How often the caller should tick (the lease check granularity).
  int64_t TickMs() const { return heartbeatIntervalMs / 20 > 5 ? heartbeatIntervalMs / 20 : 5; }
};

// What must survive a restart; the caller stores it durably before sending
// anything that follows a kPersist action.
struct PersistentState {
  uint64_t term = 0;
  int votedFor = -1;  // in `term`
  RegisterCopy reg;
};

enum class EventKind {
  kStateChanged,       // value: new MemberState
  kTermChanged,        // value: new term
  kElectionStarted,    // a pre-vote round passed; value: the new term
  kBecameLeader,       // value: term
  kSteppedDown,        // text: why
  kLeaseAcquired,
  kLeaseLost,
  kVoteGranted,        // value: candidate index
  kVoteRefused,        // value: candidate index; text: why
  kRegisterCommitted,  // value: version now durable
  kRegisterAdopted,    // value: version adopted from the voters
  kPeerResigned,       // value: peer index
  kHandover,           // value: successor; text: who handed over and what we do
};
const char* ToString(EventKind k);

enum class ActionKind { kSend, kPersist, kVipUp, kVipDown, kEvent };

struct Action {
  ActionKind kind = ActionKind::kEvent;
  int to = -1;              // kSend: member index; -1 = every other member
  WireMessage message;      // kSend: seq and fingerprint are the caller's to fill
  PersistentState persist;  // kPersist
  EventKind event = EventKind::kStateChanged;
  uint64_t value = 0;
  std::string text;         // kEvent / kVipDown: reason
};
using Actions = std::vector<Action>;

// A member's view of another member (or of itself, for index == self).
struct PeerView {
  bool heard = false;
  bool resigned = false;
  // It resigned in this term (once at least): its rounds of this term or older
  // that arrive later were sent before the resign (reordered) and are dropped.
  bool resignSeen = false;
  uint64_t resignTerm = 0;
  int64_t lastHeard = 0;
  MemberState state = MemberState::kStandby;
  uint64_t term = 0;
  int leader = -1;
  std::vector<HealthVote> health;
};

enum class DisplayState { kLeader, kStandby, kCandidate, kLost, kShutdown };
const char* ToString(DisplayState s);

struct BackendConsensus {
  int backend = 0;
  int up = 0;        // live members that see it up
  int down = 0;      // live members that see it down
  int live = 0;      // live members (self included)
  bool consensusDown = false;  // down > live / 2
};

class Election {
 public:
  Election(const ElectionConfig& config, const PersistentState& stored, uint64_t seed,
           int64_t now);

  void OnMessage(const WireMessage& m, int64_t now, Actions* out);
  void OnTick(int64_t now, Actions* out);
  // Clean stop: VIP down, tell the others (a leader names its successor),
  // ignore everything afterwards.
  void Resign(int64_t now, Actions* out);
  // This member's view of the backends. A change is sent at the next tick
  // instead of with the next regular heartbeat, so that the leader learns of a
  // backend failure (and can reach consensus on it) without waiting an interval.
  void SetLocalHealth(std::vector<HealthVote> health);
  // Leader holding the lease only: stores doc as the next version and replicates
  // it at once. Returns the version, or 0 when refused (not leader / no lease /
  // document too long). Durability is announced by a kRegisterCommitted event.
  uint64_t WriteRegister(const std::string& doc, int64_t now, Actions* out);

  // The membership changed to `members` (one more or one fewer, at the end;
  // this member keeps its index): per-member state is kept for the members that
  // stay, a member that left is forgotten (a promise made to it is still kept
  // until it runs out), and the lease and commit are counted again.
  void SetMembers(int members, int64_t now, Actions* out);

  const ElectionConfig& config() const { return config_; }
  MemberState state() const { return state_; }
  uint64_t term() const { return term_; }
  // The leader this member follows now (itself when leader); -1 when none is live.
  int leader(int64_t now) const;
  bool vipHeld() const { return vipHeld_; }
  bool HasLease(int64_t now) const { return state_ == MemberState::kLeader && now < leaseUntil_; }
  int64_t leaseUntil() const { return leaseUntil_; }
  bool HasQuorum(int64_t now) const { return LiveMembers(now) >= config_.Majority(); }
  int LiveMembers(int64_t now) const;
  const RegisterCopy& reg() const { return reg_; }
  // This member's register copy is at least as new as what the live leader
  // advertised in its latest round (the leader: always). False while no live
  // leader is known, and after regaining contact until the leader's round has
  // been heard: a rejoining member's proxy must not act on a stale copy.
  bool RegisterCurrent(int64_t now) const {
    if (state_ == MemberState::kLeader) return true;
    return leader(now) >= 0 && leaderRegKnown_ && leaderRegRound_ == leader(now) &&
           !leaderReg_.NewerThan(reg_);
  }
  uint64_t committedVersion() const { return committedVersion_; }
  const PeerView& peer(int member) const { return peers_[member]; }
  DisplayState Display(int member, int64_t now) const;
  BackendConsensus Consensus(int backend, int64_t now) const;
  PersistentState Stored() const { return {term_, votedFor_, reg_}; }

 private:
  bool LiveLeaderOtherThan(int candidate, int64_t now) const;
  // Leader: the live member that acknowledged the newest round; -1 when none.
  int Successor(int64_t now) const;
  void HandleRound(const WireMessage& m, int64_t now, Actions* out);
  void HandleVoteRequest(const WireMessage& m, int64_t now, Actions* out);
  void HandleVoteReply(const WireMessage& m, int64_t now, Actions* out);
  void HandleAck(const WireMessage& m, int64_t now, Actions* out);
  // was_leader: the sender's previous datagram said it led in this term.
  void HandleResign(const WireMessage& m, bool was_leader, int64_t now, Actions* out);
  void AdoptTerm(uint64_t term, const char* why, int64_t now, Actions* out);
  void StepDown(const std::string& why, Actions* out);
  void SetState(MemberState s, Actions* out);
  void StartPreVote(int64_t now, Actions* out);
  void StartElection(int64_t now, const char* why, Actions* out);
  void BecomeLeader(int64_t now, Actions* out);
  void SendRound(int64_t now, Actions* out);
  void UpdateLease(int64_t now, Actions* out);
  void UpdateCommit(Actions* out);
  void ReconcileVip(int64_t now, Actions* out);
  void ScheduleElection(int64_t earliest, int64_t jitter_max);
  WireMessage Base(MessageKind kind) const;
  void Send(int to, WireMessage m, Actions* out) const;
  void Persist(Actions* out) const;
  void Event(EventKind k, uint64_t value, std::string text, Actions* out) const;

  ElectionConfig config_;  // members changes with SetMembers
  std::mt19937_64 rng_;
  std::vector<HealthVote> localHealth_;
  RegisterCopy leaderReg_;      // tag (term, version) of the leader's copy, from its round
  bool leaderRegKnown_ = false;
  int leaderRegRound_ = -1;     // which member advertised leaderReg_
  std::vector<PeerView> peers_;

  MemberState state_ = MemberState::kStandby;
  uint64_t term_ = 0;
  int votedFor_ = -1;
  int leader_ = -1;            // whom promiseUntil_ is for; -1 none
  int64_t promiseUntil_ = 0;   // no votes for others before this
  int64_t electionDue_ = 0;    // start a pre-vote at or after this
  int64_t nextStatusAt_ = 0;
  RegisterCopy reg_;
  // Our leader handoverFrom_ resigned naming handoverTo_; valid while leader_
  // is still handoverFrom_ (the successor's round replaces it).
  int handoverFrom_ = -1;
  int handoverTo_ = -1;

  // Candidate.
  bool preVotePhase_ = false;
  std::vector<bool> grants_;
  RegisterCopy bestReg_;
  int64_t candidateDeadline_ = 0;

  // Leader.
  uint64_t round_ = 0;
  std::map<uint64_t, int64_t> roundSent_;  // round -> local send time
  std::vector<uint64_t> acked_;            // newest round acked, per member
  std::vector<RegisterCopy> regAcked_;     // tag stored, per member (doc unused)
  int64_t leaseUntil_ = 0;
  int64_t leaderSince_ = 0;
  int64_t nextRoundAt_ = 0;
  uint64_t committedVersion_ = 0;
  bool vipHeld_ = false;
};

}  // namespace watchdog
}  // namespace pgvigil
