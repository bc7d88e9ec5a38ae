#include "sidecar/agent/probes.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

LocalPgStatus Primary() {
  LocalPgStatus s;
  s.running = true;
  s.role = BackendRole::kPrimary;
  s.timeline = 2;
  return s;
}

LocalPgStatus Standby(std::optional<uint64_t> lag, const std::string& receiver = "streaming") {
  LocalPgStatus s;
  s.running = true;
  s.role = BackendRole::kStandby;
  s.replayLagBytes = lag;
  s.walReceiver = receiver;
  return s;
}

int Probe(Route r, const LocalPgStatus& s, std::map<std::string, std::string> q = {}) {
  return EvaluateProbe(r, q, s).status;
}

TEST(AgentProbes, Table) {
  LocalPgStatus stopped;
  stopped.lastError = "connection refused";
  struct Case {
    const char* what;
    LocalPgStatus status;
    Route probe;
    std::map<std::string, std::string> query;
    int expected;
  } cases[] = {
      {"primary /primary", Primary(), Route::kProbePrimary, {}, 200},
      {"primary /read-write", Primary(), Route::kProbeReadWrite, {}, 200},
      {"primary /replica", Primary(), Route::kProbeReplica, {}, 503},
      {"primary /read-only", Primary(), Route::kProbeReadOnly, {}, 200},
      {"primary /health", Primary(), Route::kProbeHealth, {}, 200},
      {"primary /readiness", Primary(), Route::kProbeReadiness, {}, 200},
      {"standby /primary", Standby(0), Route::kProbePrimary, {}, 503},
      {"standby /read-write", Standby(0), Route::kProbeReadWrite, {}, 503},
      {"standby /replica", Standby(0), Route::kProbeReplica, {}, 200},
      {"standby /read-only", Standby(0), Route::kProbeReadOnly, {}, 200},
      {"standby lag ok", Standby(100), Route::kProbeReplica, {{"lag", "100"}}, 200},
      {"standby lagging", Standby(101), Route::kProbeReplica, {{"lag", "100"}}, 503},
      {"standby lag units", Standby(5 << 20), Route::kProbeReplica, {{"lag", "16MB"}}, 200},
      {"standby lag unknown", Standby(std::nullopt), Route::kProbeReplica, {{"lag", "16MB"}}, 503},
      {"standby lag unknown, no limit", Standby(std::nullopt), Route::kProbeReplica, {}, 200},
      {"standby bad lag", Standby(0), Route::kProbeReplica, {{"lag", "lots"}}, 400},
      {"standby not streaming /readiness", Standby(0, "waiting"), Route::kProbeReadiness, {}, 503},
      {"standby streaming /readiness", Standby(0), Route::kProbeReadiness, {}, 200},
      {"stopped /primary", stopped, Route::kProbePrimary, {}, 503},
      {"stopped /replica", stopped, Route::kProbeReplica, {}, 503},
      {"stopped /read-only", stopped, Route::kProbeReadOnly, {}, 503},
      {"stopped /health", stopped, Route::kProbeHealth, {}, 503},
      {"stopped /readiness", stopped, Route::kProbeReadiness, {}, 503},
      {"stopped /liveness (sidecar alive)", stopped, Route::kProbeLiveness, {}, 200},
      {"other query params ignored", Primary(), Route::kProbePrimary, {{"tag_x", "1"}}, 200},
  };
  for (const auto& c : cases) EXPECT_EQ(Probe(c.probe, c.status, c.query), c.expected) << c.what;
}

TEST(AgentProbes, NoLoadBalanceStandbyIsNotAReplicaTarget) {
  LocalPgStatus s = Standby(0);
  s.noLoadBalance = true;
  EXPECT_EQ(Probe(Route::kProbeReplica, s), 503);
  EXPECT_EQ(Probe(Route::kProbeReadOnly, s), 200);
}

TEST(AgentProbes, LivenessFollowsChecker) {
  LocalPgStatus s = Primary();
  s.checkerAlive = false;
  EXPECT_EQ(Probe(Route::kProbeLiveness, s), 503);
}

TEST(AgentProbes, BodyDescribesNode) {
  ApiResponse r = EvaluateProbe(Route::kProbeReplica, {}, Standby(42));
  auto v = web::json::value::parse(r.body);
  EXPECT_EQ(v.at("role").as_string(), "standby");
  EXPECT_EQ(v.at("replayLagBytes").as_number().to_uint64(), 42u);
  EXPECT_EQ(v.at("walReceiver").as_string(), "streaming");
}

}  // namespace
}  // namespace pgvigil
