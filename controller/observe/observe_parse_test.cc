// The controller's observation parsers and state codec on fixtures.
#include <gtest/gtest.h>

#include "controller/act/state_codec.h"
#include "controller/observe/pg_observer.h"
#include "controller/observe/sidecar_observer.h"

namespace pgvigil {
namespace {

TEST(ObserveParse, Lsn) {
  plan::Lsn l = 0;
  ASSERT_TRUE(ParseLsn("16/B374D848", &l));
  EXPECT_EQ(l, (0x16ull << 32) | 0xB374D848ull);
  ASSERT_TRUE(ParseLsn("0/0", &l));
  EXPECT_EQ(l, 0u);
  EXPECT_FALSE(ParseLsn("", &l));
  EXPECT_FALSE(ParseLsn("16B374D848", &l));
  EXPECT_FALSE(ParseLsn("/1", &l));
  EXPECT_FALSE(ParseLsn("1/", &l));
  EXPECT_FALSE(ParseLsn("1/xyz", &l));
  EXPECT_FALSE(ParseLsn("100000000/0", &l));
}

TEST(ObserveParse, TimelineHistory) {
  auto h = ParseTimelineHistory("1\t0/3000158\tno recovery target specified\n\n"
                                "2\t0/5000000\tno recovery target specified\n# comment\nbad line\n");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].timeline, 1u);
  EXPECT_EQ(h[0].switchLsn, 0x3000158u);
  EXPECT_EQ(h[1].timeline, 2u);
  EXPECT_EQ(h[1].switchLsn, 0x5000000u);
}

TEST(ObserveParse, ConnInfoHostPort) {
  std::string host;
  int port = 0;
  ParseConnInfoHostPort("user=repl passfile=/x host=10.77.0.11 port=5433 application_name=s2", &host, &port);
  EXPECT_EQ(host, "10.77.0.11");
  EXPECT_EQ(port, 5433);
  ParseConnInfoHostPort("host=10.77.0.12", &host, &port);
  EXPECT_EQ(port, 5432);
  ParseConnInfoHostPort("", &host, &port);
  EXPECT_EQ(host, "");
  EXPECT_EQ(port, 0);
  ParseConnInfoHostPort("host='unterminated", &host, &port);
  EXPECT_EQ(host, "");
}

