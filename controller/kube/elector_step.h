// The Lease election of KUBERNETES.md §4.2 as a pure state machine: fed with
// the outcome of each Lease call and a monotonic clock value, it says which
// call to make next. No sockets, clocks or threads inside (elector.h does the
// I/O around it).
//
// Safety argument. The Lease elects; the epoch it carries (annotation
// pgvigil.io/epoch) fences. Only a CAS PUT (or the first create) moves the
// epoch, and it moves it above every status.term this controller has seen, so
// two controllers never act under the same term. A leader acts only while
// less than `renewDeadline` has passed since it SENT its last successful
// renewal. A candidate takes over only after it has seen the record unchanged
// for `leaseDuration`, timed from when the reply showing the change ARRIVED
// (the change happened after the leader sent it). So the candidate's takeover
// comes at least leaseDuration - renewDeadline (5 s by default) after the old
// leader's acting window closed, a margin for clock-rate differences.
// `renewTime` is written for humans and never compared with local time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "controller/kube/kube_lease.h"

namespace pgvigil::kube {

using MonoMs = int64_t;  // a monotonic clock in milliseconds (steady_clock in production)

inline constexpr const char* kEpochAnnotation = "pgvigil.io/epoch";

struct ElectorSettings {
  std::string ns;                 // the Lease's namespace (the operator's)
  std::string name = "pgvigil-controller";
  std::string identity;           // pod name + per-start nonce
  std::chrono::milliseconds leaseDuration{15000};
  std::chrono::milliseconds renewDeadline{10000};
  std::chrono::milliseconds retryPeriod{2000};
};

// The epoch a Lease carries (0 when absent or not a number).
uint64_t LeaseEpoch(const Lease& lease);

enum class ElectorRole { kCandidate, kLeader, kStopped };
const char* ToString(ElectorRole r);

// The next call to make (or to wait until `at`).
struct ElectorCall {
  enum class Kind { kWait, kGet, kCreate, kAcquire, kRenew, kRelease };
  Kind kind = Kind::kWait;
  MonoMs at = 0;  // kWait: until when
  Lease lease;    // kCreate, kAcquire, kRenew, kRelease: the body (with the resourceVersion read)
};
const char* ToString(ElectorCall::Kind k);

// What the call brought back.
struct LeaseOutcome {
  enum class Code { kOk, kNotFound, kConflict, kFailed };  // kConflict: 409 (Conflict or AlreadyExists)
  Code code = Code::kFailed;
  Lease lease;         // kOk: the stored Lease
  std::string detail;  // kFailed: what went wrong
};

class ElectorCore {
 public:
  explicit ElectorCore(ElectorSettings settings);

  // The call due at `now`; `wall` is the MicroTime written as acquire/renewTime.
  ElectorCall Next(MonoMs now, const std::string& wall) const;
  // The outcome of `call`, which was sent at `sent` and answered at `now`.
  // Returns a line worth logging when the role or epoch changed, else "".
  std::string OnOutcome(const ElectorCall& call, const LeaseOutcome& outcome, MonoMs sent, MonoMs now);

  // The highest status.term seen in any cluster: the next epoch goes above it.
  void NoteTerm(uint64_t term);
  // A cluster's status.term is above our epoch: someone newer acts. Stop
  // leading at once and campaign again (above `term`).
  std::string Deposed(uint64_t term, MonoMs now);
  // Leader: the next renewal also raises the epoch above `term` (and every
  // status.term seen), by the same CAS as every renewal. Asked when an
  // instance fenced itself in the current term and only a newer term may run
  // its PostgreSQL again (KUBERNETES.md §6 item 2). The old term stops acting
  // as soon as the new epoch is stored (epoch() moves). Returns a line worth
  // logging, or "" (not leading, or the epoch is already above `term`).
  std::string RaiseEpochAbove(uint64_t term, MonoMs now);
  // Shutdown: the release call (holder "", leaseDurationSeconds 1), or a
  // kWait call when not leading. The core then stops.
  ElectorCall Release(const std::string& wall);

  // Whether the leader may act at `now`: it holds the Lease and sent its last
  // successful renewal (or acquisition) less than renewDeadline ago.
  bool MayAct(MonoMs now) const;
  ElectorRole role() const { return role_; }
  uint64_t epoch() const { return epoch_; }  // while leader: the term to act under
  const ElectorSettings& settings() const { return settings_; }
  const Lease& known() const { return known_; }

 private:
  // Takes a read record in; a different record restarts the expiry timer.
  void Observe(const Lease& lease, MonoMs now);
  bool Expired(MonoMs now) const;
  std::string BecomeLeader(const Lease& lease, MonoMs sent);
  std::string BecomeCandidate(const std::string& why, MonoMs now);
  std::string AdoptEpoch(uint64_t epoch);  // leader: our renewal stored a raised epoch

  const ElectorSettings settings_;
  ElectorRole role_ = ElectorRole::kCandidate;
  bool haveRecord_ = false;  // known_ holds a read record
  bool createDue_ = false;   // the last read said 404
  bool acquireDue_ = false;  // the last read found the record expired
  bool readDue_ = false;     // leader: a renewal met 409, read before renewing
  Lease known_;
  MonoMs knownSince_ = 0;    // when known_'s content was first seen
  MonoMs nextAt_ = 0;        // the next poll or renewal
  MonoMs lastRenewSent_ = 0; // leader: when its last successful renewal was sent
  uint64_t epoch_ = 0;       // leader: the epoch it holds
  uint64_t highestTerm_ = 0;
  uint64_t raiseAbove_ = 0;  // leader: the next renewal carries an epoch above this (0: none asked)
};

}  // namespace pgvigil::kube
