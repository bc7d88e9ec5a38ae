#include "controller/plan/plan_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace pgvigil::plan::testing {

NodeObservation& World::N(const std::string& name) {
  for (auto& n : obs.nodes) {
    if (n.name == name) return n;
  }
  obs.nodes.push_back(NodeObservation{});
  obs.nodes.back().name = name;
  return obs.nodes.back();
}

NodeSpec& World::S(const std::string& name) {
  for (auto& n : spec.nodes) {
    if (n.name == name) return n;
  }
  spec.nodes.push_back(NodeSpec{});
  spec.nodes.back().name = name;
  return spec.nodes.back();
}

void World::Crash(const std::string& name) {
  NodeObservation& n = N(name);
  if (n.sidecarReachable) obs.watchdog.liveMembers -= 1;
  n.pgReachable = false;
  n.sidecarReachable = false;
  n.postgresRunning = false;
  for (auto& o : obs.nodes) {
    if (o.upstream == name) o.upstream.clear();
  }
  for (auto& [node, health] : obs.watchdog.backends) {
    if (health.seeUp + health.seeDown > obs.watchdog.liveMembers) {
      health.seeUp = std::max(0, obs.watchdog.liveMembers - health.seeDown);
    }
  }
  obs.watchdog.backends[name] = {obs.watchdog.liveMembers, 0};
}

void World::PgDown(const std::string& name) {
  NodeObservation& n = N(name);
  n.pgReachable = false;
  n.postgresRunning = false;
  for (auto& o : obs.nodes) {
    if (o.upstream == name) o.upstream.clear();
  }
  obs.watchdog.backends[name] = {obs.watchdog.liveMembers, 0};
}

void World::SeenDownBy(const std::string& name, int members) {
  obs.watchdog.backends[name] = {members, obs.watchdog.liveMembers - members};
}

void World::AddNode(const std::string& name) {
  NodeSpec& s = S(name);
  s.host = "127.0.0.1";
}

namespace {

NodeObservation Observed(const std::string& name) {
  NodeObservation o;
  o.name = name;
  o.pgObservedAt = kNow - 100;
  o.sidecarObservedAt = kNow - 100;
  o.pgReachable = true;
  o.sidecarReachable = true;
  o.postgresRunning = true;
  o.timeline = 1;
  o.routingGeneration = 5;
  return o;
}

void Stream(World& w, const std::string& standby, const std::string& primary) {
  NodeObservation& s = w.N(standby);
  NodeObservation& p = w.N(primary);
  s.inRecovery = true;
  s.pgReachable = true;
  s.postgresRunning = true;
  s.timeline = p.timeline;
  s.upstream = primary;
  s.configuredUpstream = primary;
  s.receivedLsn = s.replayedLsn = p.currentLsn;
  s.replication.clear();
  s.synchronousStandbyNames.clear();
  auto it = std::find_if(p.replication.begin(), p.replication.end(),
                         [&](const ReplicationRow& r) { return r.node == standby; });
  if (it == p.replication.end()) it = p.replication.insert(p.replication.end(), ReplicationRow{});
  it->node = standby;
  it->state = "streaming";
  it->syncState = "async";
  it->sentLsn = it->flushLsn = it->replayLsn = p.currentLsn;
  w.obs.watchdog.backends[standby] = {0, w.obs.watchdog.liveMembers};
}

}  // namespace

World Healthy3() {
  World w;
  w.spec.name = "lab";
  for (const char* n : {"a", "b", "c"}) w.AddNode(n);
  w.obs.watchdog.observedAt = kNow - 100;
  w.obs.watchdog.leader = "a";
  w.obs.watchdog.term = 3;
  w.obs.watchdog.quorum = true;
  w.obs.watchdog.liveMembers = 3;
  for (const char* n : {"a", "b", "c"}) {
    w.obs.nodes.push_back(Observed(n));
    w.obs.watchdog.backends[n] = {0, 3};
  }
  w.N("a").currentLsn = 100 * kMB;
  Stream(w, "b", "a");
  Stream(w, "c", "a");
  w.state.version = 7;
  w.state.primary = "a";
  w.state.timeline = 1;
  w.state.routingGeneration = 5;
  w.state.routedPrimary = "a";
  w.state.routedStandbys = {"b", "c"};
  w.in.now = kNow;
  return w;
}

World HealthySync3(int count) {
  World w = Healthy3();
  w.spec.replication.mode = ReplicationMode::kSync;
  w.spec.replication.synchronousCount = count;
  const int k = std::min(count, 2);
  w.N("a").synchronousStandbyNames = SynchronousStandbyNames({"b", "c"}, k);
  w.state.synchronousStandbys = {"b", "c"};
  w.state.synchronousCount = k;
  return w;
}