TEST(ObserveParse, SidecarStatus) {
  auto status = web::json::value::parse(R"({
    "node": "server2", "term": 4,
    "postgres": {"running": true, "role": "standby"},
    "operation": {"id": "op-7", "type": "rebuild", "state": "running", "step": "pg_basebackup", "term": 4,
                  "progress": {"doneBytes": 50, "totalBytes": 100, "percent": 50}},
    "components": {"proxy": {"routingGeneration": 9, "paused": true, "inTransaction": 2}}})");
  plan::NodeObservation o;
  EXPECT_EQ(ApplySidecarStatus(status, 1234, &o), "");
  EXPECT_TRUE(o.sidecarReachable);
  EXPECT_EQ(o.sidecarObservedAt, 1234);
  EXPECT_TRUE(o.postgresRunning);
  ASSERT_TRUE(o.operation.has_value());
  EXPECT_EQ(o.operation->kind, plan::OperationKind::kRebuild);
  EXPECT_TRUE(o.OperationRunning());
  EXPECT_EQ(o.operation->progressPercent, 50);
  EXPECT_EQ(o.operation->term, 4u);  // the planner tells a start its own fence stopped by it
  EXPECT_EQ(o.routingGeneration, 9u);
  EXPECT_TRUE(o.proxyPaused);
  EXPECT_EQ(o.proxyInTransaction, 2);
  EXPECT_EQ(o.selfFencedInTerm, 0u);  // no selfFence section
  EXPECT_TRUE(o.pendingRestart.empty());  // no parameters section
  // Restart-only settings changed (the agent's pg_settings.pending_restart).
  status["postgres"]["parameters"] = web::json::value::parse(R"({"count": 2, "pendingRestart": ["max_connections", "shared_buffers"]})");
  EXPECT_EQ(ApplySidecarStatus(status, 1234, &o), "");
  EXPECT_EQ(o.pendingRestart, (std::vector<std::string>{"max_connections", "shared_buffers"}));
  status["postgres"]["parameters"]["pendingRestart"] = web::json::value::array();
  EXPECT_EQ(ApplySidecarStatus(status, 1234, &o), "");
  EXPECT_TRUE(o.pendingRestart.empty()) << "cleared once restarted";
  // Settings the node's PostgreSQL does not run with: refused from
  // pgvigil.conf, or left out of the sidecar's start; each named with why.
  status["postgres"]["parameters"]["errors"] =
      web::json::value::parse(R"([{"name": "log_timezone", "error": "invalid value"}])");
  status["postgres"]["parameters"]["setAside"] = web::json::value::parse(
      R"([{"name": "work_mem", "value": "lots", "reason": "PostgreSQL would not start with it: not an integer"}])");
  EXPECT_EQ(ApplySidecarStatus(status, 1234, &o), "");
  EXPECT_EQ(o.parameterProblems,
            (std::vector<std::string>{"log_timezone: refused from pgvigil.conf: invalid value",
                                      "work_mem = 'lots': set aside at the sidecar's start: PostgreSQL would not "
                                      "start with it: not an integer"}));
  status["postgres"]["parameters"]["errors"] = web::json::value::array();
  status["postgres"]["parameters"]["setAside"] = web::json::value::array();
  EXPECT_EQ(ApplySidecarStatus(status, 1234, &o), "");
  EXPECT_TRUE(o.parameterProblems.empty()) << "cleared once the settings are in use";
  // Kubernetes mode: the term its self-fence was recorded in (null: none).
  status["selfFence"] = web::json::value::parse(R"({"enabled": true, "fenced": true, "fencedInTerm": 3})");
  EXPECT_EQ(ApplySidecarStatus(status, 1235, &o), "");
  EXPECT_EQ(o.selfFencedInTerm, 3u);
  status["selfFence"]["fencedInTerm"] = web::json::value::null();
  EXPECT_EQ(ApplySidecarStatus(status, 1236, &o), "");
  EXPECT_EQ(o.selfFencedInTerm, 0u);
  // Not a sidecar status: refused with a reason, nothing claimed.
  plan::NodeObservation o2;
  EXPECT_NE(ApplySidecarStatus(web::json::value::parse(R"({"error":"x"})"), 1, &o2), "");
  EXPECT_FALSE(o2.sidecarReachable);
}

TEST(ObserveParse, WatchdogView) {
  auto d = web::json::value::parse(R"({
    "node": "server1", "state": "LEADER", "term": 7, "leader": "server1", "quorum": true,
    "leaderWithQuorum": true,
    "members": [{"name": "server1", "state": "LEADER"}, {"name": "server2", "state": "STANDBY"},
                {"name": "server3", "state": "LOST"}],
    "backends": [{"node": "server1", "up": 2, "down": 0, "live": 2, "consensusDown": false},
                 {"node": "server3", "up": 0, "down": 2, "live": 2, "consensusDown": true}]})");
  plan::WatchdogView w = ParseWatchdogView(d, 99);
  EXPECT_EQ(w.leader, "server1");
  EXPECT_EQ(w.term, 7u);
  EXPECT_TRUE(w.quorum);
  EXPECT_EQ(w.liveMembers, 2);
  EXPECT_EQ(w.backends["server3"].seeDown, 2);
  EXPECT_EQ(w.backends["server1"].seeUp, 2);
  EXPECT_FALSE(w.writeLeasesKnown);  // an older sidecar: no failover waits for a lease

  // Write leases as a leader reports them (self-fencing gate).
  auto with = web::json::value::parse(R"({"members": [
    {"name": "server1", "state": "LEADER", "self": true, "writeLease": true},
    {"name": "server2", "state": "STANDBY", "writeLeaseOver": false},
    {"name": "server3", "state": "LOST", "writeLeaseOver": true}]})");
  plan::WatchdogView l = ParseWatchdogView(with, 99);
  EXPECT_TRUE(l.writeLeasesKnown);
  EXPECT_TRUE(l.WriteLeaseOver("server3"));
  EXPECT_FALSE(l.WriteLeaseOver("server2"));
  EXPECT_FALSE(l.WriteLeaseOver("server1"));
}

