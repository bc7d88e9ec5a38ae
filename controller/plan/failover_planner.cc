// Failover: the recorded primary is down (by watchdog consensus unless
// failover.requireConsensus is off). Fence it, record and publish routing
// without it, stop it if its sidecar answers, promote the best candidate; the
// next plans finish it once the candidate is seen writable. Once its promote
// was sent, another candidate is promoted only when it is seen not writable or
// its host holds no write lease (WhyWaitForPromotedTarget).
#include <algorithm>

#include "controller/plan/context.h"

namespace pgvigil::plan::detail {
namespace {

std::string DownReason(const Context& c, const std::string& n) {
  const auto& wd = c.obs.watchdog;
  auto it = wd.backends.find(n);
  const int down = it == wd.backends.end() ? 0 : it->second.seeDown;
  std::string r = n + " seen down by " + std::to_string(down) + " of " +
                  std::to_string(wd.liveMembers) + " live watchdog members";
  if (!c.ConsensusDown(n)) r = n + " unreachable from the controller (consensus not required)";
  return r;
}

// Why node n cannot be promoted in place of `primary` ("" when it can).
std::string Ineligible(const Context& c, const std::string& n, const std::string& requested,
                       uint32_t timeline) {
  const NodeSpec* ns = c.Spec(n);
  if (!ns) return "not in the spec";
  if (c.next.IsFenced(n)) return "fenced";
  if (c.next.IsDetached(n)) return "detached";
  if (ns->noFailover && n != requested) return "tagged noFailover";
  if (c.OpRunning(n)) return "an operation is running on it";
  if (!c.PgUp(n)) return "unreachable";
  if (!c.Standby(n)) return "not in recovery";
  if (c.Down(n)) return "seen down by the watchdog majority";
  const auto* o = c.Obs(n);
  if (timeline && o->timeline != timeline) {
    return "on timeline " + std::to_string(o->timeline) + ", not " + std::to_string(timeline);
  }
  return "";
}

std::string SyncCandidate(const Context& c, const std::string& requested,
                          const std::string& exclude, uint32_t timeline, std::string* why) {
  const auto& recorded = c.next.synchronousStandbys;
  const int k = c.next.synchronousCount;
  if (recorded.empty() || k <= 0) {
    *why = "synchronous mode: no standby is recorded as holding every acknowledged commit";
    return "";
  }
  std::vector<std::string> seen;
  std::string unknown;
  Lsn best = 0;
  for (const auto& m : recorded) {
    const auto* o = c.Obs(m);
    if (!c.Standby(m) || c.Down(m) || (timeline && o->timeline != timeline)) continue;
    if (o->receivedLsn == 0) {  // restarted, still replaying its own pg_wal: how much it holds is not known yet
      unknown += (unknown.empty() ? "" : ", ") + m;
      continue;
    }
    seen.push_back(m);
    best = std::max(best, o->receivedLsn);
  }
  const size_t need = recorded.size() - static_cast<size_t>(k) + 1;
  if (seen.size() < need) {
    *why = "synchronous mode: " + std::to_string(seen.size()) + " of the " +
           std::to_string(recorded.size()) + " recorded synchronous standbys are reachable; " +
           std::to_string(need) + " are needed to be sure one holds every acknowledged commit" +
           (unknown.empty() ? "" : " (WAL position not known yet: " + unknown + ")");
    return "";
  }
  std::string notes;
  for (const auto& m : seen) {
    if (c.Obs(m)->receivedLsn != best || m == exclude) continue;
    if (!requested.empty() && m != requested) continue;
    const std::string no = Ineligible(c, m, requested, timeline);
    if (no.empty()) return m;
    notes += (notes.empty() ? "" : ", ") + m + ": " + no;
  }
  *why = "synchronous mode: no synchronous standby with the newest WAL (" + FormatLsn(best) +
         ") can be promoted" + (requested.empty() ? "" : " as requested (" + requested + ")") +
         (notes.empty() ? "" : " (" + notes + ")");
  return "";
}

std::string AsyncCandidate(const Context& c, const std::string& requested,
                           const std::string& exclude, uint32_t timeline, std::string* why) {
  const std::string& primary = c.next.primary;
  Lsn ref = 0;
  if (const auto* p = c.Obs(primary)) ref = p->currentLsn;
  std::vector<std::string> names;
  for (const auto& ns : c.spec.nodes) {
    if (ns.name == primary) continue;
    names.push_back(ns.name);
    if (const auto* o = c.Obs(ns.name); o && c.Standby(ns.name))
      ref = std::max(ref, o->receivedLsn);
  }
  std::string best;
  Lsn bestLsn = 0;
  std::string notes;
  for (const auto& n : names) {
    if (n == exclude || (!requested.empty() && n != requested)) continue;
    std::string no = Ineligible(c, n, requested, timeline);
    if (no.empty()) {
      const Lsn rx = c.Obs(n)->receivedLsn;
      const Lsn lag = ref > rx ? ref - rx : 0;
      if (lag > c.spec.failover.maximumLagBytes) {
        no = std::to_string(lag) + " bytes behind, more than failover.maximumLagBytes (" +
             std::to_string(c.spec.failover.maximumLagBytes) + ")";
      } else if (best.empty() || rx > bestLsn) {
        best = n;
        bestLsn = rx;
      }
    }
    if (!no.empty()) notes += (notes.empty() ? "" : "; ") + n + ": " + no;
  }
  if (best.empty()) {
    *why = "no standby can be promoted" + (notes.empty() ? "" : " (" + notes + ")");
  }
  return best;
}

// Fence the old primary, record the failover, publish routing without it, stop
// it if its sidecar answers, promote `to`.
void StartFailover(Context& c, const std::string& to, const std::string& why) {
  const std::string from = c.next.primary;
  c.next.transition = Transition{};
  c.next.transition.kind = TransitionKind::kFailover;
  c.next.transition.from = from;
  c.next.transition.to = to;
  c.next.transition.startedAt = c.in.now;
  AddName(&c.next.fenced, from);
  c.Add(ActionKind::kFence, from, "failover: " + why, false);
  PlanRouting(c);  // records the fence and the failover with the routing
  c.Commit("failover " + from + " -> " + to + ": " + from + " fenced");
  if (c.SidecarUp(from) && !c.OpRunning(from)) {
    // While its host may still hold a write lease (it has not fenced itself), the
    // promotion waits for this stop to succeed.
    const bool must = c.obs.watchdog.writeLeasesKnown && !c.obs.watchdog.WriteLeaseOver(from);
    c.Add(ActionKind::kStop, from, "failover: stop the fenced old primary", must).stopMode =
        "immediate";
  }
  const Lsn rx = c.Obs(to)->receivedLsn;
  c.Add(ActionKind::kPromote, to,
        "failover: " + to + " has the most WAL received (" + FormatLsn(rx) +
            ") among eligible standbys");
  c.Requeue(kTransitionRequeue, "failing over from " + from + " to " + to);
}

// The recorded primary is down and nothing is promoted in its place (no
// standby can be, or failover.automatic is off). When its PostgreSQL is merely
// stopped on its primary's data directory (its sidecar fenced it: the whole
// cluster restarted and its sidecar heard no majority in time), it is started
// again rather than left down: nothing else holds its data. True when planned.
bool RestartStoppedRecordedPrimary(Context& c, const std::string& down,
                                   const std::string& whyNoFailover) {
  const std::string& p = c.next.primary;
  if (!c.StoppedPrimaryDataDir(p)) return false;
  const std::string no = WhyNotStartAsPrimary(c, p);
  if (!no.empty()) {
    c.Note("primary " + down + "; " + whyNoFailover + "; not starting it again: " + no);
    c.Requeue(kDefaultRequeue, "");
    return true;
  }
  c.Add(ActionKind::kStart, p,
        "primary " + down + ", PostgreSQL stopped on its primary's data directory; " +
            whyNoFailover + ": start it again as the primary");
  c.Requeue(kDefaultRequeue, "starting the primary " + p + " again");
  return true;
}

// A failover's target `to`, its promote sent, not running now and not seen
// writable: why no other node may be promoted yet ("" when one may). Unless
// seen not writable (SeePromotedTarget), it may be writable already, and a
// second promoted node would take writes too; *leaseOver is set when it is not
// observed but fenced by the lease rule.
std::string WhyWaitForPromotedTarget(const Context& c, const std::string& to, bool* leaseOver) {
  switch (SeePromotedTarget(c, to)) {
    case PromotedTarget::kMayBeWritable:
      return "the promotion of " + to + " was sent and " + to +
             " is not observed: not promoting another node while " + to + " may be writable";
    case PromotedTarget::kFencedByLease:
      *leaseOver = true;
      return "";
    case PromotedTarget::kStopped:
      return "";
    case PromotedTarget::kStandby:
      break;
  }
  const Operation* op = c.LastOp(to);
  if (op && op->kind == OperationKind::kPromote && op->state == OperationState::kSucceeded)
    return to + " promoted, waiting to see it writable before promoting another node";
  return "";
}

}  // namespace

std::string ChooseCandidate(const Context& c, const std::string& requested,
                            const std::string& exclude, std::string* why) {
  uint32_t timeline = c.next.timeline;
  if (const auto* p = c.Obs(c.next.primary); p && p->timeline) timeline = p->timeline;
  if (!requested.empty()) {
    const std::string no = Ineligible(c, requested, requested, timeline);
    if (!no.empty()) {
      *why = "requested node " + requested + " cannot be promoted: " + no;
      return "";
    }
  }
  if (c.spec.replication.mode == ReplicationMode::kSync) {
    return SyncCandidate(c, requested, exclude, timeline, why);
  }
  return AsyncCandidate(c, requested, exclude, timeline, why);
}

bool PlanFailover(Context& c) {
  const std::string primary = c.next.primary;
  if (!c.Down(primary)) return false;
  const std::string down = DownReason(c, primary);
  // Self-fencing (sidecar/watchdog/contact_lease.h): an unreachable primary's host
  // fences its own PostgreSQL when its write lease runs out, which the lease
  // guarantees to happen before the leader has not heard it for deadTime. Until
  // then it may still accept writes from clients that reach it: no promotion yet
  // (unless its sidecar answers, and then the stop must succeed first).
  const auto& wd = c.obs.watchdog;
  if (wd.writeLeasesKnown && !wd.WriteLeaseOver(primary) && !c.SidecarUp(primary)) {
    c.Note("primary " + down + "; waiting until its host can no longer hold a write lease "
           "(not heard for watchdog.deadTime: it then has fenced its own PostgreSQL)");
    c.Requeue(kTransitionRequeue, "");
    return true;
  }
  const std::string& requested = c.in.requests.switchoverTo;
  if (!c.spec.failover.automatic && requested.empty()) {
    if (RestartStoppedRecordedPrimary(c, down, "failover.automatic is false")) return true;
    const std::string why = "primary " + down +
                            "; failover.automatic is false: waiting for an operator "
                            "(vigilctl switchover --to NODE)";
    c.Note(why);  // a standing condition: the summary, not an event per plan
    c.Requeue(kDefaultRequeue, "");
    return true;
  }
  std::string why;
  // Answered from here on: the failover starts (to it, or past it with an
  // event when failover.automatic), or it is refused with an event.
  if (!requested.empty()) c.plan.answered.switchoverTo = requested;
  std::string to = ChooseCandidate(c, requested, "", &why);
  if (to.empty() && !requested.empty() && c.spec.failover.automatic) {
    c.Event("operator's choice ignored: " + why);
    to = ChooseCandidate(c, "", "", &why);
  }
  if (to.empty()) {
    if (!requested.empty()) c.Event("failover to " + requested + " refused: " + why);
    if (RestartStoppedRecordedPrimary(c, down, "not failing over: " + why)) return true;
    c.Note("primary " + down + "; not failing over: " + why);
    c.Requeue(kDefaultRequeue, "");
    return true;
  }
  StartFailover(c, to, down);
  return true;
}

void ContinueFailover(Context& c) {
  Transition& t = c.next.transition;
  const std::string to = t.to;
  const std::string from = t.from;
  if (c.Writable(to)) {
    c.next.primary = to;
    c.next.timeline = c.Obs(to)->timeline;
    c.next.transition = Transition{};
    // The new primary's commits are not synchronous until the sync planner has
    // set and recorded its standbys: nothing is guaranteed until then.
    c.next.synchronousStandbys.clear();
    c.next.synchronousCount = 0;
    c.next.syncShrinkLsn = 0;
    c.Commit("failover done: " + to + " is primary on timeline " + std::to_string(c.next.timeline));
    // Route writes to it before anything else of this plan (the other standbys'
    // follow and the old primary's rebuild come after: clients wait on this).
    PlanRouting(c);
    return;
  }
  // Routing without the old primary may not have reached every proxy yet.
  PlanRouting(c);
  if (c.OpRunning(to)) {
    c.Note("failing over: waiting for the promotion of " + to);
    return;
  }
  const bool failed = c.LastOpFailed(to, OperationKind::kPromote);
  if (failed || !c.Standby(to) || c.Down(to) || !c.Member(to)) {
    // The promote of `to` was sent: another node is promoted only once `to` is
    // seen not writable, or its host holds no write lease.
    bool leaseOver = false;
    if (const std::string wait = WhyWaitForPromotedTarget(c, to, &leaseOver); !wait.empty()) {
      c.Requeue(kTransitionRequeue, "failover " + from + " -> " + to + ": " + wait);
      return;
    }
    std::string why;
    // Sync mode: a candidate whose promotion failed (it was down) may be the only
    // one holding every acknowledged commit; once it runs again it may be chosen.
    const bool back = failed && c.spec.replication.mode == ReplicationMode::kSync &&
                      c.Standby(to) && !c.Down(to) && c.Member(to);
    const std::string other = ChooseCandidate(c, "", back ? "" : to, &why);
    const std::string what =
        leaseOver       ? FencedByLeaseReason(to)
        : failed        ? "promoting " + to + " failed"
        : !c.Member(to) ? to + " is fenced, detached or removed"
                        : to + " is no longer a running standby";
    if (other.empty()) {
      c.Note("failover " + from + " -> " + to + " stuck: " + what + "; " + why);
      // (standing condition: in the summary only)
      c.Requeue(kDefaultRequeue, "");
      return;
    }
    if (other == to) {  // back (sync mode only): it still holds the newest WAL
      c.Add(ActionKind::kPromote, to, "failover: " + what + " while it was down; it runs again");
      c.Requeue(kTransitionRequeue, "failing over from " + from + " to " + to);
      return;
    }
    t.to = other;
    c.Commit("failover: " + what + "; promoting " + other + " instead");
    c.Add(ActionKind::kPromote, other, "failover: " + what);
    c.Requeue(kTransitionRequeue, "failing over from " + from + " to " + other);
    return;
  }
  const auto* op = c.LastOp(to);
  if (op && op->kind == OperationKind::kPromote && op->state == OperationState::kSucceeded) {
    c.Requeue(kTransitionRequeue, "failing over: " + to + " promoted, waiting to see it writable");
    return;
  }
  c.Add(ActionKind::kPromote, to, "failover " + from + " -> " + to + ": promotion not seen yet");
  c.Requeue(kTransitionRequeue, "failing over from " + from + " to " + to);
}

}  // namespace pgvigil::plan::detail