std::string Render(const Action& a) {
  std::string out = ToString(a.kind);
  if (!a.node.empty()) out += " " + a.node;
  switch (a.kind) {
    case ActionKind::kFollow:
      out += " ->" + a.upstream;
      break;
    case ActionKind::kRebuild:
      out += " <-" + a.upstream;
      if (a.method == RecoveryMethod::kBasebackup) out += " basebackup";
      break;
    case ActionKind::kStop:
      out += " " + a.stopMode;
      break;
    case ActionKind::kPublishRouting: {
      out += " " + (a.primary.empty() ? std::string("-") : a.primary) + ":";
      for (size_t i = 0; i < a.standbys.size(); ++i) out += (i ? "," : "") + a.standbys[i].node;
      break;
    }
    case ActionKind::kSetSynchronousStandbys:
      out += " '" + a.synchronousStandbyNames + "'";
      break;
    default:
      break;
  }
  return out;
}

std::string Render(const Plan& plan) {
  std::string out;
  for (const auto& a : plan.actions) out += (out.empty() ? "" : " | ") + Render(a);
  return out;
}

void Apply(World& w, const Plan& plan) {
  auto succeeded = [](OperationKind k) {
    Operation op;
    op.id = "op";
    op.kind = k;
    op.state = OperationState::kSucceeded;
    return op;
  };
  for (const auto& a : plan.actions) {
    switch (a.kind) {
      case ActionKind::kWriteState:
        w.state = a.state;
        break;
      case ActionKind::kPublishRouting:
        for (auto& o : w.obs.nodes) {
          if (o.sidecarReachable) o.routingGeneration = a.generation;
        }
        break;
      case ActionKind::kPauseProxies:
      case ActionKind::kResumeProxies:
        for (auto& o : w.obs.nodes) {
          if (o.sidecarReachable) o.proxyPaused = a.kind == ActionKind::kPauseProxies;
        }
        break;
      case ActionKind::kPromote: {
        NodeObservation& n = w.N(a.node);
        const Lsn end = std::max(n.receivedLsn, n.replayedLsn);
        n.history.push_back({n.timeline, end});
        n.timeline += 1;
        n.inRecovery = false;
        n.currentLsn = end;
        n.upstream.clear();
        n.configuredUpstream.clear();
        n.operation = succeeded(OperationKind::kPromote);
        break;
      }
      case ActionKind::kStop: {
        if (!w.N(a.node).sidecarReachable) break;
        w.PgDown(a.node);
        w.N(a.node).operation = succeeded(OperationKind::kStop);
        break;
      }
      case ActionKind::kStart: {
        NodeObservation& n = w.N(a.node);
        n.pgReachable = n.postgresRunning = true;
        if (n.dataDirectoryRole != DataDirectoryRole::kUnknown)
          n.inRecovery = n.dataDirectoryRole == DataDirectoryRole::kStandby;
        n.operation = succeeded(OperationKind::kStart);
        if (!n.configuredUpstream.empty() && w.N(n.configuredUpstream).pgReachable &&
            w.N(n.configuredUpstream).timeline == n.timeline) {
          Stream(w, a.node, n.configuredUpstream);
        }
        w.obs.watchdog.backends[a.node] = {0, w.obs.watchdog.liveMembers};
        break;
      }
      case ActionKind::kFollow:
      case ActionKind::kRebuild: {
        Stream(w, a.node, a.upstream);
        NodeObservation& n = w.N(a.node);
        n.dataDirectoryInitialized = true;
        n.history = w.N(a.upstream).history;
        n.operation = succeeded(a.kind == ActionKind::kFollow ? OperationKind::kFollow
                                                              : OperationKind::kRebuild);
        break;
      }
      case ActionKind::kSetSynchronousStandbys:
        w.N(a.node).synchronousStandbyNames = a.synchronousStandbyNames;
        break;
      default:
        break;
    }
  }
}

Operation Op(OperationKind kind, OperationState state) {
  Operation op;
  op.id = "op-1";
  op.kind = kind;
  op.state = state;
  op.step = "working";
  op.error = state == OperationState::kFailed ? "exit status 1" : "";
  return op;
}

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

void RunScenario(const Scenario& sc, World w) {
  sc.setup(w);
  const Plan p = w.Run();
  EXPECT_EQ(Render(p), sc.actions) << p.summary;
  EXPECT_EQ(ToString(p.phase), std::string(ToString(sc.phase))) << p.summary;
  EXPECT_EQ(ToString(p.outcome), std::string(ToString(sc.outcome))) << p.summary;
  for (const auto& a : p.actions) EXPECT_FALSE(a.reason.empty()) << Render(a);
  if (sc.check) sc.check(w, p);
}

}  // namespace pgvigil::plan::testing
