// The status an operator reads: JSON survives the trip controller -> vigilctl,
// garbage is refused with a reason, and the node table has show pool_nodes' columns.
#include "controller/status/cluster_status.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

ClusterStatus Sample() {
  ClusterStatus s;
  s.cluster = "lab";
  s.phase = "Healthy";
  s.primary = "server1";
  s.timeline = 3;
  s.routingGeneration = 7;
  s.term = 12;
  s.controller = "server2";
  s.acting = true;
  s.summary = "server3: rebuild running (basebackup, 42%)";
  s.synchronousStandbys = {"server2", "server3"};
  s.synchronousCount = 1;
  NodeStatus n1{"server1", "10.77.0.11", 5432, "primary", "primary", "up", "up", 1, 10, false, 0,
                "", "", "", 3, "2026-11-25T19:00:00Z", "0/3000060", /*pendingRestart=*/{},
                /*parameterProblems=*/{}};
  NodeStatus n2{"server2", "10.77.0.12", 5432, "standby", "standby", "up", "up", 1, 99, true, 128,
                "streaming", "async", "server1", 3, "2026-11-25T19:00:01Z", /*lsn=*/"",
                /*pendingRestart=*/{}, /*parameterProblems=*/{}};
  NodeStatus n3{"server3", "10.77.0.13", 5432, "standby", "unknown", "down", "down", 1, 0, false,
                -1, "", "", "", 0, "2026-11-25T19:00:02Z", /*lsn=*/"", /*pendingRestart=*/{},
                /*parameterProblems=*/{}};
  s.nodes = {n1, n2, n3};
  s.watchdogLeader = "server2";
  s.watchdogQuorum = true;
  s.vipAddress = "10.77.0.150/24";
  s.vipHolder = "server2";
  s.watchdogMembers = {{"server1", "10.77.0.11:9000", "STANDBY"}, {"server2", "10.77.0.12:9000", "LEADER"}};
  s.operations = {{"server3", "op-1", "rebuild", "running", "basebackup", 42.5, ""}};
  s.events = {{"2026-11-25T19:00:02Z", "rebuild", "server3", "node is down and recovery.automatic is on"}};
  return s;
}

TEST(ClusterStatus, JsonRoundTrip) {
  ClusterStatus s = Sample();
  auto back = ClusterStatusFromJson(web::json::value::parse(ToJson(s).serialize()));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(ToJson(*back).serialize(), ToJson(s).serialize());
  EXPECT_EQ(back->nodes[2].lagBytes, -1);
  EXPECT_EQ(back->nodes[0].lsn, "0/3000060");
  EXPECT_EQ(back->nodes[2].lsn, "");
  EXPECT_DOUBLE_EQ(back->operations[0].percent, 42.5);
  EXPECT_EQ(back->synchronousStandbys, (std::vector<std::string>{"server2", "server3"}));
  EXPECT_EQ(back->synchronousCount, 1);
  EXPECT_EQ(back->summary, s.summary);
  EXPECT_FALSE(ToJson(s).at("nodes").at(0).has_field("pendingRestart")) << "only when not empty";
  s.nodes[1].pendingRestart = {"shared_buffers"};
  auto pending = ClusterStatusFromJson(web::json::value::parse(ToJson(s).serialize()));
  ASSERT_TRUE(pending.ok()) << pending.error();
  EXPECT_EQ(pending->nodes[1].pendingRestart, (std::vector<std::string>{"shared_buffers"}));
}

