// MakePlan: the order of concerns. Quorum and fresh observations first (else
// nothing), then a running promotion (wait), operator requests, the first
// primary (the only writable node; with none, the one node whose PostgreSQL is
// stopped on a primary's data directory is started first), an unfinished
// failover/switchover, a new failover, a new switchover, stray writable nodes,
// recovery and synchronous replication (only outside transitions), routing,
// and last the phase and outcome.
#include "controller/plan/planner.h"

#include <algorithm>

#include "controller/plan/context.h"

namespace pgvigil::plan {

const char* ToString(Phase p) {
  switch (p) {
    case Phase::kHealthy:
      return "Healthy";
    case Phase::kFailingOver:
      return "Failing over";
    case Phase::kSwitchover:
      return "Switchover in progress";
    case Phase::kRecovering:
      return "Recovering";
    case Phase::kDegraded:
      return "Degraded";
    case Phase::kNoQuorum:
      return "No quorum";
  }
  return "?";
}

const char* ToString(Outcome o) {
  switch (o) {
    case Outcome::kDone:
      return "done";
    case Outcome::kRequeueAfter:
      return "requeue-after";
    case Outcome::kWaitForOperation:
      return "wait-for-operation";
  }
  return "?";
}

std::string SynchronousStandbyNames(const std::vector<std::string>& names, int count) {
  if (names.empty() || count <= 0) return "";
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "\"" : ", \"") + n + "\"";
  if (count >= static_cast<int>(names.size())) {
    return "FIRST " + std::to_string(names.size()) + " (" + list + ")";
  }
  return "ANY " + std::to_string(count) + " (" + list + ")";
}

