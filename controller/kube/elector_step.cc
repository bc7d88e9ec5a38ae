#include "controller/kube/elector_step.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace pgvigil::kube {

uint64_t LeaseEpoch(const Lease& lease) {
  auto it = lease.annotations.find(kEpochAnnotation);
  if (it == lease.annotations.end() || it->second.empty() || it->second.size() > 19) return 0;
  if (it->second.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::strtoull(it->second.c_str(), nullptr, 10);
}

const char* ToString(ElectorRole r) {
  switch (r) {
    case ElectorRole::kCandidate:
      return "candidate";
    case ElectorRole::kLeader:
      return "leader";
    case ElectorRole::kStopped:
      return "stopped";
  }
  return "?";
}

const char* ToString(ElectorCall::Kind k) {
  switch (k) {
    case ElectorCall::Kind::kWait:
      return "wait";
    case ElectorCall::Kind::kGet:
      return "get";
    case ElectorCall::Kind::kCreate:
      return "create";
    case ElectorCall::Kind::kAcquire:
      return "acquire";
    case ElectorCall::Kind::kRenew:
      return "renew";
    case ElectorCall::Kind::kRelease:
      return "release";
  }
  return "?";
}

ElectorCore::ElectorCore(ElectorSettings settings) : settings_(std::move(settings)) {}

namespace {

int DurationSeconds(std::chrono::milliseconds d) {
  return static_cast<int>(std::max<int64_t>(1, (d.count() + 999) / 1000));
}

}  // namespace

ElectorCall ElectorCore::Next(MonoMs now, const std::string& wall) const {
  ElectorCall c;
  if (role_ == ElectorRole::kStopped) {
    c.at = std::numeric_limits<MonoMs>::max();
    return c;
  }
  if (now < nextAt_) {
    c.at = nextAt_;
    return c;
  }
  if (readDue_ || (role_ == ElectorRole::kCandidate && !createDue_ && !acquireDue_)) {
    c.kind = ElectorCall::Kind::kGet;
    return c;
  }
  Lease l = known_;
  l.ns = settings_.ns;
  l.name = settings_.name;
  l.holderIdentity = settings_.identity;
  l.leaseDurationSeconds = DurationSeconds(settings_.leaseDuration);
  l.renewTime = wall;
  if (role_ == ElectorRole::kLeader) {
    c.kind = ElectorCall::Kind::kRenew;
    if (raiseAbove_ >= epoch_)
      l.annotations[kEpochAnnotation] = std::to_string(std::max({epoch_, highestTerm_, raiseAbove_}) + 1);
  } else if (createDue_) {
    c.kind = ElectorCall::Kind::kCreate;
    l = Lease{};
    l.ns = settings_.ns;
    l.name = settings_.name;
    l.holderIdentity = settings_.identity;
    l.leaseDurationSeconds = DurationSeconds(settings_.leaseDuration);
    l.acquireTime = l.renewTime = wall;
    l.leaseTransitions = 0;
    l.annotations[kEpochAnnotation] = std::to_string(highestTerm_ + 1);
  } else {
    c.kind = ElectorCall::Kind::kAcquire;
    l.acquireTime = wall;
    l.leaseTransitions = known_.leaseTransitions + 1;
    l.annotations[kEpochAnnotation] = std::to_string(std::max(LeaseEpoch(known_), highestTerm_) + 1);
  }
  c.lease = l;
  return c;
}

void ElectorCore::Observe(const Lease& lease, MonoMs now) {
  if (!haveRecord_ || lease.resourceVersion != known_.resourceVersion ||
      lease.holderIdentity != known_.holderIdentity || lease.renewTime != known_.renewTime)
    knownSince_ = now;
  known_ = lease;
  haveRecord_ = true;
}

bool ElectorCore::Expired(MonoMs now) const {
  if (!haveRecord_) return false;
  if (known_.holderIdentity.empty()) return true;  // released
  return now - knownSince_ >= settings_.leaseDuration.count();
}

std::string ElectorCore::BecomeLeader(const Lease& lease, MonoMs sent) {
  role_ = ElectorRole::kLeader;
  known_ = lease;
  haveRecord_ = true;
  knownSince_ = sent;
  lastRenewSent_ = sent;
  epoch_ = LeaseEpoch(lease);
  highestTerm_ = std::max(highestTerm_, epoch_);
  nextAt_ = sent + settings_.retryPeriod.count();
  createDue_ = acquireDue_ = readDue_ = false;
  return "leading: took Lease " + settings_.ns + "/" + settings_.name + " as " + settings_.identity + " with epoch " +
         std::to_string(epoch_) + " (transitions " + std::to_string(lease.leaseTransitions) + ")";
}

std::string ElectorCore::BecomeCandidate(const std::string& why, MonoMs now) {
  const bool was_leader = role_ == ElectorRole::kLeader;
  role_ = ElectorRole::kCandidate;
  epoch_ = 0;
  raiseAbove_ = 0;  // a takeover raises the epoch anyway
  readDue_ = acquireDue_ = false;
  nextAt_ = now;
  return was_leader ? "not leading any more: " + why : "";
}

std::string ElectorCore::OnOutcome(const ElectorCall& call, const LeaseOutcome& out, MonoMs sent, MonoMs now) {
  using Code = LeaseOutcome::Code;
  using Kind = ElectorCall::Kind;
  if (role_ == ElectorRole::kStopped) return "";
  const MonoMs retry = settings_.retryPeriod.count();
  switch (call.kind) {
    case Kind::kWait:
    case Kind::kRelease:
      return "";
    case Kind::kGet:
      readDue_ = false;
      if (out.code == Code::kOk) {
        createDue_ = false;
        Observe(out.lease, now);
        if (role_ == ElectorRole::kLeader) {
          if (out.lease.holderIdentity == settings_.identity && LeaseEpoch(out.lease) == epoch_) {
            nextAt_ = now;  // still ours: renew on the new resourceVersion
            return "";
          }
          // Still ours, with a raised epoch: a renewal that raised it went
          // through though its reply was lost (only this holder writes it).
          if (out.lease.holderIdentity == settings_.identity && raiseAbove_ >= epoch_ &&
              LeaseEpoch(out.lease) > epoch_) {
            nextAt_ = now;
            return AdoptEpoch(LeaseEpoch(out.lease));
          }
          std::string why = "the Lease is held by '" + out.lease.holderIdentity + "' with epoch " +
                            std::to_string(LeaseEpoch(out.lease));
          std::string line = BecomeCandidate(why, now);
          nextAt_ = now + retry;
          return line;
        }
        acquireDue_ = Expired(now);
        nextAt_ = acquireDue_ ? now : now + retry;
        return "";
      }
      if (out.code == Code::kNotFound) {
        haveRecord_ = false;
        std::string line = role_ == ElectorRole::kLeader ? BecomeCandidate("the Lease was deleted", now) : "";
        createDue_ = true;
        nextAt_ = now;
        return line;
      }
      nextAt_ = now + retry;
      return "";
    case Kind::kCreate:
    case Kind::kAcquire:
      if (role_ != ElectorRole::kCandidate) return "";
      createDue_ = acquireDue_ = false;
      if (out.code == Code::kOk) return BecomeLeader(out.lease, sent);
      if (out.code == Code::kConflict) {
        nextAt_ = now;  // someone else wrote first (AlreadyExists or Conflict): read it
        return "";
      }
      if (out.code == Code::kNotFound) {
        createDue_ = true;
        nextAt_ = now;
        return "";
      }
      nextAt_ = now + retry;  // maybe it went through: the next read tells
      return "";
    case Kind::kRenew:
      if (role_ != ElectorRole::kLeader) return "";
      if (out.code == Code::kOk) {
        Observe(out.lease, now);
        lastRenewSent_ = std::max(lastRenewSent_, sent);
        nextAt_ = std::max(now, sent + retry);
        return LeaseEpoch(out.lease) > epoch_ ? AdoptEpoch(LeaseEpoch(out.lease)) : "";
      }
      if (out.code == Code::kConflict) {
        readDue_ = true;  // the record changed under us: read who holds it
        nextAt_ = now;
        return "";
      }
      if (out.code == Code::kNotFound) {
        haveRecord_ = false;
        std::string line = BecomeCandidate("the Lease was deleted", now);
        createDue_ = true;
        return line;
      }
      nextAt_ = now + std::min<MonoMs>(retry, 500);  // keep trying; MayAct lapses by itself
      return "";
  }
  return "";
}

std::string ElectorCore::AdoptEpoch(uint64_t epoch) {
  const uint64_t was = epoch_;
  epoch_ = epoch;
  highestTerm_ = std::max(highestTerm_, epoch_);
  if (raiseAbove_ < epoch_) raiseAbove_ = 0;
  return "epoch raised from " + std::to_string(was) + " to " + std::to_string(epoch_) + " (still holding Lease " +
         settings_.ns + "/" + settings_.name + ")";
}

std::string ElectorCore::RaiseEpochAbove(uint64_t term, MonoMs now) {
  if (role_ != ElectorRole::kLeader || epoch_ > term) return "";
  const bool asked = raiseAbove_ >= epoch_;
  raiseAbove_ = std::max(raiseAbove_, term);
  nextAt_ = std::min(nextAt_, now);  // renew (and raise) now
  return asked ? "" : "raising the epoch above " + std::to_string(term) + " at the next renewal";
}

void ElectorCore::NoteTerm(uint64_t term) { highestTerm_ = std::max(highestTerm_, term); }

std::string ElectorCore::Deposed(uint64_t term, MonoMs now) {
  NoteTerm(term);
  if (role_ != ElectorRole::kLeader) return "";
  std::string line = BecomeCandidate(
      "deposed: a status.term " + std::to_string(term) + " is above epoch " + std::to_string(epoch_), now);
  nextAt_ = now + settings_.retryPeriod.count();
  return line;
}

ElectorCall ElectorCore::Release(const std::string& wall) {
  ElectorCall c;
  const bool leading = role_ == ElectorRole::kLeader;
  role_ = ElectorRole::kStopped;
  epoch_ = 0;
  if (!leading) {
    c.at = std::numeric_limits<MonoMs>::max();
    return c;
  }
  c.kind = ElectorCall::Kind::kRelease;
  c.lease = known_;
  c.lease.holderIdentity = "";
  c.lease.leaseDurationSeconds = 1;
  c.lease.renewTime = wall;
  return c;  // the epoch annotation stays: it never goes back
}

bool ElectorCore::MayAct(MonoMs now) const {
  return role_ == ElectorRole::kLeader && now - lastRenewSent_ < settings_.renewDeadline.count();
}

}  // namespace pgvigil::kube