// One member's own view of another (§6 (i) without a leader, promote_check.h).
TEST(ObserveParse, MemberHeardFromAFollowersWatchdogBody) {
  auto d = web::json::value::parse(R"({"state": "STANDBY", "members": [
    {"name": "demo-0", "state": "LOST", "lastHeardMs": 1730},
    {"name": "demo-1", "state": "STANDBY", "self": true, "lastHeardMs": 0},
    {"name": "demo-2", "state": "STANDBY", "lastHeardMs": null},
    {"name": "demo-3", "state": "STANDBY"}],
    "backends": [{"node": "demo-0", "up": 0, "down": 2, "live": 2, "consensusDown": true}]})");
  MemberHeard h = ParseMemberHeard(d, "demo-0");
  EXPECT_TRUE(h.reported);
  ASSERT_TRUE(h.lastHeardMs.has_value());
  EXPECT_EQ(*h.lastHeardMs, 1730);
  EXPECT_EQ(h.seeDown, 2);
  MemberHeard never = ParseMemberHeard(d, "demo-2");  // null: never heard since its start
  EXPECT_TRUE(never.reported);
  EXPECT_FALSE(never.lastHeardMs.has_value());
  EXPECT_EQ(never.seeDown, -1);  // no backends entry
  EXPECT_FALSE(ParseMemberHeard(d, "demo-3").reported);  // no lastHeardMs: an older sidecar
  EXPECT_FALSE(ParseMemberHeard(d, "demo-9").reported);  // not a member it knows
  EXPECT_FALSE(ParseMemberHeard(web::json::value::parse(R"({"members": 3})"), "demo-0").reported);
}

TEST(StateCodec, RoundTripAndRefusals) {
  plan::ClusterState s;
  s.version = 5;
  s.primary = "server2";
  s.timeline = 3;
  s.routingGeneration = 11;
  s.routedPrimary = "server2";
  s.routedStandbys = {"server3"};
  s.synchronousStandbys = {"server3"};
  s.synchronousCount = 1;
  s.fenced = {"server1"};
  s.transition.kind = plan::TransitionKind::kSwitchover;
  s.transition.from = "server1";
  s.transition.to = "server2";
  s.transition.step = plan::TransitionStep::kStopping;
  s.transition.stopLsn = 0x5000000;
  web::json::value doc = EncodeClusterState(s);
  EXPECT_LE(doc.serialize().size(), 1024u) << "must fit the watchdog register";
  auto back = DecodeClusterState(web::json::value::parse(doc.serialize()));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(*back == s);
  EXPECT_TRUE(DecodeClusterState(web::json::value::null()).ok());
  EXPECT_EQ(DecodeClusterState(web::json::value::null())->primary, "");
  auto future = DecodeClusterState(web::json::value::parse(R"({"f": 2, "p": "x"})"));
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.error().find("format 2"), std::string::npos);
  EXPECT_FALSE(DecodeClusterState(web::json::value::parse(R"({"f": 1, "p": 3})")).ok());
}