namespace detail {
namespace {

Phase TransitionPhase(const ClusterState& s) {
  switch (s.transition.kind) {
    case TransitionKind::kFailover:
      return Phase::kFailingOver;
    case TransitionKind::kSwitchover:
      return Phase::kSwitchover;
    case TransitionKind::kNone:
      break;
  }
  return Phase::kDegraded;
}

Plan Waiting(Phase phase, Outcome outcome, std::string why) {
  Plan p;
  p.phase = phase;
  p.outcome = outcome;
  p.requeueAfter = outcome == Outcome::kRequeueAfter ? kDefaultRequeue : Millis{0};
  p.summary = std::move(why);
  return p;
}

// Why the inputs are too old to act on ("" when fresh).
std::string Staleness(const Context& c, Millis maxAge) {
  const TimeMs limit = maxAge.count();
  if (c.in.now - c.obs.watchdog.observedAt > limit) {
    return "watchdog view is " + std::to_string(c.in.now - c.obs.watchdog.observedAt) + "ms old";
  }
  // Only claims of reachability go stale: an unreachable part's timestamp says
  // when its last values were seen, which is what they are kept for.
  std::string stale;
  for (const auto& o : c.obs.nodes) {
    if (!c.Spec(o.name)) continue;
    if ((o.pgReachable && c.in.now - o.pgObservedAt > limit) ||
        (o.sidecarReachable && c.in.now - o.sidecarObservedAt > limit)) {
      stale += (stale.empty() ? "" : ", ") + o.name;
    }
  }
  return stale.empty() ? "" : "observations of " + stale + " are stale";
}

void ApplyAdminRequests(Context& c) {
  // Each one is answered here: carried out, refused, or already in effect.
  c.plan.answered.detach = c.in.requests.detach;
  c.plan.answered.attach = c.in.requests.attach;
  for (const auto& n : c.in.requests.detach) {
    if (!c.Spec(n)) {
      c.Event("detach " + n + " refused: not in the spec");
    } else if (n == c.next.primary) {
      c.Event("detach " + n + " refused: it is the primary; switch over first");
    } else if (!c.next.IsDetached(n)) {
      c.Add(ActionKind::kDetach, n, "operator request: route nothing to " + n, false);
      AddName(&c.next.detached, n);  // recorded with the routing
    }
  }
  for (const auto& n : c.in.requests.attach) {
    if (c.next.IsDetached(n)) {
      c.Add(ActionKind::kAttach, n, "operator request: " + n + " may be routed again", false);
      RemoveName(&c.next.detached, n);  // recorded with the routing
    }
  }
}

// A switchover requested while a failover or switchover runs: already in
// effect when it names the same target, else refused (the operator asks again
// once it is over; carrying it out later would surprise).
void AnswerSwitchoverDuringTransition(Context& c) {
  const std::string& to = c.in.requests.switchoverTo;
  if (to.empty()) return;
  const Transition& t = c.next.transition;
  c.plan.answered.switchoverTo = to;
  if (t.to == to) return;
  c.Event("switchover to " + to + " refused: a " +
          (t.kind == TransitionKind::kFailover ? std::string("failover") : std::string("switchover")) + " " +
          t.from + " -> " + t.to + " is running");
}

bool AnyOpRunning(const Context& c) {
  for (const auto& o : c.obs.nodes) {
    if (c.Spec(o.name) && o.OperationRunning()) return true;
  }
  return false;
}

void Finish(Context& c) {
  c.Commit("state update");
  Plan& p = c.plan;
  bool recovering = false;
  for (const auto& a : p.actions) {
    if (a.kind == ActionKind::kRebuild || a.kind == ActionKind::kStart ||
        a.kind == ActionKind::kFollow || a.kind == ActionKind::kUnfence) {
      recovering = true;
    }
  }
  for (const auto& o : c.obs.nodes) {
    if (c.Spec(o.name) && o.OperationRunning() && o.operation->kind != OperationKind::kStop) {
      recovering = true;
    }
  }
  bool degraded =
      c.next.primary.empty() || c.next.routedPrimary != c.next.primary || !c.Spec(c.next.primary);
  for (const auto& ns : c.spec.nodes) {
    if (ns.name != c.next.primary && !c.next.IsDetached(ns.name) &&
        !HasName(c.next.routedStandbys, ns.name)) {
      degraded = true;
    }
  }
  if (c.next.transition.active() || c.original.transition.active() || c.Has(ActionKind::kPromote)) {
    p.phase = c.original.transition.kind == TransitionKind::kSwitchover ||
                      c.next.transition.kind == TransitionKind::kSwitchover
                  ? Phase::kSwitchover
                  : Phase::kFailingOver;
  } else if (recovering) {
    p.phase = Phase::kRecovering;
  } else if (degraded) {
    p.phase = Phase::kDegraded;
  } else {
    p.phase = Phase::kHealthy;
  }
  if (c.requeue) {
    p.outcome = Outcome::kRequeueAfter;
    p.requeueAfter = *c.requeue;
  } else if (p.actions.empty() && AnyOpRunning(c)) {
    p.outcome = Outcome::kWaitForOperation;
  } else if (!p.actions.empty()) {
    p.outcome = Outcome::kRequeueAfter;
    p.requeueAfter = kDefaultRequeue;
  } else {
    p.outcome = Outcome::kDone;
  }
}

}  // namespace

// A start that failed because the node's sidecar fenced PostgreSQL while it
// started (Kubernetes mode: its write lease ran out, e.g. a new cluster whose
// other members stopped answering right after the init) is no fault of
// PostgreSQL's: the sidecar runs it again for a newer term, which the actuator
// asks for (kube_actuator.cc RaiseTermForSelfFenced), so the start is planned
// again. Without this a new cluster stayed without a primary for good.
static bool StoppedByItsOwnFence(const NodeObservation& o) {
  return o.operation && o.operation->term != 0 && o.selfFencedInTerm >= o.operation->term;
}

std::string WhyNotStartAsPrimary(const Context& c, const std::string& n) {
  const NodeObservation& o = *c.Obs(n);
  if (c.next.IsFenced(n)) return n + " is fenced";
  if (o.OperationRunning())
    return std::string(ToString(o.operation->kind)) + " running on " + n + ": waiting";
  // Kubernetes mode: an init that did not finish (its own fence stopped the
  // start in it, say) left the roles it creates undone: it is sent again
  // (kube_init.cc), never completed by a plain start.
  if (c.LastOpFailed(n, OperationKind::kInit))
    return "the init of " + n + " did not finish (" + o.operation->error + "): it is sent again";
  if (c.LastOpFailed(n, OperationKind::kStart) && !StoppedByItsOwnFence(o)) {
    return "starting " + n + " failed (" + o.operation->error +
           "): see its PostgreSQL log; once fixed, start PostgreSQL on " + n + " by hand";
  }
  const auto& wd = c.obs.watchdog;
  if (wd.writeLeasesKnown && wd.WriteLeaseOver(n))
    return n + "'s host holds no watchdog write lease (its sidecar would stop it again)";
  if (auto held = c.in.startHolds.find(n); held != c.in.startHolds.end()) return held->second;
  // The timeline n was on: recorded, else last seen; 0 when not known.
  const uint32_t timeline = c.next.primary == n && c.next.timeline ? c.next.timeline : o.timeline;
  for (const auto& ns : c.spec.nodes) {
    const std::string& m = ns.name;
    const auto* mo = c.Obs(m);
    if (m == n || !mo) continue;
    if (c.Writable(m)) return m + " is writable";
    if (c.PgUp(m) && timeline && mo->timeline > timeline) {
      return m + " is on timeline " + std::to_string(mo->timeline) + ", newer than " + n + "'s " +
             std::to_string(timeline) + " (another node was promoted)";
    }
    if (!c.PgUp(m) && mo->sidecarReachable && mo->postgresRunning)
      return "PostgreSQL on " + m + " runs but does not answer the controller: it may be a primary";
    if (!c.PgUp(m) && !mo->sidecarReachable && mo->timeline != 0 && !mo->inRecovery)
      return m + " was last seen writable and does not answer";
  }
  return "";
}

PromotedTarget SeePromotedTarget(const Context& c, const std::string& t) {
  const NodeObservation* o = c.Obs(t);
  if (c.PgUp(t) && c.SidecarUp(t)) return PromotedTarget::kStandby;  // Writable is checked first
  if (o && c.SidecarUp(t) && !c.PgUp(t) && !o->postgresRunning) return PromotedTarget::kStopped;
  const auto& wd = c.obs.watchdog;
  if (c.Down(t) && wd.writeLeasesKnown && wd.WriteLeaseOver(t)) return PromotedTarget::kFencedByLease;
  return PromotedTarget::kMayBeWritable;
}

std::string FencedByLeaseReason(const std::string& t) {
  return t + " is not observed and its host holds no watchdog write lease (its sidecar has fenced any "
             "writable PostgreSQL there)";
}

namespace {

// No writable node and no primary recorded. A node whose PostgreSQL is stopped
// on a primary's data directory holds the cluster's data: its sidecar fenced
// it because it started before a majority of the members answered (a new
// cluster whose primary's sidecar came up first), or the whole cluster was
// stopped. Started again, the next plan records it as the only writable node.
// Only when it is the one such spec node: of two, the controller cannot tell
// which holds the newest data (a stopped node's timeline and checkpoint are
// not reported), so it starts neither. Returns why nothing was started ("" when
// the start is planned).
std::string StartStoppedPrimary(Context& c) {
  std::vector<std::string> stopped;
  for (const auto& ns : c.spec.nodes) {
    if (c.StoppedPrimaryDataDir(ns.name)) stopped.push_back(ns.name);
  }
  if (stopped.empty()) return "no writable node observed";
  if (stopped.size() > 1) {
    std::string names;
    for (const auto& n : stopped) names += (names.empty() ? "" : ", ") + n;
    return "no writable node observed; PostgreSQL is stopped on a primary's data directory on " +
           names +
           ": which one holds the newest data is not known, so neither is started; start "
           "PostgreSQL by hand on the one to keep";
  }
  const std::string& n = stopped[0];
  const std::string why = WhyNotStartAsPrimary(c, n);
  if (!why.empty()) return "no writable node observed; not starting " + n + ": " + why;
  c.Add(ActionKind::kStart, n,
        "no primary yet and no writable node: PostgreSQL on " + n +
            " is stopped on the only primary's data directory; start it as the primary");
  return "";
}

}  // namespace

void PlanBootstrap(Context& c) {
  std::vector<std::string> writable;
  for (const auto& ns : c.spec.nodes) {
    if (c.Writable(ns.name)) writable.push_back(ns.name);
  }
  // Several writable nodes (a state lost after a split): the newest timeline is
  // the latest promotion, the one clients wrote to last; spec.primary only
  // breaks a tie.
  uint32_t newest = 0;
  for (const auto& w : writable) newest = std::max(newest, c.Obs(w)->timeline);
  std::vector<std::string> latest;
  for (const auto& w : writable) {
    if (c.Obs(w)->timeline == newest) latest.push_back(w);
  }
  std::string chosen;
  if (latest.size() == 1) {
    chosen = latest[0];
  } else if (!latest.empty() && HasName(latest, c.spec.primary)) {
    chosen = c.spec.primary;
  }
  if (chosen.empty()) {
    std::string why;
    if (writable.empty()) {
      why = StartStoppedPrimary(c);
      if (why.empty()) why = "starting " + c.plan.actions.back().node + " as the primary";
    } else {
      why = "several writable nodes on timeline " + std::to_string(newest) +
            " and spec.primary names none of them:";
      for (const auto& w : latest) why += " " + w;
    }
    c.Note("no primary yet: " + why);
    c.Requeue(kDefaultRequeue, "");
    return;
  }
  c.next.primary = chosen;
  c.next.timeline = c.Obs(chosen)->timeline;
  const char* how = writable.size() == 1 ? "the only writable node"
                    : latest.size() == 1 ? "the writable node on the newest timeline"
                                         : "spec.primary among the writable nodes";
  c.Commit(chosen + " is the primary (" + how + ")");
}

}  // namespace detail

