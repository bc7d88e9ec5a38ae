// The controller's durable state: what it has decided and relies on. It lives
// in the watchdog's cluster-state register (bare VMs) or the custom resource's
// status (Kubernetes). Rule: the controller writes a change here (a kWriteState
// action) before any later action relies on it, and a new leader's controller
// starts from the newest durable copy. Plain value type; the planner receives it
// and returns changed copies inside kWriteState actions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/plan/observation.h"

namespace pgvigil::plan {

enum class TransitionKind { kNone, kFailover, kSwitchover };
const char* ToString(TransitionKind k);

// Steps of a switchover, in order. A failover has one step (kFencing): the old
// primary is fenced and the target's promotion has been asked for.
enum class TransitionStep { kFencing, kPaused, kStopping, kPromoting };
const char* ToString(TransitionStep s);

// A failover or switchover in progress: recorded before its first risky step so
// that a restarted or new controller finishes it instead of starting another.
struct Transition {
  TransitionKind kind = TransitionKind::kNone;
  std::string from;  // the old primary
  std::string to;    // the node being promoted
  TransitionStep step = TransitionStep::kFencing;
  TimeMs startedAt = 0;  // switchover: when proxies were paused
  Lsn stopLsn = 0;       // switchover: old primary's last LSN seen before the stop

  bool active() const { return kind != TransitionKind::kNone; }
};

struct ClusterState {
  uint64_t version = 0;  // bumped by every write; compare-and-set by the writer
  std::string primary;   // current primary; empty: not yet chosen
  uint32_t timeline = 0;

  // Routing: the last table the controller published (generation only moves forward).
  uint64_t routingGeneration = 0;
  std::string routedPrimary;                // empty: writes fail closed
  std::vector<std::string> routedStandbys;  // sorted
  // Their load-balance weights, same order; empty: not recorded (not compared).
  std::vector<int> routedWeights;

  // Synchronous replication: standbys of which at least `synchronousCount` hold
  // every acknowledged commit (always a superset of the primary's
  // synchronous_standby_names list). While shrinking, `syncShrinkLsn` is the
  // primary's LSN once the smaller list took effect; the smaller set is recorded
  // only when its members have flushed up to it.
  std::vector<std::string> synchronousStandbys;  // sorted
  int synchronousCount = 0;
  Lsn syncShrinkLsn = 0;

  std::vector<std::string> fenced;    // never routed, must be rebuilt to rejoin (sorted)
  std::vector<std::string> detached;  // taken out by an operator (sorted)
  Transition transition;
  TimeMs switchoverBackoffUntil = 0;  // after an aborted switchover: no new one before

  bool IsFenced(const std::string& node) const;
  bool IsDetached(const std::string& node) const;
  bool IsSynchronous(const std::string& node) const;
};

bool operator==(const Transition& a, const Transition& b);
bool operator==(const ClusterState& a, const ClusterState& b);
inline bool operator!=(const ClusterState& a, const ClusterState& b) { return !(a == b); }

// Sorted-set helpers used on the name lists above.
void AddName(std::vector<std::string>* names, const std::string& name);
void RemoveName(std::vector<std::string>* names, const std::string& name);
bool HasName(const std::vector<std::string>& names, const std::string& name);

}  // namespace pgvigil::plan