// postgres.dataDirectoryRole: what a stopped node's data directory is; an
// older sidecar (no field) and an unknown word read as unknown.
TEST(ObserveParse, SidecarDataDirectoryRole) {
  struct Case {
    const char* postgres;
    plan::DataDirectoryRole role;
  };
  const Case cases[] = {
      {R"({"running": false, "dataDirectoryRole": "primary"})", plan::DataDirectoryRole::kPrimary},
      {R"({"running": false, "dataDirectoryRole": "standby"})", plan::DataDirectoryRole::kStandby},
      {R"({"running": false})", plan::DataDirectoryRole::kUnknown},
      {R"({"running": false, "dataDirectoryRole": "replica"})", plan::DataDirectoryRole::kUnknown},
      {R"({"running": false, "dataDirectoryRole": 1})", plan::DataDirectoryRole::kUnknown},
  };
  for (const Case& c : cases) {
    plan::NodeObservation o;
    o.dataDirectoryRole = plan::DataDirectoryRole::kStandby;  // from an earlier status
    auto status = web::json::value::parse(std::string(R"({"postgres": )") + c.postgres + "}");
    ASSERT_EQ(ApplySidecarStatus(status, 7, &o), "") << c.postgres;
    EXPECT_EQ(o.dataDirectoryRole, c.role) << c.postgres;
  }
}

}  // namespace
}  // namespace pgvigil

namespace pgvigil {
namespace {

plan::NodeObservation Seen(const std::string& name, bool pg_up, bool sidecar_up,
                           std::map<std::string, bool> view) {
  plan::NodeObservation o;
  o.name = name;
  o.pgReachable = pg_up;
  o.sidecarReachable = sidecar_up;
  o.healthView = std::move(view);
  return o;
}

TEST(StandaloneHealth, CrashedPrimaryIsDownByConsensus) {
  plan::Observation obs;
  obs.nodes = {Seen("a", false, true, {{"a", false}, {"b", true}, {"c", true}}),
               Seen("b", true, true, {{"a", false}, {"b", true}, {"c", true}}),
               Seen("c", true, true, {{"a", false}, {"b", true}, {"c", true}})};
  plan::WatchdogView w = StandaloneHealthView(obs, 5);
  EXPECT_EQ(w.liveMembers, 4);  // three sidecars and the controller
  EXPECT_EQ(w.backends["a"].seeDown, 4);
  EXPECT_EQ(w.backends["b"].seeUp, 4);
  EXPECT_TRUE(w.quorum);
}

TEST(StandaloneHealth, OneObserversTroubleIsNoConsensus) {
  // Only the controller and sidecar c fail to reach a (e.g. c's link is flaky).
  plan::Observation obs;
  obs.nodes = {Seen("a", false, true, {{"a", true}}), Seen("b", true, true, {{"a", true}}),
               Seen("c", true, true, {{"a", false}})};
  plan::WatchdogView w = StandaloneHealthView(obs, 5);
  EXPECT_EQ(w.backends["a"].seeDown, 2);
  EXPECT_FALSE(w.backends["a"].seeDown * 2 > w.liveMembers);
}

TEST(StandaloneHealth, ParsesTheSidecarsHealthView) {
  plan::NodeObservation o;
  auto status = web::json::value::parse(
      R"({"postgres": {"running": true, "dataDirectoryInitialized": false},
          "backends": [{"node": "a", "up": false, "lastCheck": "2026-11-26T01:42:00Z"},
                       {"node": "b", "up": true, "lastCheck": "2026-11-26T01:42:00Z"},
                       {"up": true, "lastCheck": "2026-11-26T01:42:00Z"},
                       {"node": "c", "up": false, "lastCheck": ""}]})");
  ASSERT_EQ(ApplySidecarStatus(status, 7, &o), "");
  EXPECT_FALSE(o.dataDirectoryInitialized);
  // c is not checked yet (a sidecar that just started): not counted as down.
  EXPECT_EQ(o.healthView.count("c"), 0u);
  ASSERT_EQ(o.healthView.size(), 2u);
  EXPECT_FALSE(o.healthView["a"]);
  EXPECT_TRUE(o.healthView["b"]);
}

}  // namespace
}  // namespace pgvigil