Plan MakePlan(const ClusterSpec& spec, const Observation& obs, const ClusterState& state,
              const PlanInputs& inputs) {
  using namespace detail;
  Context c(spec, obs, state, inputs);
  const Millis maxAge = inputs.maxObservationAge.count() > 0
                            ? inputs.maxObservationAge
                            : spec.healthCheck.period * 3 + spec.healthCheck.timeout;
  const std::string stale = Staleness(c, maxAge);
  if (!stale.empty() && inputs.now - obs.watchdog.observedAt > maxAge.count()) {
    return Waiting(TransitionPhase(state), Outcome::kRequeueAfter, stale + ": waiting");
  }
  if (!obs.watchdog.quorum) {
    return Waiting(Phase::kNoQuorum, Outcome::kRequeueAfter, "no watchdog quorum: doing nothing");
  }
  if (!stale.empty())
    return Waiting(TransitionPhase(state), Outcome::kRequeueAfter, stale + ": waiting");
  if (!state.transition.active()) {
    for (const auto& o : obs.nodes) {
      if (spec.FindNode(o.name) && o.OperationRunning() &&
          (o.operation->kind == OperationKind::kPromote || o.name == state.primary)) {
        return Waiting(
            TransitionPhase(state), Outcome::kWaitForOperation,
            std::string(ToString(o.operation->kind)) + " running on " + o.name + ": waiting");
      }
    }
  }
  ApplyAdminRequests(c);
  if (c.next.primary.empty()) PlanBootstrap(c);
  if (c.next.primary.empty()) {
    Finish(c);
    return c.plan;
  }
  bool primaryDown = false;
  if (c.next.transition.active()) AnswerSwitchoverDuringTransition(c);
  if (c.next.transition.kind == TransitionKind::kFailover) {
    ContinueFailover(c);
  } else if (c.next.transition.kind == TransitionKind::kSwitchover) {
    ContinueSwitchover(c);
  } else if (PlanFailover(c)) {
    primaryDown = true;
  } else {
    PlanSwitchover(c);
  }
  PlanStrayPrimaries(c);
  if (!c.next.transition.active() && !primaryDown) {
    PlanRecovery(c);
    PlanSync(c);
  }
  PlanRouting(c);
  Finish(c);
  return c.plan;
}

void RemoveAnswered(const Requests& answered, Requests* pending) {
  if (!answered.switchoverTo.empty() && pending->switchoverTo == answered.switchoverTo)
    pending->switchoverTo.clear();
  auto remove_once = [](const std::vector<std::string>& done, std::vector<std::string>* names) {
    for (const auto& n : done) {
      auto it = std::find(names->begin(), names->end(), n);
      if (it != names->end()) names->erase(it);
    }
  };
  remove_once(answered.recover, &pending->recover);
  remove_once(answered.attach, &pending->attach);
  remove_once(answered.detach, &pending->detach);
}

}  // namespace pgvigil::plan
