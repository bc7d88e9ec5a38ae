// Routing: the table every proxy should have. The routed primary is the
// recorded primary while it is not down, not fenced and not seen in recovery,
// and never during a failover or the last steps of a switchover (fail closed).
// Standbys are routed when they are members on the primary's timeline; one the
// controller cannot reach stays routed while the watchdog does not see it down.
// A change (of primary, standbys, or recorded weights) is recorded with a new
// generation before it is published; proxies that report an older generation
// get the current table again.
#include <algorithm>

#include "controller/plan/context.h"

namespace pgvigil::plan::detail {
namespace {

std::string RoutedPrimary(const Context& c) {
  const Transition& t = c.next.transition;
  if (t.kind == TransitionKind::kFailover) return "";
  if (t.kind == TransitionKind::kSwitchover && t.step != TransitionStep::kPaused) return "";
  const std::string& p = c.next.primary;
  if (p.empty() || c.next.IsFenced(p) || c.Down(p)) return "";
  if (c.PgUp(p) && !c.Writable(p)) return "";
  // Not reachable from the controller but not down by consensus: keep it routed
  // only if it already was (it was then seen writable).
  if (!c.PgUp(p) && c.next.routedPrimary != p) return "";
  return p;
}

bool RoutableStandby(const Context& c, const std::string& n, uint32_t timeline) {
  if (n == c.next.primary || !c.Member(n) || c.OpRunning(n) || c.Down(n)) return false;
  if (c.Has(ActionKind::kRebuild, n)) return false;  // about to be rebuilt: not a place for reads
  if (!c.PgUp(n)) return HasName(c.next.routedStandbys, n);
  const auto* o = c.Obs(n);
  if (!o->inRecovery) return false;
  return (timeline != 0 && o->timeline == timeline) || o->upstream == c.next.primary;
}

}  // namespace

void PlanRouting(Context& c) {
  const std::string primary = RoutedPrimary(c);
  uint32_t timeline = c.next.timeline;
  if (const auto* p = c.Obs(c.next.primary); p && p->timeline) timeline = p->timeline;
  std::vector<std::string> standbys;
  std::vector<RoutedStandby> weighted;
  std::vector<std::string> excluded;
  for (const auto& ns : c.spec.nodes) {
    if (ns.name == primary) continue;
    if (RoutableStandby(c, ns.name, timeline)) {
      standbys.push_back(ns.name);
      weighted.push_back({ns.name, ns.noLoadBalance ? 0 : ns.weight});
    } else {
      excluded.push_back(ns.name);
    }
  }
  std::sort(standbys.begin(), standbys.end());
  std::sort(weighted.begin(), weighted.end(),
            [](const RoutedStandby& a, const RoutedStandby& b) { return a.node < b.node; });
  std::sort(excluded.begin(), excluded.end());

  uint64_t newest = c.next.routingGeneration;
  std::vector<std::string> behind;
  for (const auto& o : c.obs.nodes) {
    if (!c.Spec(o.name) || !o.sidecarReachable) continue;
    newest = std::max(newest, o.routingGeneration);
    if (o.routingGeneration < c.next.routingGeneration) behind.push_back(o.name);
  }
  std::vector<int> weights;
  for (const auto& w : weighted) weights.push_back(w.weight);
  const bool reweighted = !c.next.routedWeights.empty() && weights != c.next.routedWeights;
  const bool changed = primary != c.next.routedPrimary || standbys != c.next.routedStandbys ||
                       reweighted || c.next.routingGeneration == 0;
  std::string reason;
  if (changed) {
    c.next.routingGeneration = newest + 1;
    c.next.routedPrimary = primary;
    c.next.routedStandbys = standbys;
    c.next.routedWeights = weights;
    reason = "routing generation " + std::to_string(c.next.routingGeneration) + ": primary " +
             (primary.empty() ? std::string("none (writes fail closed)") : primary);
    c.Commit(reason);
  } else if (!behind.empty() && !c.Has(ActionKind::kPublishRouting)) {
    reason = "proxies behind generation " + std::to_string(c.next.routingGeneration) + ":";
    for (const auto& b : behind) reason += " " + b;
    c.Commit("state update before routing");  // nothing published rests on unwritten state
  } else {
    return;
  }
  Action& a = c.Add(ActionKind::kPublishRouting, "", reason);
  a.generation = c.next.routingGeneration;
  a.primary = primary;
  a.standbys = weighted;
  a.excluded = excluded;
}

}  // namespace pgvigil::plan::detail
