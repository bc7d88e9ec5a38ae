// Switchover: the desired primary (spec.primary or `vigilctl switchover --to`)
// differs from the current one while the current one is healthy. Steps, one or
// more plans each, driven by what is observed and recorded in the transition:
//   paused     proxies hold new transactions; wait for the target to replay
//              everything the primary has (abort past proxy.pauseLimit) and
//              for the proxies' transactions in progress on the primary to end
//              (at most until proxy.pauseLimit; later ones are aborted by the stop);
//   stopping   routing without a writable primary is published and the old
//              primary is stopped cleanly; wait until the target has replayed
//              all the WAL it received (the shutdown checkpoint included);
//   promoting  the target is promoted; once writable it is recorded and routed,
//              proxies resume and the old primary follows it. While the target
//              is not observed the step waits (it may be writable already), and
//              the old primary is restarted only once the target is seen not
//              writable or its host holds no write lease.
#include "controller/plan/context.h"

namespace pgvigil::plan::detail {
namespace {

constexpr int kBackoffPauseLimits = 10;  // after an abort, wait this many pause limits
constexpr int kStopWaitPauseLimits = 4;  // then give up on the target, restart the old primary

// Ends the switchover (committed, the proxies resumed, an event). With
// startOld, the old primary, stopped by it, is started again as the primary,
// unless WhyNotStartAsPrimary holds it (another node writable, say: the target
// promoted by hand). Then the summary says why and it stays stopped: the next
// plans treat it as a stopped primary (failover, or its restart once nothing
// holds it).
void Abort(Context& c, const std::string& why, bool startOld) {
  const std::string from = c.next.transition.from;
  c.next.transition = Transition{};
  c.next.switchoverBackoffUntil = c.in.now + kBackoffPauseLimits * c.spec.proxy.pauseLimit.count();
  c.Commit("switchover aborted: " + why);
  if (startOld && c.SidecarUp(from) && !c.PgUp(from)) {
    if (const std::string no = WhyNotStartAsPrimary(c, from); !no.empty())
      c.Note("switchover aborted: not restarting the primary " + from + ": " + no);
    else
      c.Add(ActionKind::kStart, from, "switchover aborted: restart the primary " + from);
  }
  c.Add(ActionKind::kResumeProxies, "", "switchover aborted: " + why);
  c.Event("switchover aborted: " + why);
  c.Requeue(kTransitionRequeue, "switchover aborted: " + why);
}

std::string Target(const Context& c) {
  if (!c.in.requests.switchoverTo.empty()) return c.in.requests.switchoverTo;
  if (!c.spec.primary.empty() && c.spec.primary != c.next.primary) return c.spec.primary;
  return "";
}

}  // namespace

bool PlanSwitchover(Context& c) {
  const std::string p = c.next.primary;
  const std::string t = Target(c);
  const bool requested = !c.in.requests.switchoverTo.empty();
  // Answered here: started, refused (an event), or already in effect.
  if (requested) c.plan.answered.switchoverTo = c.in.requests.switchoverTo;
  if (t.empty() || t == p) return false;
  auto wait = [&](const std::string& why) {
    c.Note("switchover to " + t + " waits: " + why);
    if (requested) c.Event("switchover to " + t + " refused: " + why);
    return false;
  };
  if (!requested && c.in.now < c.next.switchoverBackoffUntil) {
    return wait("a switchover was aborted recently");
  }
  if (!c.Spec(t)) return wait(t + " is not in the spec");
  if (c.next.IsFenced(t) || c.next.IsDetached(t)) return wait(t + " is fenced or detached");
  if (!c.Writable(p)) return wait("the primary " + p + " is not observed writable");
  if (!c.Standby(t) || c.Down(t)) return wait(t + " is not a running standby");
  if (c.OpRunning(t) || c.OpRunning(p)) return wait("an operation is running");
  const auto* to = c.Obs(t);
  const auto* po = c.Obs(p);
  if (to->timeline != po->timeline) return wait(t + " is not on the primary's timeline");
  if (to->upstream != p) return wait(t + " is not streaming from " + p);
  const Lsn lag = po->currentLsn > to->replayedLsn ? po->currentLsn - to->replayedLsn : 0;
  if (lag > c.spec.failover.maximumLagBytes) {
    c.Requeue(kDefaultRequeue, "");
    return wait(t + " is " + std::to_string(lag) + " bytes behind");
  }
  Transition& tr = c.next.transition;
  tr = Transition{};
  tr.kind = TransitionKind::kSwitchover;
  tr.from = p;
  tr.to = t;
  tr.step = TransitionStep::kPaused;
  tr.startedAt = c.in.now;
  c.Commit("switchover " + p + " -> " + t + " started");
  // Dirty buffers written now, while clients still run, are not written by the
  // shutdown checkpoint while they are held.
  c.Add(ActionKind::kCheckpoint, p,
        "switchover " + p + " -> " + t + ": checkpoint before holding transactions", false);
  c.Add(ActionKind::kPauseProxies, "", "switchover " + p + " -> " + t + ": hold new transactions");
  c.Requeue(kTransitionRequeue,
            "switchover " + p + " -> " + t + ": waiting for " + t + " to catch up");
  return true;
}

void ContinueSwitchover(Context& c) {
  Transition& tr = c.next.transition;
  const std::string p = tr.from;
  const std::string t = tr.to;
  const auto* to = c.Obs(t);
  const auto* po = c.Obs(p);
  switch (tr.step) {
    case TransitionStep::kFencing:  // not used by switchovers
    case TransitionStep::kPaused: {
      if (!c.Standby(t) || c.Down(t) || c.OpRunning(t) || !c.Member(t)) {
        return Abort(c, t + " is no longer a running standby member", false);
      }
      if (!c.Writable(p)) return Abort(c, "the primary " + p + " is no longer writable", false);
      if (to->replayedLsn < po->currentLsn) {
        if (c.in.now - tr.startedAt > c.spec.proxy.pauseLimit.count()) {
          return Abort(c, t + " did not catch up within proxy.pauseLimit", false);
        }
        c.Requeue(kTransitionRequeue, "switchover: " + t + " replayed " +
                                          FormatLsn(to->replayedLsn) + " of " +
                                          FormatLsn(po->currentLsn));
        return;
      }
      // Idle client sessions move to the new primary; one inside a transaction
      // when the old primary stops is ended. Let those transactions finish.
      int open = 0;
      for (const auto& o : c.obs.nodes)
        if (o.sidecarReachable) open += o.proxyInTransaction;
      const bool withinLimit = c.in.now - tr.startedAt <= c.spec.proxy.pauseLimit.count();
      if (open > 0 && withinLimit) {
        c.Requeue(kTransitionRequeue, "switchover: waiting for " + std::to_string(open) +
                                          " transaction(s) in progress at the proxies");
        return;
      }
      tr.step = TransitionStep::kStopping;
      tr.stopLsn = po->currentLsn;
      PlanRouting(c);  // records the step with the routing
      c.Commit("switchover: " + t + " caught up at " + FormatLsn(to->replayedLsn) + "; stopping " +
               p +
               (open > 0 ? " (" + std::to_string(open) +
                               " transaction(s) still open past proxy.pauseLimit are aborted)"
                         : std::string()));
      c.Add(ActionKind::kStop, p, "switchover: stop the old primary cleanly").stopMode = "fast";
      c.Requeue(kTransitionRequeue, "switchover: stopping " + p);
      return;
    }
    case TransitionStep::kStopping: {
      PlanRouting(c);
      if (c.OpRunning(p)) return c.Note("switchover: waiting for " + p + " to stop");
      if (c.PgUp(p)) {
        if (c.LastOpFailed(p, OperationKind::kStop)) {
          return Abort(c, "stopping " + p + " failed: " + c.LastOp(p)->error, false);
        }
        c.Add(ActionKind::kStop, p, "switchover: " + p + " still runs").stopMode = "fast";
        c.Requeue(kTransitionRequeue, "switchover: stopping " + p);
        return;
      }
      if (!c.Standby(t) || c.OpRunning(t) || !c.Member(t)) {
        return Abort(c, t + " is no longer a running standby member", true);
      }
      // With the stopped primary's last checkpoint known (pg_controldata via its
      // sidecar), the target must have received past it: every commit is then on it.
      const bool missingCheckpoint = po->checkpointLsn != 0 && to->receivedLsn <= po->checkpointLsn;
      if (missingCheckpoint || to->replayedLsn < tr.stopLsn || to->replayedLsn < to->receivedLsn ||
          !to->upstream.empty()) {
        if (c.in.now - tr.startedAt > kStopWaitPauseLimits * c.spec.proxy.pauseLimit.count()) {
          return Abort(c, t + " did not receive and replay " + p + "'s last WAL in time", true);
        }
        c.Requeue(kTransitionRequeue,
                  "switchover: waiting for " + t + " to replay " + p + "'s last WAL");
        return;
      }
      tr.step = TransitionStep::kPromoting;
      c.Commit("switchover: " + p + " stopped, " + t + " replayed all its WAL (" +
               FormatLsn(to->replayedLsn) + ")");
      c.Add(ActionKind::kPromote, t, "switchover " + p + " -> " + t);
      c.Requeue(kTransitionRequeue, "switchover: promoting " + t);
      return;
    }
    case TransitionStep::kPromoting: {
      if (c.Writable(t)) {
        c.next.primary = t;
        c.next.timeline = to->timeline;
        c.next.transition = Transition{};
        c.next.synchronousStandbys.clear();
        c.next.synchronousCount = 0;
        c.next.syncShrinkLsn = 0;
        PlanRouting(c);  // records the new primary with the routing
        c.Commit("switchover done: " + t + " is primary on timeline " +
                 std::to_string(to->timeline));
        c.Add(ActionKind::kResumeProxies, "", "switchover done");
        if (c.SidecarUp(p) && !c.OpRunning(p)) {
          c.Add(ActionKind::kFollow, p, "switchover: the old primary follows " + t).upstream = t;
        }
        return;
      }
      PlanRouting(c);
      if (c.OpRunning(t)) return c.Note("switchover: waiting for the promotion of " + t);
      // The promote was sent: unless t is seen not writable now, it may be, and
      // p restarted beside it would be a second writable primary (the last
      // values kept of an unobserved t say nothing: WhyNotStartAsPrimary cannot
      // tell). So an unobserved t is waited for, the transition kept, unless
      // the lease rule says its sidecar has fenced it (SeePromotedTarget).
      const PromotedTarget seen = SeePromotedTarget(c, t);
      if (seen == PromotedTarget::kFencedByLease)
        return Abort(c, "promoting " + t + ": " + FencedByLeaseReason(t), true);
      if (seen == PromotedTarget::kMayBeWritable) {
        c.Requeue(kTransitionRequeue, "switchover: the promotion of " + t + " was sent and " + t +
                                          " is not observed: not restarting " + p + " while " + t +
                                          " may be writable");
        return;
      }
      if (c.LastOpFailed(t, OperationKind::kPromote)) {
        return Abort(c, "promoting " + t + " failed: " + c.LastOp(t)->error, true);
      }
      if (seen == PromotedTarget::kStopped) {
        return Abort(c, "PostgreSQL on " + t + " stopped before it was seen writable", true);
      }
      const auto* op = c.LastOp(t);
      if (op && op->kind == OperationKind::kPromote && op->state == OperationState::kSucceeded) {
        c.Requeue(kTransitionRequeue, "switchover: " + t + " promoted, waiting to see it writable");
        return;
      }
      // Seen a running standby, no promote running, failed or done.
      if (!c.Member(t)) return Abort(c, t + " is no longer a member", true);
      c.Add(ActionKind::kPromote, t, "switchover " + p + " -> " + t + ": promotion not seen yet");
      c.Requeue(kTransitionRequeue, "switchover: promoting " + t);
      return;
    }
  }
}

}  // namespace pgvigil::plan::detail
