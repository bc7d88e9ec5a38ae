// Property tests: plans for randomized observations and states, and random
// failure sequences driven through the toy executor (with actions cut short as
// a failing actor would), must keep the safety invariants:
//  * no action without watchdog quorum or with stale observations;
//  * a routing table is recorded before it is published, names as primary only
//    the recorded primary (never a fenced node, never one seen in recovery)
//    and routes no fenced or detached node: never two writable primaries;
//  * a promote only of the recorded transition's target, after the old primary
//    is fenced (failover) or stopped (switchover), with no routed primary;
//    in sync mode only a recorded synchronous standby, in async mode within
//    the lag limit;
//  * follow/rebuild only from the recorded primary; never stop the primary;
//  * a primary's data directory (or a node last seen as a primary) is started
//    only as the recorded or first primary, one at a time, with no node
//    writable; a switchover's old primary once its target was sent the
//    promote only when the target is seen not writable or its host holds no
//    write lease;
//  * a failover promotes another node than its recorded target only when
//    that target (sent the promote) is seen not writable or its host holds no
//    write lease.
#include <gtest/gtest.h>

#include <random>

#include "controller/plan/plan_fixture.h"

namespace pgvigil::plan::testing {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(g_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Int(0, static_cast<int>(v.size()) - 1)];
  }

 private:
  std::mt19937_64 g_;
};

const std::vector<std::string> kNames = {"a", "b", "c", "d"};

std::vector<std::string> Subset(Rng& r, const std::vector<std::string>& names, double p) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (r.Chance(p)) out.push_back(n);
  }
  return out;
}

World RandomWorld(Rng& r) {
  World w = r.Chance(0.4) ? HealthySync3(r.Int(1, 2)) : Healthy3();
  std::vector<std::string> names = {"a", "b", "c"};
  if (r.Chance(0.3)) {
    w.AddNode("d");
    NodeObservation d = w.N("b");
    d.name = "d";
    w.N("d") = d;
    names.push_back("d");
  }
  w.spec.failover.automatic = r.Chance(0.8);
  w.spec.failover.requireConsensus = r.Chance(0.8);
  w.spec.recovery.automatic = r.Chance(0.8);
  if (r.Chance(0.3)) w.spec.primary = r.Pick(names);
  for (auto& ns : w.spec.nodes) ns.noFailover = r.Chance(0.15);
  auto& wd = w.obs.watchdog;
  wd.quorum = r.Chance(0.85);
  wd.liveMembers = r.Int(1, static_cast<int>(names.size()));
  if (r.Chance(0.05)) wd.observedAt = kNow - 60'000;
  for (const auto& n : names) {
    NodeObservation& o = w.N(n);
    o.pgReachable = r.Chance(0.75);
    o.sidecarReachable = r.Chance(0.8);
    o.postgresRunning = o.pgReachable || r.Chance(0.3);
    o.inRecovery = r.Chance(0.7);
    o.timeline = static_cast<uint32_t>(r.Int(1, 3));
    o.currentLsn = static_cast<Lsn>(r.Int(70, 130)) * kMB;
    o.receivedLsn = static_cast<Lsn>(r.Int(70, 130)) * kMB;
    o.replayedLsn = o.receivedLsn - static_cast<Lsn>(r.Int(0, 2)) * kMB;
    o.upstream = r.Chance(0.7) ? r.Pick(names) : "";
    o.configuredUpstream = r.Chance(0.8) ? o.upstream : r.Pick(names);
    o.history.clear();
    for (uint32_t t = 1; t < o.timeline; ++t) {
      if (r.Chance(0.8)) o.history.push_back({t, static_cast<Lsn>(r.Int(60, 110)) * kMB});
    }
    o.dataDirectoryInitialized = r.Chance(0.9);
    o.dataDirectoryRole = static_cast<DataDirectoryRole>(r.Int(0, 2));
    o.routingGeneration = static_cast<uint64_t>(r.Int(3, 7));
    o.operation.reset();
    if (r.Chance(0.2)) {
      o.operation =
          Op(static_cast<OperationKind>(r.Int(0, 5)), static_cast<OperationState>(r.Int(0, 2)));
    }
    if (r.Chance(0.03)) o.pgObservedAt = kNow - 60'000;
    if (r.Chance(0.03)) o.sidecarObservedAt = kNow - 60'000;
    const int down = r.Int(0, wd.liveMembers);
    wd.backends[n] = {down, wd.liveMembers - down};
    for (auto& row : o.replication) row.state = r.Chance(0.8) ? "streaming" : "catchup";
  }
  ClusterState& s = w.state;
  s.primary = r.Chance(0.1) ? "" : r.Pick(names);
  s.timeline = static_cast<uint32_t>(r.Int(1, 3));
  s.routedPrimary = r.Chance(0.8) ? s.primary : "";
  s.routedStandbys = Subset(r, names, 0.6);
  RemoveName(&s.routedStandbys, s.primary);
  s.fenced = Subset(r, names, 0.15);
  RemoveName(&s.fenced, s.primary);
  for (const auto& f : s.fenced) RemoveName(&s.routedStandbys, f);
  s.detached = r.Chance(0.1) ? Subset(r, names, 0.3) : std::vector<std::string>{};
  RemoveName(&s.detached, s.primary);
  for (const auto& d : s.detached) RemoveName(&s.routedStandbys, d);
  if (r.Chance(0.3)) {
    s.synchronousStandbys = Subset(r, names, 0.5);
    RemoveName(&s.synchronousStandbys, s.primary);
    s.synchronousCount = r.Int(0, 2);
  }
  if (!s.primary.empty() && r.Chance(0.25)) {
    Transition& t = s.transition;
    t.kind = r.Chance(0.5) ? TransitionKind::kFailover : TransitionKind::kSwitchover;
    t.from = s.primary;
    do t.to = r.Pick(names);
    while (t.to == t.from);
    t.step = t.kind == TransitionKind::kFailover ? TransitionStep::kFencing
                                                 : static_cast<TransitionStep>(r.Int(1, 3));
    t.startedAt = kNow - r.Int(0, 8000);
    t.stopLsn = static_cast<Lsn>(r.Int(90, 110)) * kMB;
    if (t.kind == TransitionKind::kFailover) AddName(&s.fenced, t.from);
    if (t.kind == TransitionKind::kFailover || t.step != TransitionStep::kPaused)
      s.routedPrimary = "";
  }
  if (r.Chance(0.1)) w.in.requests.switchoverTo = r.Pick(names);
  if (r.Chance(0.1)) w.in.requests.recover = {r.Pick(names)};
  if (r.Chance(0.05)) w.in.requests.detach = {r.Pick(names)};
  if (r.Chance(0.05)) w.in.requests.attach = {r.Pick(names)};
  return w;
}