TEST(ClusterStatus, RefusesSomethingElse) {
  auto r = ClusterStatusFromJson(web::json::value::parse(R"({"error":"nope"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("phase"), std::string::npos);
}

TEST(ClusterStatus, PoolNodesHasPgpoolColumnsAndOneRowPerNode) {
  std::string t = RenderPoolNodes(Sample());
  EXPECT_EQ(t.find(" node_id | hostname"), 0u) << t;
  for (const char* col : {"status", "pg_status", "lb_weight", "role", "pg_role", "select_cnt",
                          "load_balance_node", "replication_delay", "replication_state",
                          "replication_sync_state", "last_status_change"})
    EXPECT_NE(t.find(col), std::string::npos) << col;
  EXPECT_NE(t.find(" 1       | 10.77.0.12 | 5432 | up     | up        | 1         | standby"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("(3 rows)"), std::string::npos);
}

TEST(ClusterStatus, TableShowsPhaseWatchdogAndProgress) {
  std::string t = RenderStatusTable(Sample());
  EXPECT_NE(t.find("phase:      Healthy"), std::string::npos) << t;
  EXPECT_NE(t.find("leader server2, quorum, VIP 10.77.0.150/24 on server2"), std::string::npos) << t;
  EXPECT_NE(t.find("server3 rebuild running basebackup 42%"), std::string::npos) << t;
  EXPECT_NE(t.find("synchronous: 1 of server2, server3 (recorded)"), std::string::npos) << t;
  EXPECT_NE(t.find("summary:    server3: rebuild running"), std::string::npos) << t;
  ClusterStatus lost = Sample();
  lost.watchdogQuorum = false;
  EXPECT_NE(RenderStatusTable(lost).find("NO QUORUM"), std::string::npos);
}

TEST(ClusterStatus, StandaloneWithoutVipSaysSo) {
  ClusterStatus s = Sample();
  ClusterSpec spec;
  spec.watchdog.enabled = false;
  AddSpecFacts(spec, &s);
  EXPECT_FALSE(s.watchdogEnabled);
  EXPECT_EQ(s.vipAddress, "");
  EXPECT_EQ(s.vipHolder, "");
  std::string t = RenderStatusTable(s);
  EXPECT_NE(t.find("watchdog:   disabled (standalone controller), no VIP configured"), std::string::npos)
      << t;
  EXPECT_EQ(t.find("(nobody)"), std::string::npos) << t;
  auto back = ClusterStatusFromJson(web::json::value::parse(ToJson(s).serialize()));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->watchdogEnabled);
  // A status from a controller that does not send "enabled" reads as a watchdog cluster.
  auto old = ClusterStatusFromJson(web::json::value::parse(
      R"({"phase":"Healthy","nodes":[],"watchdog":{"leader":"a","quorum":true}})"));
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->watchdogEnabled);
}

// A node whose PostgreSQL does not run with some of the spec's settings: the
// JSON carries them (and reads back), the table lists them under the nodes.
TEST(ClusterStatus, ParametersNotInUseAreShown) {
  ClusterStatus s = Sample();
  EXPECT_EQ(RenderStatusTable(s).find("postgres.parameters not in use"), std::string::npos);
  EXPECT_FALSE(ToJson(s).at("nodes").at(0).has_field("parameterProblems"));
  s.nodes[1].parameterProblems = {"work_mem = 'lots': set aside at the sidecar's start: not an integer"};
  const std::string t = RenderStatusTable(s);
  EXPECT_NE(t.find("postgres.parameters not in use:\n  " + s.nodes[1].name +
                   " work_mem = 'lots': set aside at the sidecar's start: not an integer\n"),
            std::string::npos)
      << t;
  auto back = ClusterStatusFromJson(web::json::value::parse(ToJson(s).serialize()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->nodes[1].parameterProblems, s.nodes[1].parameterProblems);
  EXPECT_TRUE(back->nodes[0].parameterProblems.empty());
}

// The sidecar's GET /v1/watchdog body (common/watchdog_detail.h).
TEST(ClusterStatus, VipHolderAndMembersFromTheWatchdogDetail) {
  ClusterStatus s = Sample();
  s.vipHolder.clear();
  s.watchdogMembers.clear();
  auto add = [&s](const web::json::value& body) {
    auto d = WatchdogDetailFromJson(body);
    if (d.ok()) AddWatchdogDetail(*d, &s);
    return d.ok();
  };
  add(web::json::value::parse(R"({
    "state": "STANDBY", "term": 4, "leader": "server3", "quorum": true, "node": "server1",
    "leaderWithQuorum": true,
    "vip": {"address": "10.77.0.150/24", "holder": "server3", "heldHere": false},
    "members": [
      {"name": "server1", "host": "10.77.0.11", "heartbeatPort": 9694, "state": "STANDBY", "self": true},
      {"name": "server2", "host": "10.77.0.12", "heartbeatPort": 9694, "state": "SHUTDOWN"},
      {"name": "server3", "host": "10.77.0.13", "heartbeatPort": 9694, "state": "LEADER"}]})"));
  EXPECT_EQ(s.vipHolder, "server3");
  ASSERT_EQ(s.watchdogMembers.size(), 3u);
  EXPECT_EQ(s.watchdogMembers[1].name, "server2");
  EXPECT_EQ(s.watchdogMembers[1].address, "10.77.0.12:9694");
  EXPECT_EQ(s.watchdogMembers[1].state, "SHUTDOWN");
  std::string t = RenderStatusTable(s);
  EXPECT_NE(t.find("VIP 10.77.0.150/24 on server3"), std::string::npos) << t;
  EXPECT_NE(t.find("  server2 10.77.0.12:9694 SHUTDOWN"), std::string::npos) << t;
  // Nothing usable: unchanged.
  EXPECT_FALSE(add(web::json::value::null()));
  EXPECT_FALSE(add(web::json::value::parse(R"({"error": "the watchdog is disabled on this node"})")));
  EXPECT_EQ(s.vipHolder, "server3");
  EXPECT_EQ(s.watchdogMembers.size(), 3u);
}

// Each proxy counts what it balanced; the cluster's select_cnt is the sum.
TEST(ClusterStatus, SelectCountIsTheSumOverTheProxies) {
  ClusterStatus s = Sample();
  auto body = [](const char* c1, const char* c2) {
    return web::json::value::parse(std::string(R"({"nodes": [
      {"node_id": "0", "hostname": "10.77.0.11", "port": "5432", "select_cnt": "0"},
      {"node_id": "1", "hostname": "10.77.0.12", "port": "5432", "select_cnt": ")") + c1 + R"("},
      {"node_id": "2", "hostname": "10.77.0.13", "port": "5432", "select_cnt": ")" + c2 + R"("}]})");
  };
  AddProxySelectCounts({body("5", "1"), body("7", "0"), web::json::value::null(),
                        web::json::value::parse(R"({"error": "the proxy is disabled on this node"})"),
                        body("junk", "2")},
                       &s);
  EXPECT_EQ(s.nodes[0].selectCount, 0u);
  EXPECT_EQ(s.nodes[1].selectCount, 12u);
  EXPECT_EQ(s.nodes[2].selectCount, 3u);
  EXPECT_NE(RenderPoolNodes(s).find("| 12 "), std::string::npos) << RenderPoolNodes(s);
}

