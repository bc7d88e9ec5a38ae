#include "controller/plan/context.h"

namespace pgvigil::plan::detail {

Context::Context(const ClusterSpec& s, const Observation& o, const ClusterState& state,
                 const PlanInputs& inputs)
    : spec(s), obs(o), original(state), in(inputs), next(state), written_(state) {}

bool Context::PgUp(const std::string& n) const {
  const auto* o = Obs(n);
  return o && o->pgReachable;
}

bool Context::Writable(const std::string& n) const {
  const auto* o = Obs(n);
  return o && o->pgReachable && !o->inRecovery;
}

bool Context::Standby(const std::string& n) const {
  const auto* o = Obs(n);
  return o && o->pgReachable && o->inRecovery;
}

bool Context::SidecarUp(const std::string& n) const {
  const auto* o = Obs(n);
  return o && o->sidecarReachable;
}

bool Context::StoppedPrimaryDataDir(const std::string& n) const {
  const auto* o = Obs(n);
  return o && o->sidecarReachable && !o->postgresRunning && !o->pgReachable &&
         o->dataDirectoryInitialized && o->dataDirectoryRole == DataDirectoryRole::kPrimary;
}

bool Context::ConsensusDown(const std::string& n) const { return obs.watchdog.SeenDownByMajority(n); }

bool Context::Down(const std::string& n) const {
  if (ConsensusDown(n)) return true;
  return !spec.failover.requireConsensus && !PgUp(n);
}

bool Context::OpRunning(const std::string& n) const {
  const auto* o = Obs(n);
  return o && o->OperationRunning();
}

const Operation* Context::LastOp(const std::string& n) const {
  const auto* o = Obs(n);
  return o && o->operation ? &*o->operation : nullptr;
}

bool Context::LastOpFailed(const std::string& n, OperationKind kind) const {
  const auto* op = LastOp(n);
  return op && op->kind == kind && op->state == OperationState::kFailed;
}

bool Context::Member(const std::string& n) const {
  return Spec(n) && !next.IsFenced(n) && !next.IsDetached(n);
}

Lineage Context::LineageOf(const std::string& n, std::string* why) const {
  const auto* o = Obs(n);
  const auto* p = Obs(next.primary);
  if (!o || !p) {
    if (why) *why = "not observed";
    return Lineage::kUnknown;
  }
  // PostgreSQL refuses to stream a timeline that forked off before a standby's
  // replay position, so one streaming from the primary has not diverged.
  if (o->inRecovery && o->upstream == next.primary) {
    if (why) *why = "streaming from " + next.primary;
    return Lineage::kCanFollow;
  }
  const uint32_t ptl = p->timeline ? p->timeline : next.timeline;
  return CheckLineage(o->timeline, o->ReplayEnd(), ptl, p->history, why);
}

Action& Context::Add(ActionKind kind, const std::string& node, std::string reason,
                     bool mustSucceed) {
  Action a;
  a.kind = kind;
  a.node = node;
  a.reason = std::move(reason);
  a.mustSucceed = mustSucceed;
  plan.actions.push_back(std::move(a));
  return plan.actions.back();
}

void Context::Event(std::string reason) {
  Add(ActionKind::kRecordEvent, "", std::move(reason), false);
}

bool Context::Dirty() const {
  ClusterState a = next;
  a.version = written_.version;
  return a != written_;
}

void Context::Commit(const std::string& reason) {
  if (!Dirty()) return;
  next.version = written_.version + 1;
  written_ = next;
  Add(ActionKind::kWriteState, "", reason).state = next;
}

void Context::Requeue(Millis after, const std::string& why) {
  if (!requeue || after < *requeue) requeue = after;
  Note(why);
}

void Context::Note(const std::string& why) {
  if (why.empty()) return;
  if (plan.summary.find(why) != std::string::npos) return;
  if (!plan.summary.empty()) plan.summary += "; ";
  plan.summary += why;
}

bool Context::Has(ActionKind kind) const {
  for (const auto& a : plan.actions) {
    if (a.kind == kind) return true;
  }
  return false;
}

bool Context::Has(ActionKind kind, const std::string& node) const {
  for (const auto& a : plan.actions) {
    if (a.kind == kind && a.node == node) return true;
  }
  return false;
}

bool Context::Targeted(const std::string& n) const {
  for (const auto& a : plan.actions) {
    if (a.node != n) continue;
    switch (a.kind) {
      case ActionKind::kPromote:
      case ActionKind::kStop:
      case ActionKind::kStart:
      case ActionKind::kFollow:
      case ActionKind::kRebuild:
        return true;
      default:
        break;
    }
  }
  return false;
}

}  // namespace pgvigil::plan::detail