bool Stale(const World& w) {
  const TimeMs limit = (w.spec.healthCheck.period * 3 + w.spec.healthCheck.timeout).count();
  if (w.in.now - w.obs.watchdog.observedAt > limit) return true;
  for (const auto& o : w.obs.nodes) {
    if (!w.spec.FindNode(o.name)) continue;
    if ((o.pgReachable && w.in.now - o.pgObservedAt > limit) ||
        (o.sidecarReachable && w.in.now - o.sidecarObservedAt > limit)) {
      return true;
    }
  }
  return false;
}

// A transition's target, sent the promote, may be writable: unless seen not
// to be (a standby over libpq, or stopped by its sidecar's word) or its host
// holds no write lease (its sidecar fenced any primary there) while a majority
// of the watchdog members sees it down (Context::Down: a member still in
// contact with it may keep its lease alive, contact_lease.h).
bool PromotedTargetMayBeWritable(const World& w, const std::string& to) {
  const NodeObservation* t = w.obs.Find(to);
  const bool seenNotWritable =
      t && ((t->pgReachable && t->inRecovery) ||
            (t->sidecarReachable && !t->pgReachable && !t->postgresRunning));
  const auto& wd = w.obs.watchdog;
  const bool down = wd.SeenDownByMajority(to) || (!w.spec.failover.requireConsensus && !(t && t->pgReachable));
  return !seenNotWritable && !(down && wd.writeLeasesKnown && wd.WriteLeaseOver(to));
}