TEST(ClusterStatus, MetricsFollowTheStatus) {
  MetricsRegistry m;
  ClusterStatus s = Sample();
  UpdateStatusMetrics(s, m);
  EXPECT_EQ(m.Value("pgvigil_cluster_phase", "phase=\"Healthy\""), 1);
  EXPECT_EQ(m.Value("pgvigil_cluster_phase", "phase=\"Failing over\""), 0);
  EXPECT_EQ(m.Value("pgvigil_cluster_routing_generation"), 7);
  EXPECT_EQ(m.Value("pgvigil_node_primary", "node=\"server1\""), 1);
  EXPECT_EQ(m.Value("pgvigil_node_streaming", "node=\"server2\""), 1);
  EXPECT_EQ(m.Value("pgvigil_node_up", "node=\"server3\""), 0);
  EXPECT_EQ(m.Value("pgvigil_node_lag_bytes", "node=\"server3\""), -1);
  EXPECT_EQ(m.Value("pgvigil_cluster_operations_running"), 1);
  s.phase = "Failing over";
  s.primary = "server2";
  UpdateStatusMetrics(s, m);
  EXPECT_EQ(m.Value("pgvigil_cluster_phase", "phase=\"Healthy\""), 0);
  EXPECT_EQ(m.Value("pgvigil_cluster_phase", "phase=\"Failing over\""), 1);
  EXPECT_EQ(m.Value("pgvigil_node_primary", "node=\"server1\""), 0);
  EXPECT_EQ(m.Value("pgvigil_node_primary", "node=\"server2\""), 1);
  EXPECT_NE(m.Render().find("pgvigil_node_primary{node=\"server2\"} 1"), std::string::npos) << m.Render();
}

}  // namespace
}  // namespace pgvigil
