// Recovery: bring every spec node back as a healthy standby of the primary.
//  * a writable node other than the primary is fenced and stopped at once;
//  * a fenced node (an old primary) is rebuilt, then unfenced once it streams
//    from the primary on its timeline: it is never routed before;
//  * a standby whose history forked off the primary's is rebuilt (rewind);
//  * a standby pointed elsewhere follows the primary (repoint, no rebuild);
//  * a stopped standby is started, an empty one is built by base backup
//    (online recovery), automatically only with recovery.automatic; a stopped
//    node last seen as a primary, or whose data directory is a primary's, is
//    fenced and rebuilt (started, it would be a second writable node);
//  * names of nodes removed from the spec leave the durable state.
#include "controller/plan/context.h"

namespace pgvigil::plan::detail {
namespace {

bool OnlyStopped(const Context& c, const std::string& n) {
  for (const auto& a : c.plan.actions) {
    if (a.node == n && a.kind != ActionKind::kStop && a.kind != ActionKind::kFence) return false;
  }
  return true;
}

void Rebuild(Context& c, const std::string& n, RecoveryMethod method, const std::string& why) {
  Action& a = c.Add(ActionKind::kRebuild, n, why);
  a.upstream = c.next.primary;
  a.method = method;
}

void PlanFenced(Context& c, const std::string& n, bool autoOk, bool requested) {
  const std::string& p = c.next.primary;
  const auto* o = c.Obs(n);
  if (c.Standby(n) && o->upstream == p && o->timeline == c.Obs(p)->timeline) {
    RemoveName(&c.next.fenced, n);
    c.Commit(n + " streams from " + p + " on its timeline: unfenced");
    c.Add(ActionKind::kUnfence, n, "rebuilt as a standby of " + p, false);
    return;
  }
  if (!c.SidecarUp(n)) return c.Note(n + " is fenced and its sidecar is unreachable");
  const Operation* op = c.LastOp(n);
  if (!requested && op && op->kind == OperationKind::kRebuild) {
    if (op->state == OperationState::kFailed) {
      const std::string why =
          "rebuilding " + n + " failed (" + op->error + "): vigilctl recover " + n;
      c.Note(why);
      return;
    }
    if (c.Standby(n)) return c.Note(n + " rebuilt, waiting for it to stream from " + p);
  }
  if (!autoOk) return c.Note(n + " is fenced; recovery.automatic is off: vigilctl recover " + n);
  Rebuild(c, n, c.spec.recovery.method,
          n + " is fenced (former primary): rebuild as a standby of " + p);
}

void PlanNode(Context& c, const std::string& n) {
  const std::string& p = c.next.primary;
  const bool requested = HasName(c.in.requests.recover, n);
  const bool autoOk = c.spec.recovery.automatic || requested;
  const auto* o = c.Obs(n);
  if (!o) return c.Note(n + " not observed yet");
  if (c.OpRunning(n)) {
    const Operation& op = *o->operation;
    return c.Note(n + ": " + ToString(op.kind) + " running (" + op.step + ", " +
                  std::to_string(op.progressPercent) + "%)");
  }
  if (c.next.IsFenced(n)) return PlanFenced(c, n, autoOk, requested);
  if (c.next.IsDetached(n)) return;
  if (c.Standby(n)) {
    std::string why;
    const Lineage l = c.LineageOf(n, &why);
    if (l == Lineage::kDiverged) {
      if (!autoOk) return c.Note(n + " diverged (" + why + "); recovery.automatic is off");
      return Rebuild(c, n, c.spec.recovery.method, n + " diverged from " + p + ": " + why);
    }
    if (l == Lineage::kUnknown)
      return c.Note("cannot tell whether " + n + " can follow " + p + ": " + why);
    if (requested) return Rebuild(c, n, c.spec.recovery.method, "recovery of " + n + " requested");
    // Repointed at the primary, yet its follow failed and it does not stream:
    // it holds WAL the primary's timeline does not (received from a dead primary
    // past the fork, though its history file says it switched): rewind it.
    if (o->upstream != p && c.LastOpFailed(n, OperationKind::kFollow)) {
      const std::string err = o->operation->error.empty() ? "" : " (" + o->operation->error + ")";
      if (!autoOk) return c.Note(n + " does not stream from " + p + " after following it" + err +
                                 "; recovery.automatic is off");
      return Rebuild(c, n, c.spec.recovery.method,
                     n + " does not stream from " + p + " after following it" + err);
    }
    if (o->configuredUpstream != p && o->upstream != p) {
      const std::string from = o->upstream.empty() ? o->configuredUpstream : o->upstream;
      c.Add(ActionKind::kFollow, n,
            n + " follows " + (from.empty() ? std::string("no node") : from) +
                ", not the primary " + p + " (" + why + ")")
          .upstream = p;
    }
    return;
  }
  if (c.PgUp(n)) return;  // writable: PlanStrayPrimaries has it
  if (!c.SidecarUp(n)) return c.Note(n + ": PostgreSQL and sidecar unreachable");
  if (o->postgresRunning) return c.Note(n + ": PostgreSQL runs but does not answer the controller");
  if (!autoOk) return c.Note(n + " is down; recovery.automatic is off: vigilctl recover " + n);
  if (!o->dataDirectoryInitialized) {
    return Rebuild(c, n, RecoveryMethod::kBasebackup,
                   n + " has an empty data directory: base backup from " + p);
  }
  const bool seen = o->timeline != 0 && !o->inRecovery;
  if (seen || o->dataDirectoryRole == DataDirectoryRole::kPrimary) {
    const std::string was = seen ? n + " was last seen as a primary"
                                 : n + "'s data directory is a primary's";
    c.Add(ActionKind::kFence, n, was, false);
    AddName(&c.next.fenced, n);
    c.Commit(n + " fenced: " + (seen ? "last seen as a primary" : "its data directory is a primary's"));
    return Rebuild(c, n, c.spec.recovery.method, was + ": rebuild as a standby of " + p);
  }
  if (requested || c.LastOpFailed(n, OperationKind::kStart)) {
    return Rebuild(c, n, c.spec.recovery.method,
                   requested ? "recovery of " + n + " requested" : "starting " + n + " failed");
  }
  c.Add(ActionKind::kStart, n, "PostgreSQL on " + n + " is stopped: start it as a standby");
}

}  // namespace

void PlanStrayPrimaries(Context& c) {
  const Transition& t = c.next.transition;
  for (const auto& ns : c.spec.nodes) {
    const std::string& n = ns.name;
    if (n == c.next.primary || !c.Writable(n)) continue;
    if (t.active() && n == t.to) continue;  // being promoted
    if (!c.next.IsFenced(n)) {
      c.Add(ActionKind::kFence, n, n + " is writable but " + c.next.primary + " is the primary",
            false);
      AddName(&c.next.fenced, n);
      c.Commit(n + " fenced: a second writable node");
    }
    if (c.SidecarUp(n) && !c.OpRunning(n) && !c.Targeted(n)) {
      c.Add(ActionKind::kStop, n, n + " is fenced but writable: stop it", false).stopMode =
          "immediate";
    }
  }
}

void PlanRecovery(Context& c) {
  const std::string& p = c.next.primary;
  for (auto* list : {&c.next.fenced, &c.next.detached}) {
    std::vector<std::string> keep;
    for (const auto& n : *list) {
      if (c.Spec(n)) keep.push_back(n);
    }
    *list = keep;  // recorded with the next write
  }
  if (!c.Spec(p)) {
    c.Note("the primary " + p +
           " was removed from the spec: set spec.primary to switch over first");
  }
  for (const auto& n : c.in.requests.recover) {
    std::string refused;
    if (n == p) refused = "it is the primary";
    else if (!c.Spec(n)) refused = "not in the spec";
    else if (c.next.IsDetached(n)) refused = "it is detached (attach it first)";
    if (refused.empty()) continue;
    c.Event("recovery of " + n + " refused: " + refused);
    AddName(&c.plan.answered.recover, n);
  }
  if (!c.Writable(p)) return c.Note("recovery waits for a writable primary");
  for (const auto& ns : c.spec.nodes) {
    // A stray primary just stopped may still be rebuilt in the same plan.
    if (ns.name == p || (c.Targeted(ns.name) && !c.next.IsFenced(ns.name))) continue;
    if (c.Targeted(ns.name) && !OnlyStopped(c, ns.name)) continue;
    PlanNode(c, ns.name);
  }
  // A requested recovery is answered by its rebuild (or, once it streams from
  // the primary, its unfence); one that waits (an operation running, its
  // sidecar unreachable, no writable primary) stays pending.
  for (const auto& n : c.in.requests.recover)
    if (c.Has(ActionKind::kRebuild, n) || c.Has(ActionKind::kUnfence, n)) AddName(&c.plan.answered.recover, n);
}

}  // namespace pgvigil::plan::detail