// Checks one plan against the world it was made for; returns the first broken
// invariant ("" when none).
std::string Violation(const World& w, const Plan& p) {
  if (!w.obs.watchdog.quorum && !p.actions.empty()) return "acted without quorum";
  if (Stale(w) && !p.actions.empty()) return "acted on stale observations";
  if (!p.actions.empty() && p.outcome != Outcome::kRequeueAfter) return "actions without requeue";
  ClusterState cur = w.state;
  const ClusterState& orig = w.state;
  std::string stopped;  // nodes stopped earlier in this plan
  int promotes = 0;
  int primaryStarts = 0;
  bool anyWritable = false;
  for (const auto& ns : w.spec.nodes) {
    const NodeObservation* o = w.obs.Find(ns.name);
    anyWritable = anyWritable || (o && o->pgReachable && !o->inRecovery);
  }
  for (const Action& a : p.actions) {
    const std::string what = Render(a) + ": ";
    const NodeObservation* o = w.obs.Find(a.node);
    switch (a.kind) {
      case ActionKind::kWriteState:
        if (a.state.version != cur.version + 1) return what + "version not bumped by one";
        if (a.state.routingGeneration < cur.routingGeneration) return what + "generation went back";
        cur = a.state;
        if (!cur.routedPrimary.empty() && cur.routedPrimary != cur.primary) {
          return what + "routed primary is not the recorded primary";
        }
        if (cur.IsFenced(cur.routedPrimary)) return what + "routed primary is fenced";
        break;
      case ActionKind::kPublishRouting: {
        if (a.generation != cur.routingGeneration) return what + "generation not recorded first";
        if (a.primary != cur.routedPrimary) return what + "primary not recorded first";
        if (!a.primary.empty()) {
          if (a.primary != cur.primary)
            return what + "routes a primary that is not the recorded one";
          if (cur.IsFenced(a.primary)) return what + "routes a fenced primary";
          const NodeObservation* po = w.obs.Find(a.primary);
          if (po && po->pgReachable && po->inRecovery)
            return what + "routes a node in recovery as primary";
          if (cur.transition.kind == TransitionKind::kFailover)
            return what + "routes a primary mid-failover";
        }
        for (const auto& s : a.standbys) {
          if (cur.IsFenced(s.node) || cur.IsDetached(s.node))
            return what + "routes fenced/detached " + s.node;
          if (s.node == a.primary) return what + "primary also a standby";
        }
        break;
      }
      case ActionKind::kPromote: {
        if (++promotes > 1) return what + "two promotes";
        if (cur.IsFenced(a.node)) return what + "promotes a fenced node";
        if (!cur.transition.active() || cur.transition.to != a.node)
          return what + "promote not recorded first";
        if (!cur.routedPrimary.empty()) return what + "promote while a primary is routed";
        if (!o || !o->pgReachable || !o->inRecovery)
          return what + "promotes a node not seen as a standby";
        if (cur.transition.kind == TransitionKind::kFailover) {
          if (!cur.IsFenced(cur.transition.from)) return what + "old primary not fenced";
          // The candidate rules apply where the candidate is chosen (an unfinished
          // failover from a recorded state goes on with its target).
          if (orig.transition.kind == TransitionKind::kFailover && orig.transition.to == a.node)
            break;
          if (orig.transition.kind == TransitionKind::kFailover &&
              PromotedTargetMayBeWritable(w, orig.transition.to))
            return what + "promotes another node while the failover's target " +
                   orig.transition.to + " may be writable";
          if (w.spec.replication.mode == ReplicationMode::kSync) {
            if (!orig.IsSynchronous(a.node)) return what + "not a recorded synchronous standby";
          } else {
            const NodeObservation* old = w.obs.Find(cur.transition.from);
            if (old && old->currentLsn > o->receivedLsn + w.spec.failover.maximumLagBytes) {
              return what + "beyond the lag limit";
            }
          }
          const NodeSpec* ns = w.spec.FindNode(a.node);
          if (ns->noFailover && w.in.requests.switchoverTo != a.node)
            return what + "noFailover node";
        } else if (cur.transition.step != TransitionStep::kPromoting) {
          return what + "switchover promote before the old primary stopped";
        }
        break;
      }
      case ActionKind::kFollow:
      case ActionKind::kRebuild:
        if (a.upstream != cur.primary || a.node == cur.primary)
          return what + "not from the recorded primary";
        break;
      case ActionKind::kStop:
        if (a.node == cur.primary && !(cur.transition.active() && cur.transition.from == a.node)) {
          return what + "stops the primary";
        }
        stopped += a.node;
        break;
      case ActionKind::kStart: {
        if (cur.IsFenced(a.node)) return what + "starts a fenced node";
        const bool primaryDir = o && o->dataDirectoryRole == DataDirectoryRole::kPrimary;
        if (!primaryDir && !(o && o->timeline != 0 && !o->inRecovery)) break;
        if (orig.transition.kind == TransitionKind::kSwitchover && orig.transition.from == a.node) {
          if (orig.transition.step == TransitionStep::kPromoting &&
              PromotedTargetMayBeWritable(w, orig.transition.to))
            return what + "restarts the old primary while the promoted target may be writable";
          break;
        }
        // The one way a primary's data directory is started: as the primary, the
        // recorded one or the first, while no node is writable.
        if (!primaryDir) return what + "starts a node last seen as a primary";
        if (anyWritable) return what + "starts a primary's data directory beside a writable node";
        if (++primaryStarts > 1) return what + "starts two primary data directories";
        if (!cur.primary.empty() && (cur.primary != a.node || cur.transition.active()))
          return what + "starts a primary's data directory that is not the recorded primary";
        break;
      }
      default:
        break;
    }
  }
  return "";
}

