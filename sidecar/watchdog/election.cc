// See election.h for the protocol and its safety argument.
#include "sidecar/watchdog/election.h"

#include <algorithm>

namespace pgvigil {
namespace watchdog {

const char* ToString(EventKind k) {
  switch (k) {
    case EventKind::kStateChanged: return "state_changed";
    case EventKind::kTermChanged: return "term_changed";
    case EventKind::kElectionStarted: return "election_started";
    case EventKind::kBecameLeader: return "became_leader";
    case EventKind::kSteppedDown: return "stepped_down";
    case EventKind::kLeaseAcquired: return "lease_acquired";
    case EventKind::kLeaseLost: return "lease_lost";
    case EventKind::kVoteGranted: return "vote_granted";
    case EventKind::kVoteRefused: return "vote_refused";
    case EventKind::kRegisterCommitted: return "register_committed";
    case EventKind::kRegisterAdopted: return "register_adopted";
    case EventKind::kPeerResigned: return "peer_resigned";
    case EventKind::kHandover: return "handover";
  }
  return "unknown";
}

const char* ToString(DisplayState s) {
  switch (s) {
    case DisplayState::kLeader: return "LEADER";
    case DisplayState::kStandby: return "STANDBY";
    case DisplayState::kCandidate: return "CANDIDATE";
    case DisplayState::kLost: return "LOST";
    case DisplayState::kShutdown: return "SHUTDOWN";
  }
  return "UNKNOWN";
}

Election::Election(const ElectionConfig& config, const PersistentState& stored, uint64_t seed,
                   int64_t now)
    : config_(config),
      rng_(seed),
      peers_(config.members),
      term_(stored.term),
      votedFor_(stored.votedFor),
      reg_(stored.reg),
      grants_(config.members, false),
      acked_(config.members, 0),
      regAcked_(config.members) {
  // We may have promised a leader before a restart: honour it for a full P.
  promiseUntil_ = now + config_.PromiseMs();
  ScheduleElection(promiseUntil_, config_.heartbeatIntervalMs / 2);
  nextStatusAt_ = now;
}

int Election::leader(int64_t now) const {
  if (state_ == MemberState::kLeader) return config_.self;
  if (state_ == MemberState::kShutdown) return -1;
  return promiseUntil_ > now ? leader_ : -1;
}

int Election::LiveMembers(int64_t now) const {
  if (state_ == MemberState::kShutdown) return 0;
  int live = 1;
  for (int i = 0; i < config_.members; ++i) {
    if (i == config_.self) continue;
    const PeerView& p = peers_[i];
    if (p.heard && !p.resigned && now - p.lastHeard <= config_.deadTimeMs) ++live;
  }
  return live;
}

DisplayState Election::Display(int member, int64_t now) const {
  MemberState s = state_;
  if (member != config_.self) {
    const PeerView& p = peers_[member];
    if (p.resigned) return DisplayState::kShutdown;
    if (!p.heard || now - p.lastHeard > config_.deadTimeMs) return DisplayState::kLost;
    s = p.state;
  }
  switch (s) {
    case MemberState::kLeader: return DisplayState::kLeader;
    case MemberState::kCandidate: return DisplayState::kCandidate;
    case MemberState::kShutdown: return DisplayState::kShutdown;
    case MemberState::kStandby: break;
  }
  return DisplayState::kStandby;
}

BackendConsensus Election::Consensus(int backend, int64_t now) const {
  BackendConsensus c;
  c.backend = backend;
  auto count = [&](const std::vector<HealthVote>& votes) {
    ++c.live;
    for (const auto& v : votes) {
      if (v.backend != backend) continue;
      if (v.status == HealthStatus::kUp) ++c.up;
      if (v.status == HealthStatus::kDown) ++c.down;
    }
  };
  if (state_ != MemberState::kShutdown) count(localHealth_);
  for (int i = 0; i < config_.members; ++i) {
    const PeerView& p = peers_[i];
    if (i == config_.self || !p.heard || p.resigned || now - p.lastHeard > config_.deadTimeMs)
      continue;
    count(p.health);
  }
  c.consensusDown = c.live > 0 && c.down * 2 > c.live;
  return c;
}

// ---------------------------------------------------------------- inputs

void Election::OnMessage(const WireMessage& m, int64_t now, Actions* out) {
  if (state_ == MemberState::kShutdown || m.from == config_.self || m.from >= config_.members)
    return;
  PeerView& p = peers_[m.from];
  const bool round = m.kind == MessageKind::kHeartbeat && m.state == MemberState::kLeader && m.leader == m.from;
  if (round && p.resignSeen && m.term <= p.resignTerm) return;  // sent before its resign
  if (m.kind == MessageKind::kResign) {
    p.resignTerm = p.resignSeen ? std::max(p.resignTerm, m.term) : m.term;
    p.resignSeen = true;
  }
  const bool was_leader = p.heard && !p.resigned && p.state == MemberState::kLeader && p.term == m.term;
  p.heard = true;
  p.lastHeard = now;
  p.resigned = m.kind == MessageKind::kResign;
  p.state = m.kind == MessageKind::kResign ? MemberState::kShutdown : m.state;
  p.term = m.term;
  p.leader = m.leader == kNoMember ? -1 : m.leader;
  p.health = m.health;
  switch (m.kind) {
    case MessageKind::kHeartbeat:
      if (round) HandleRound(m, now, out);
      break;
    case MessageKind::kVoteRequest: HandleVoteRequest(m, now, out); break;
    case MessageKind::kVoteReply: HandleVoteReply(m, now, out); break;
    case MessageKind::kAck: HandleAck(m, now, out); break;
    case MessageKind::kResign: HandleResign(m, was_leader, now, out); break;
  }
  ReconcileVip(now, out);
}

void Election::SetLocalHealth(std::vector<HealthVote> health) {
  bool changed = health.size() != localHealth_.size();
  for (size_t i = 0; !changed && i < health.size(); ++i)
    changed = health[i].backend != localHealth_[i].backend || health[i].status != localHealth_[i].status;
  localHealth_ = std::move(health);
  if (changed) {
    nextStatusAt_ = 0;  // followers: a heartbeat at the next tick
    nextRoundAt_ = 0;   // leader: its round carries the view at the next tick
  }
}

void Election::OnTick(int64_t now, Actions* out) {
  if (state_ == MemberState::kShutdown) return;
  ReconcileVip(now, out);
  if (state_ == MemberState::kLeader) {
    if (now >= nextRoundAt_) SendRound(now, out);
    return;
  }
  if (state_ == MemberState::kCandidate) {
    if (now >= candidateDeadline_) {
      StartPreVote(now, out);
    } else if (!preVotePhase_ && handoverTo_ == config_.self && leader_ >= 0 &&
               handoverFrom_ == leader_ && promiseUntil_ > now) {
      // Standing on a handover: a voter may have heard our request before the
      // resign (and refused it), or lost it; ask again every tick meanwhile.
      for (int i = 0; i < config_.members; ++i)
        if (i != config_.self && !grants_[i] && !peers_[i].resigned) Send(i, Base(MessageKind::kVoteRequest), out);
    }
  } else if (now >= electionDue_ && now >= promiseUntil_) {
    StartPreVote(now, out);
  }
  if (now >= nextStatusAt_) {
    Send(-1, Base(MessageKind::kHeartbeat), out);
    nextStatusAt_ = now + config_.heartbeatIntervalMs;
  }
}

void Election::Resign(int64_t now, Actions* out) {
  if (state_ == MemberState::kShutdown) return;
  const int successor = state_ == MemberState::kLeader ? Successor(now) : -1;
  // VIP down and the lease given up first, then the others hear of it.
  if (state_ == MemberState::kLeader || vipHeld_) StepDown("resigning: clean shutdown", out);
  SetState(MemberState::kShutdown, out);
  WireMessage m = Base(MessageKind::kResign);
  if (successor >= 0) {
    m.leader = static_cast<uint8_t>(successor);
    Event(EventKind::kHandover, successor, "resigning: handing over to the member that acknowledged "
          "the newest round", out);
  }
  Send(-1, m, out);
}

uint64_t Election::WriteRegister(const std::string& doc, int64_t now, Actions* out) {
  if (!HasLease(now) || doc.size() > kMaxRegisterDoc) return 0;
  reg_ = RegisterCopy{term_, reg_.version + 1, doc};
  regAcked_[config_.self] = reg_;
  Persist(out);
  SendRound(now, out);
  UpdateCommit(out);
  return reg_.version;
}

void Election::SetMembers(int members, int64_t now, Actions* out) {
  if (members < 1 || members == config_.members || config_.self >= members) return;
  config_.members = members;
  peers_.resize(members);
  grants_.resize(members, false);
  acked_.resize(members, 0);
  regAcked_.resize(members);
  // promiseUntil_ still holds us to a leader that left; a vote cast for a
  // member that left stays cast (persisted): nobody else gets one in this term.
  if (leader_ >= members) leader_ = -1;
  if (handoverFrom_ >= members || handoverTo_ >= members) handoverFrom_ = handoverTo_ = -1;
  if (leaderRegRound_ >= members) {
    leaderRegKnown_ = false;
    leaderRegRound_ = -1;
  }
  if (state_ == MemberState::kLeader) {
    UpdateLease(now, out);
    UpdateCommit(out);
    nextRoundAt_ = 0;  // a round at the next tick reaches the new member
  } else {
    nextStatusAt_ = 0;
  }
  ReconcileVip(now, out);
}

// ---------------------------------------------------------------- handlers

bool Election::LiveLeaderOtherThan(int candidate, int64_t now) const {
  if (state_ == MemberState::kLeader) return true;
  if (promiseUntil_ <= now || leader_ == candidate) return false;
  // Our leader resigned (its lease and VIP given up) and named this candidate.
  return !(leader_ >= 0 && handoverFrom_ == leader_ && handoverTo_ == candidate);
}

int Election::Successor(int64_t now) const {
  int best = -1;
  for (int i = 0; i < config_.members; ++i) {
    const PeerView& p = peers_[i];
    if (i == config_.self || !p.heard || p.resigned || now - p.lastHeard > config_.deadTimeMs ||
        acked_[i] == 0)
      continue;
    if (best < 0 || acked_[i] > acked_[best] ||
        (acked_[i] == acked_[best] && regAcked_[i].NewerThan(regAcked_[best])))
      best = i;
  }
  return best;
}

void Election::HandleRound(const WireMessage& m, int64_t now, Actions* out) {
  if (m.term < term_) {
    // A deposed leader: answer with our term so that it steps down.
    WireMessage ack = Base(MessageKind::kAck);
    ack.round = 0;
    Send(m.from, ack, out);
    return;
  }
  if (m.term > term_) AdoptTerm(m.term, "round from a newer leader", now, out);
  if (state_ == MemberState::kLeader) return;  // same term: impossible, two leaders
  if (state_ == MemberState::kCandidate) SetState(MemberState::kStandby, out);
  leader_ = m.from;
  handoverFrom_ = handoverTo_ = -1;
  promiseUntil_ = now + config_.PromiseMs();
  ScheduleElection(promiseUntil_, config_.heartbeatIntervalMs / 2);
  if (m.Has(kFlagHasDoc) && m.reg.NewerThan(reg_)) {
    reg_ = m.reg;
    Persist(out);
  }
  leaderReg_ = RegisterCopy{m.reg.term, m.reg.version, ""};
  leaderRegKnown_ = true;
  leaderRegRound_ = m.from;
  WireMessage ack = Base(MessageKind::kAck);
  ack.round = m.round;
  Send(m.from, ack, out);
}

void Election::HandleVoteRequest(const WireMessage& m, int64_t now, Actions* out) {
  WireMessage reply = Base(MessageKind::kVoteReply);
  if (m.Has(kFlagPreVote)) {
    reply.flags = kFlagPreVote;
    reply.term = m.term;  // echo the attempt
    if (m.term > term_ && !LiveLeaderOtherThan(m.from, now)) reply.flags |= kFlagGranted;
    Send(m.from, reply, out);
    return;
  }
  if (m.term < term_) {
    Event(EventKind::kVoteRefused, m.from, "candidate's term is older", out);
    Send(m.from, reply, out);
    return;
  }
  if (LiveLeaderOtherThan(m.from, now)) {
    // Do not even adopt the term: a live leader is not disturbed.
    Event(EventKind::kVoteRefused, m.from, "a live leader is known", out);
    Send(m.from, reply, out);
    return;
  }
  if (m.term > term_) AdoptTerm(m.term, "vote request", now, out);
  if (votedFor_ == -1 || votedFor_ == m.from) {
    votedFor_ = m.from;
    Persist(out);  // before the vote leaves
    ScheduleElection(now + config_.PromiseMs(), config_.heartbeatIntervalMs / 2);
    reply = Base(MessageKind::kVoteReply);
    reply.flags = kFlagGranted | kFlagHasDoc;
    Event(EventKind::kVoteGranted, m.from, "", out);
  } else {
    Event(EventKind::kVoteRefused, m.from, "already voted in this term", out);
  }
  Send(m.from, reply, out);
}

void Election::HandleVoteReply(const WireMessage& m, int64_t now, Actions* out) {
  if (m.Has(kFlagPreVote)) {
    if (state_ == MemberState::kCandidate && preVotePhase_ && m.term == term_ + 1 &&
        m.Has(kFlagGranted)) {
      grants_[m.from] = true;
      if (std::count(grants_.begin(), grants_.end(), true) >= config_.Majority())
        StartElection(now, "pre-vote majority", out);
    }
    return;
  }
  if (m.term > term_) {
    AdoptTerm(m.term, "vote reply with a newer term", now, out);
    return;
  }
  if (state_ != MemberState::kCandidate || preVotePhase_ || m.term != term_ ||
      !m.Has(kFlagGranted))
    return;
  grants_[m.from] = true;
  if (m.Has(kFlagHasDoc) && m.reg.NewerThan(bestReg_)) bestReg_ = m.reg;
  if (std::count(grants_.begin(), grants_.end(), true) >= config_.Majority())
    BecomeLeader(now, out);
}

void Election::HandleAck(const WireMessage& m, int64_t now, Actions* out) {
  if (m.term > term_) {
    AdoptTerm(m.term, "a member is in a newer term", now, out);
    return;
  }
  if (state_ != MemberState::kLeader || m.term != term_) return;
  acked_[m.from] = std::max(acked_[m.from], m.round);
  if (m.reg.NewerThan(regAcked_[m.from])) regAcked_[m.from] = m.reg;
  UpdateLease(now, out);
  UpdateCommit(out);
}

void Election::HandleResign(const WireMessage& m, bool was_leader, int64_t now, Actions* out) {
  Event(EventKind::kPeerResigned, m.from, "", out);
  if (m.term != term_ || leader_ != m.from || state_ == MemberState::kLeader) return;
  if (handoverFrom_ == m.from) return;  // the Resign's second copy: handing over already
  // The leader dropped the VIP and its lease before resigning.
  const int successor = was_leader && m.leader != kNoMember && m.leader != m.from &&
                                m.leader < config_.members
                            ? m.leader
                            : -1;
  if (successor < 0 || promiseUntil_ <= now) {  // no successor: elect at once
    leader_ = -1;
    promiseUntil_ = now;
    ScheduleElection(now, config_.heartbeatIntervalMs / 4);
    return;
  }
  // Keep following the old leader (its register tag too) until the successor's
  // round, or until the promise runs out as after a crash; vote for the successor
  // meanwhile (and for nobody else).
  handoverFrom_ = m.from;
  handoverTo_ = successor;
  if (successor != config_.self) {
    Event(EventKind::kHandover, successor, "our leader resigned naming it: it gets our vote", out);
    return;
  }
  Event(EventKind::kHandover, successor, "our leader resigned naming us: standing at once", out);
  SetState(MemberState::kCandidate, out);
  std::uniform_int_distribution<int64_t> d(0, config_.heartbeatIntervalMs);
  candidateDeadline_ = now + config_.heartbeatIntervalMs + d(rng_);
  StartElection(now, "handover from the resigning leader", out);
  if (state_ == MemberState::kCandidate) leader_ = m.from;  // followed until elected
}

// ---------------------------------------------------------------- transitions

void Election::AdoptTerm(uint64_t term, const char* why, int64_t now, Actions* out) {
  if (term <= term_) return;
  if (state_ == MemberState::kLeader) StepDown(std::string("newer term: ") + why, out);
  if (state_ == MemberState::kCandidate) SetState(MemberState::kStandby, out);
  term_ = term;
  votedFor_ = -1;
  if (promiseUntil_ <= now) leader_ = -1;
  Persist(out);
  Event(EventKind::kTermChanged, term, why, out);
}

void Election::StepDown(const std::string& why, Actions* out) {
  if (vipHeld_) {
    Action a;
    a.kind = ActionKind::kVipDown;
    a.text = why;
    out->push_back(a);
    vipHeld_ = false;
  }
  if (state_ != MemberState::kLeader) return;
  leaseUntil_ = 0;
  leader_ = -1;
  promiseUntil_ = 0;
  roundSent_.clear();
  SetState(MemberState::kStandby, out);
  Event(EventKind::kSteppedDown, term_, why, out);
}

void Election::SetState(MemberState s, Actions* out) {
  if (s == state_) return;
  state_ = s;
  Event(EventKind::kStateChanged, static_cast<uint64_t>(s), ToString(s), out);
}

void Election::ScheduleElection(int64_t earliest, int64_t jitter_max) {
  std::uniform_int_distribution<int64_t> d(0, std::max<int64_t>(jitter_max, 0));
  electionDue_ = earliest + d(rng_);
}

void Election::StartPreVote(int64_t now, Actions* out) {
  SetState(MemberState::kCandidate, out);
  preVotePhase_ = true;
  std::fill(grants_.begin(), grants_.end(), false);
  grants_[config_.self] = true;
  std::uniform_int_distribution<int64_t> d(0, config_.heartbeatIntervalMs);
  candidateDeadline_ = now + config_.heartbeatIntervalMs + d(rng_);
  if (config_.Majority() <= 1) {
    StartElection(now, "a cluster of one", out);
    return;
  }
  WireMessage m = Base(MessageKind::kVoteRequest);
  m.flags = kFlagPreVote;
  m.term = term_ + 1;
  Send(-1, m, out);
}

void Election::StartElection(int64_t now, const char* why, Actions* out) {
  preVotePhase_ = false;
  term_ += 1;
  votedFor_ = config_.self;
  leader_ = -1;
  Persist(out);
  Event(EventKind::kElectionStarted, term_, why, out);
  std::fill(grants_.begin(), grants_.end(), false);
  grants_[config_.self] = true;
  bestReg_ = reg_;
  if (config_.Majority() <= 1) {
    BecomeLeader(now, out);
    return;
  }
  Send(-1, Base(MessageKind::kVoteRequest), out);
}

void Election::BecomeLeader(int64_t now, Actions* out) {
  if (bestReg_.NewerThan(reg_)) {
    reg_ = bestReg_;
    Event(EventKind::kRegisterAdopted, reg_.version, "newest copy among the voters", out);
  }
  // Re-stamp the adopted copy in our term so that followers converge on it.
  reg_ = RegisterCopy{term_, reg_.version + 1, reg_.doc};
  Persist(out);
  SetState(MemberState::kLeader, out);
  leader_ = config_.self;
  handoverFrom_ = handoverTo_ = -1;
  std::fill(acked_.begin(), acked_.end(), 0);
  std::fill(regAcked_.begin(), regAcked_.end(), RegisterCopy());
  regAcked_[config_.self] = reg_;
  round_ = 0;
  roundSent_.clear();
  leaseUntil_ = 0;
  leaderSince_ = now;
  committedVersion_ = 0;
  Event(EventKind::kBecameLeader, term_, "", out);
  SendRound(now, out);
}

void Election::SendRound(int64_t now, Actions* out) {
  ++round_;
  roundSent_[round_] = now;
  while (!roundSent_.empty() && roundSent_.begin()->second + config_.LeaseMs() < now)
    roundSent_.erase(roundSent_.begin());
  acked_[config_.self] = round_;
  WireMessage m = Base(MessageKind::kHeartbeat);
  m.round = round_;
  bool behind = false;
  for (int i = 0; i < config_.members; ++i)
    if (i != config_.self && reg_.NewerThan(regAcked_[i])) behind = true;
  if (behind) {
    m.flags |= kFlagHasDoc;
    m.reg = reg_;
  }
  Send(-1, m, out);
  nextRoundAt_ = now + config_.RoundMs();
  UpdateLease(now, out);
}

void Election::UpdateLease(int64_t now, Actions* out) {
  std::vector<uint64_t> rounds(acked_);
  std::sort(rounds.rbegin(), rounds.rend());
  uint64_t r = rounds[config_.Majority() - 1];
  auto it = roundSent_.find(r);
  if (r == 0 || it == roundSent_.end()) return;
  int64_t until = it->second + config_.LeaseMs();
  if (until > leaseUntil_) {
    if (leaseUntil_ <= now && until > now) Event(EventKind::kLeaseAcquired, term_, "", out);
    leaseUntil_ = until;
  }
}

void Election::UpdateCommit(Actions* out) {
  std::vector<RegisterCopy> tags(regAcked_);
  std::sort(tags.begin(), tags.end(),
            [](const RegisterCopy& a, const RegisterCopy& b) { return a.NewerThan(b); });
  const RegisterCopy& t = tags[config_.Majority() - 1];
  if (t.term == term_ && t.version > committedVersion_) {
    committedVersion_ = t.version;
    Event(EventKind::kRegisterCommitted, t.version, "", out);
  }
}

void Election::ReconcileVip(int64_t now, Actions* out) {
  if (state_ == MemberState::kLeader) {
    bool never = leaseUntil_ == 0 && now >= leaderSince_ + config_.LeaseMs();
    if ((leaseUntil_ != 0 && now >= leaseUntil_) || never) {
      Event(EventKind::kLeaseLost, term_, "no majority acknowledged a round in time", out);
      StepDown("lease not renewed by a majority in time", out);
      ScheduleElection(now, config_.heartbeatIntervalMs / 2);
      return;
    }
    if (!vipHeld_ && now < leaseUntil_) {
      Action a;
      a.kind = ActionKind::kVipUp;
      out->push_back(a);
      vipHeld_ = true;
    }
    return;
  }
  if (vipHeld_) StepDown("not leader", out);
}

// ---------------------------------------------------------------- outputs

WireMessage Election::Base(MessageKind kind) const {
  WireMessage m;
  m.kind = kind;
  m.from = static_cast<uint8_t>(config_.self);
  m.term = term_;
  m.state = state_;
  m.leader = state_ == MemberState::kLeader ? static_cast<uint8_t>(config_.self)
             : leader_ >= 0                 ? static_cast<uint8_t>(leader_)
                                            : kNoMember;
  m.reg = RegisterCopy{reg_.term, reg_.version, ""};
  if (kind == MessageKind::kVoteReply) m.reg.doc = reg_.doc;
  m.health = localHealth_;
  return m;
}

void Election::Send(int to, WireMessage m, Actions* out) const {
  if (!m.Has(kFlagHasDoc)) m.reg.doc.clear();
  Action a;
  a.kind = ActionKind::kSend;
  a.to = to;
  a.message = std::move(m);
  out->push_back(std::move(a));
}

void Election::Persist(Actions* out) const {
  Action a;
  a.kind = ActionKind::kPersist;
  a.persist = Stored();
  out->push_back(std::move(a));
}

void Election::Event(EventKind k, uint64_t value, std::string text, Actions* out) const {
  Action a;
  a.kind = ActionKind::kEvent;
  a.event = k;
  a.value = value;
  a.text = std::move(text);
  out->push_back(std::move(a));
}

}  // namespace watchdog
}  // namespace pgvigil
