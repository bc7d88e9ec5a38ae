// Internal to the planner: the inputs with derived per-node facts, the working
// copy of the durable state and the plan being built. One Context per MakePlan
// call; not shared, not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "controller/plan/lineage.h"
#include "controller/plan/planner.h"

namespace pgvigil::plan::detail {

class Context {
 public:
  Context(const ClusterSpec& spec, const Observation& obs, const ClusterState& state,
          const PlanInputs& inputs);

  const ClusterSpec& spec;
  const Observation& obs;
  const ClusterState& original;
  const PlanInputs& in;
  ClusterState next;  // the state as this plan leaves it
  Plan plan;

  // Facts about a node, from the observation (false when never observed).
  const NodeSpec* Spec(const std::string& n) const { return spec.FindNode(n); }
  const NodeObservation* Obs(const std::string& n) const { return obs.Find(n); }
  bool PgUp(const std::string& n) const;      // reachable over libpq now
  bool Writable(const std::string& n) const;  // reachable and not in recovery
  bool Standby(const std::string& n) const;   // reachable and in recovery
  bool SidecarUp(const std::string& n) const;
  // Its sidecar answers: PostgreSQL is stopped on an initialized data directory
  // that is a primary's (no standby.signal / recovery.signal), e.g. fenced by
  // its own sidecar. False when the sidecar does not say (older release).
  bool StoppedPrimaryDataDir(const std::string& n) const;
  // A majority of the live watchdog members see it down.
  bool ConsensusDown(const std::string& n) const;
  // Down for failover: ConsensusDown, or (without failover.requireConsensus)
  // also unreachable from the controller.
  bool Down(const std::string& n) const;
  bool OpRunning(const std::string& n) const;
  const Operation* LastOp(const std::string& n) const;
  bool LastOpFailed(const std::string& n, OperationKind kind) const;
  // Usable by routing/recovery: in the spec, neither fenced nor detached.
  bool Member(const std::string& n) const;
  // Lineage of node n against the current primary (next.primary).
  Lineage LineageOf(const std::string& n, std::string* why) const;

  // Plan building.
  Action& Add(ActionKind kind, const std::string& node, std::string reason,
              bool mustSucceed = true);
  void Event(std::string reason);
  // Emits kWriteState with `next` (version bumped) when it differs from the last
  // state written; call before an action that relies on the change.
  void Commit(const std::string& reason);
  bool Dirty() const;
  void Requeue(Millis after, const std::string& why);
  void Note(const std::string& why);  // appended to plan.summary
  bool Has(ActionKind kind) const;
  bool Has(ActionKind kind, const std::string& node) const;  // ... on that node
  // Some node action (promote, stop, start, follow, rebuild) already names n.
  bool Targeted(const std::string& n) const;
  std::optional<Millis> requeue;

 private:
  ClusterState written_;  // last state written (or the original)
};

// Short requeue while a failover/switchover is moving.
constexpr Millis kTransitionRequeue{200};
constexpr Millis kDefaultRequeue{1000};

// Sub-planners, each in its own file. They read and extend the Context.
void PlanBootstrap(Context& c);       // planner.cc: no primary recorded yet
bool PlanFailover(Context& c);        // failover_planner.cc: returns true when handled
void ContinueFailover(Context& c);    // failover_planner.cc
bool PlanSwitchover(Context& c);      // switchover_planner.cc: returns true when started
void ContinueSwitchover(Context& c);  // switchover_planner.cc
void PlanStrayPrimaries(Context& c);  // recovery_planner.cc: writable nodes besides the primary
void PlanRecovery(Context& c);        // recovery_planner.cc: follow, rebuild, start, unfence
void PlanSync(Context& c);            // sync_planner.cc
void PlanRouting(Context& c);         // routing_planner.cc
// planner.cc: why node n (its sidecar answering, PostgreSQL stopped on a
// primary's data directory) must not be started as the primary now, "" when it
// may. The one rule for every such start (the bootstrap, the restart of the
// recorded primary, the restart after a switchover aborted): it is fenced,
// busy, failed to start before or cannot hold a write lease, the mode holds
// its start (PlanInputs::startHolds), or another spec node is writable, on a
// newer timeline, or may be a primary the controller cannot see.
std::string WhyNotStartAsPrimary(const Context& c, const std::string& n);
// planner.cc: what is seen of a transition's target t once it was sent the
// promote (none running now), the one rule the failover and the switchover
// use before anything replaces it:
//   kStandby        its sidecar and PostgreSQL answer, not writable;
//   kStopped        its sidecar answers that PostgreSQL does not run;
//   kFencedByLease  not observed, but down for failover and its host holds no
//                   watchdog write lease (the leader has not heard it for
//                   deadTime; the lease relies on the majority seeing it down
//                   too, contact_lease.h): its sidecar has stopped any writable
//                   PostgreSQL there and keeps stopping one (self_fence.h);
//   kMayBeWritable  not observed: the values kept of it say nothing (a promote
//                   that timed out may still finish). Kubernetes mode has no
//                   write-lease view here: this lasts until t is observed.
enum class PromotedTarget { kStandby, kStopped, kFencedByLease, kMayBeWritable };
PromotedTarget SeePromotedTarget(const Context& c, const std::string& t);
// The reason for kFencedByLease, the same words in every plan.
std::string FencedByLeaseReason(const std::string& t);
// failover_planner.cc: the node to promote in place of next.primary, or "" with
// `why` set. `requested` (may be empty) is an operator's choice; `exclude` is skipped.
std::string ChooseCandidate(const Context& c, const std::string& requested,
                            const std::string& exclude, std::string* why);

}  // namespace pgvigil::plan::detail