TEST(PlanProperty, RandomObservationsKeepTheSafetyInvariants) {
  Rng r(20261125);
  int withActions = 0, promotes = 0, primaryStarts = 0;
  for (int i = 0; i < 20000; ++i) {
    const World w = RandomWorld(r);
    const Plan p = w.Run();
    const std::string v = Violation(w, p);
    ASSERT_EQ(v, "") << "iteration " << i << ": " << Render(p) << "\n" << p.summary;
    withActions += !p.actions.empty();
    for (const auto& a : p.actions) {
      promotes += a.kind == ActionKind::kPromote;
      const NodeObservation* o = w.obs.Find(a.node);
      primaryStarts += a.kind == ActionKind::kStart && o &&
                       o->dataDirectoryRole == DataDirectoryRole::kPrimary;
    }
  }
  // The generator must reach the interesting cases, or the test proves nothing.
  EXPECT_GT(withActions, 5000);
  EXPECT_GT(promotes, 100);
  EXPECT_GT(primaryStarts, 20);
}

// Random failures and recoveries between plans; the actor sometimes stops
// part-way through a plan (a failed mustSucceed action).
TEST(PlanProperty, RandomFailureSequencesKeepTheSafetyInvariants) {
  Rng r(7);
  int failovers = 0;
  for (int run = 0; run < 400; ++run) {
    World w = r.Chance(0.5) ? HealthySync3() : Healthy3();
    const std::string firstPrimary = w.state.primary;
    for (int step = 0; step < 40; ++step) {
      const std::string n = r.Pick(std::vector<std::string>{"a", "b", "c"});
      const int event = r.Int(0, 9);
      if (event == 0 && w.obs.watchdog.liveMembers > 2) {
        w.Crash(n);
      } else if (event == 1) {
        w.PgDown(n);  // its sidecar says what its data directory is
        w.N(n).dataDirectoryRole =
            w.N(n).inRecovery ? DataDirectoryRole::kStandby : DataDirectoryRole::kPrimary;
      } else if (event == 2 && !w.N(n).sidecarReachable) {
        w.N(n).sidecarReachable = true;  // host back; PostgreSQL as it was
        w.obs.watchdog.liveMembers += 1;
        w.obs.watchdog.backends[n] = {w.obs.watchdog.liveMembers, 0};
      } else if (event == 3) {
        w.N(n).operation = Op(OperationKind::kRebuild, OperationState::kFailed);
      } else if (event == 4) {
        w.in.requests.switchoverTo = n;
      }
      w.obs.watchdog.quorum = w.obs.watchdog.liveMembers >= 2;
      Plan p = w.Run();
      const std::string v = Violation(w, p);
      ASSERT_EQ(v, "") << "run " << run << " step " << step << ": " << Render(p) << "\n"
                       << p.summary;
      if (r.Chance(0.2) && !p.actions.empty()) {
        p.actions.resize(static_cast<size_t>(r.Int(0, static_cast<int>(p.actions.size()) - 1)));
      }
      Apply(w, p);
      w.in.requests = Requests{};
      w.in.now += 200;
      for (auto& o : w.obs.nodes) o.pgObservedAt = o.sidecarObservedAt = w.in.now;
      w.obs.watchdog.observedAt = w.in.now;
      int writableRouted = 0;
      for (const auto& o : w.obs.nodes) {
        if (o.pgReachable && !o.inRecovery && o.name == w.state.routedPrimary) ++writableRouted;
      }
      ASSERT_LE(writableRouted, 1);
    }
    failovers += w.state.primary != firstPrimary;
  }
  EXPECT_GT(failovers, 20);
}

}  // namespace
}  // namespace pgvigil::plan::testing
