// Table tests for the effective routing table and the weighted standby choice.
#include "sidecar/proxy/routing.h"

#include <gtest/gtest.h>

#include "common/cluster_state_doc.h"

namespace pgvigil::proxy {
namespace {

using web::json::value;

BackendHealth H(const std::string& node, bool up, BackendRole role, uint64_t lag = 0) {
  BackendHealth h;
  h.node = node;
  h.up = up;
  h.role = role;
  h.replayLagBytes = lag;
  h.lastCheck = std::chrono::system_clock::now();
  return h;
}

RoutingInputs Three() {
  RoutingInputs in;
  in.table.generation = 1;
  in.table.nodes = {{"n0", "127.0.0.1", 5432, 1, true},
                    {"n1", "127.0.0.1", 5433, 1, true},
                    {"n2", "127.0.0.1", 5434, 3, true}};
  in.delayThreshold = 1000;
  return in;
}

TEST(RoutingTest, PrimaryFromHealthWhenNoControllerTable) {
  RoutingInputs in = Three();
  in.health = {H("n0", true, BackendRole::kPrimary), H("n1", true, BackendRole::kStandby),
               H("n2", true, BackendRole::kStandby)};
  EffectiveRouting r = ComputeRouting(in);
  EXPECT_EQ(r.primary, 0);
  EXPECT_FALSE(r.nodes[0].lbEligible);
  EXPECT_TRUE(r.nodes[1].lbEligible);
  EXPECT_TRUE(r.nodes[2].lbEligible);
}

// Each standby's sync_state is the one the intended primary reports for it,
// and none when that primary is down or not a primary (a standby's own
// walsenders, cascading, say nothing of the cluster's synchronous standby).
TEST(RoutingTest, SyncStateIsTheIntendedPrimarys) {
  RoutingInputs in = Three();
  in.health = {H("n0", true, BackendRole::kPrimary), H("n1", true, BackendRole::kStandby),
               H("n2", true, BackendRole::kStandby)};
  in.health[0].replicas = {{"n1", "streaming", "sync"}, {"n2", "streaming", "potential"}, {"other", "", "async"}};
  in.health[1].replicas = {{"n2", "streaming", "async"}};
  EffectiveRouting r = ComputeRouting(in);
  EXPECT_EQ(r.nodes[0].syncState, "");
  EXPECT_EQ(r.nodes[1].syncState, "sync");
  EXPECT_EQ(r.nodes[2].syncState, "potential");
  EffectiveRouting before = r;
  in.health[0].replicas[1].syncState = "async";
  r = ComputeRouting(in);
  EXPECT_EQ(r.nodes[2].syncState, "async");
  EXPECT_FALSE(SameRouting(before, r));  // a change of sync state is published
  in.health[0].up = false;
  r = ComputeRouting(in);
  EXPECT_EQ(r.nodes[1].syncState, "");
  EXPECT_EQ(r.nodes[2].syncState, "");
}

// The walsender state (replication_state) comes the same way as sync_state.
TEST(RoutingTest, WalStateIsTheIntendedPrimarys) {
  RoutingInputs in = Three();
  in.health = {H("n0", true, BackendRole::kPrimary), H("n1", true, BackendRole::kStandby),
               H("n2", true, BackendRole::kStandby)};
  in.health[0].replicas = {{"n1", "catchup", "async"}};
  EffectiveRouting r = ComputeRouting(in);
  EXPECT_EQ(r.nodes[0].walState, "");
  EXPECT_EQ(r.nodes[1].walState, "catchup");
  EXPECT_EQ(r.nodes[2].walState, "");  // not listed: not connected
  EffectiveRouting before = r;
  in.health[0].replicas[0].state = "streaming";
  r = ComputeRouting(in);
  EXPECT_EQ(r.nodes[1].walState, "streaming");
  EXPECT_FALSE(SameRouting(before, r));
  in.health[0].up = false;
  r = ComputeRouting(in);
  EXPECT_EQ(r.nodes[1].walState, "");
}

TEST(RoutingTest, FailsClosed) {
  struct Case {
    const char* name;
    std::vector<BackendHealth> health;
    bool controller;
    std::string primary;
    const char* reason;
  } cases[] = {
      {"no health", {}, false, "", "no node confirmed as primary by health checks"},
      {"two primaries",
       {H("n0", true, BackendRole::kPrimary), H("n1", true, BackendRole::kPrimary)}, false, "",
       "more than one node reports itself primary"},
      {"controller primary in recovery", {H("n0", true, BackendRole::kStandby)}, true, "n0",
       "primary n0 is in recovery"},
      {"controller primary down", {H("n0", false, BackendRole::kPrimary)}, true, "n0",
       "primary n0 is down"},
      {"controller names unknown node", {}, true, "n9", "primary not in routing table"},
      {"controller names none", {}, true, "", "no primary in routing table"},
  };
  for (const auto& c : cases) {
    RoutingInputs in = Three();
    in.health = c.health;
    in.fromController = c.controller;
    in.table.primary = c.primary;
    EffectiveRouting r = ComputeRouting(in);
    EXPECT_EQ(r.primary, -1) << c.name;
    EXPECT_EQ(r.noPrimaryReason, c.reason) << c.name;
  }
}

TEST(RoutingTest, ControllerPrimaryWithoutHealthIsTrusted) {
  RoutingInputs in = Three();
  in.fromController = true;
  in.table.primary = "n1";
  EffectiveRouting r = ComputeRouting(in);
  EXPECT_EQ(r.primary, 1);
  EXPECT_EQ(r.intendedPrimary, "n1");
  EXPECT_TRUE(r.nodes[0].lbEligible);
}

TEST(RoutingTest, StandbyEligibility) {
  RoutingInputs in = Three();
  in.table.nodes.push_back({"n3", "127.0.0.1", 5435, 0, true});
  in.table.nodes.push_back({"n4", "127.0.0.1", 5436, 1, false});
  in.health = {H("n0", true, BackendRole::kPrimary), H("n1", true, BackendRole::kStandby, 5000),
               H("n2", false, BackendRole::kStandby)};
  EffectiveRouting r = ComputeRouting(in);
  EXPECT_EQ(r.nodes[1].why, "replication lag 5000 bytes over threshold");
  EXPECT_EQ(r.nodes[2].why, "down");
  EXPECT_EQ(r.nodes[3].why, "weight 0");
  EXPECT_EQ(r.nodes[4].why, "down");
  EXPECT_EQ(ChooseStandby(r, 0.5), -1);
  in.delayThreshold = 0;  // no lag check
  EXPECT_EQ(ChooseStandby(ComputeRouting(in), 0.5), 1);
  in.loadBalance = false;
  EXPECT_EQ(ChooseStandby(ComputeRouting(in), 0.5), -1);
}

TEST(RoutingTest, WeightedChoice) {
  RoutingInputs in = Three();
  in.health = {H("n0", true, BackendRole::kPrimary), H("n1", true, BackendRole::kStandby),
               H("n2", true, BackendRole::kStandby)};
  EffectiveRouting r = ComputeRouting(in);
  // weights n1=1, n2=3: [0,0.25) -> n1, [0.25,1) -> n2
  EXPECT_EQ(ChooseStandby(r, 0.0), 1);
  EXPECT_EQ(ChooseStandby(r, 0.24), 1);
  EXPECT_EQ(ChooseStandby(r, 0.25), 2);
  EXPECT_EQ(ChooseStandby(r, 0.99), 2);
  EXPECT_EQ(ChooseStandby(r, 0.1, {false, true, false}), 2);
  EXPECT_EQ(ChooseStandby(r, 0.1, {false, true, true}), -1);
}


// Split brain: a proxy whose watchdog member is cut off from the quorum, or whose
// table the cluster state has moved past, must not send writes to its table's primary.
TEST(RoutingTest, WriteFenceFailsClosedAndFlagsIt) {
  RoutingInputs in = Three();
  in.fromController = true;
  in.table.primary = "n0";
  in.health = {H("n0", true, BackendRole::kPrimary), H("n1", true, BackendRole::kStandby),
               H("n2", true, BackendRole::kStandby)};
  EffectiveRouting ok = ComputeRouting(in);
  EXPECT_EQ(ok.primary, 0);
  EXPECT_FALSE(ok.writesFenced);
  in.writeFence = "this member has no watchdog quorum (cut off from the cluster?)";
  EffectiveRouting r = ComputeRouting(in);
  EXPECT_EQ(r.primary, -1);
  EXPECT_TRUE(r.writesFenced);
  EXPECT_EQ(r.noPrimaryReason, in.writeFence);
  EXPECT_TRUE(r.nodes[1].lbEligible);  // reads still balanced
}

TEST(RoutingTest, WriteFenceReason) {
  RoutingTable t;
  t.generation = 3;
  t.primary = "n0";
  FenceInputs f;
  EXPECT_EQ(WriteFenceReason(f, t, true), "");  // no watchdog: nothing to go by
  f.watchdogEnabled = true;
  EXPECT_NE(WriteFenceReason(f, t, true).find("no watchdog quorum"), std::string::npos);
  f.quorum = true;
  EXPECT_NE(WriteFenceReason(f, t, true).find("no live watchdog leader"), std::string::npos);
  f.leader = "n1";
  EXPECT_EQ(WriteFenceReason(f, t, true), "");
  // Just rejoined: until the leader's round shows this member's register copy is
  // current, the table in effect may be one a failover has since replaced.
  f.registerCurrent = false;
  EXPECT_NE(WriteFenceReason(f, t, true).find("not yet in sync with leader n1"), std::string::npos);
  EXPECT_NE(WriteFenceReason(f, t, false), "");
  f.registerCurrent = true;
  // The register agrees (same or older generation, same primary): no fence.
  f.haveRegister = true;
  f.registerGeneration = 3;
  f.registerPrimary = "n0";
  EXPECT_EQ(WriteFenceReason(f, t, true), "");
  f.registerGeneration = 4;  // a newer generation with the same primary (a standby added)
  EXPECT_EQ(WriteFenceReason(f, t, true), "");
  // Failover decided (written before it is published): this table is stale.
  f.registerGeneration = 6;
  f.registerPrimary = "n1";
  EXPECT_NE(WriteFenceReason(f, t, true).find("names 'n1'"), std::string::npos);
  f.registerPrimary = "";  // "primary none (writes fail closed)" step of a failover
  EXPECT_NE(WriteFenceReason(f, t, true), "");
  t.generation = 6;  // caught up: the new table is in effect
  t.primary = "n1";
  f.registerPrimary = "n1";
  EXPECT_EQ(WriteFenceReason(f, t, true), "");
  f.registerFenced = {"n1"};
  EXPECT_NE(WriteFenceReason(f, t, true).find("fenced"), std::string::npos);
  // Spec-derived table (no controller table yet): only the quorum rule applies.
  EXPECT_EQ(WriteFenceReason(f, t, false), "");
  f.quorum = false;
  EXPECT_NE(WriteFenceReason(f, t, false), "");
}

// The fence reads the controller's cluster-state document (common/cluster_state_doc.h)
// with the contract's reader: what the controller writes fences as before; a
// document whose rg, rp or fe (or format) cannot be read fails writes closed,
// never open; a garbled field the fence does not read changes nothing.
TEST(RoutingTest, WriteFenceReadsTheClusterStateDocument) {
  RoutingTable t;
  t.generation = 3;
  t.primary = "n0";
  FenceInputs base;
  base.watchdogEnabled = true;
  base.quorum = true;
  base.leader = "n1";
  auto reason = [&](const value& doc, bool fromController = true) {
    FenceInputs f = base;
    FenceFromClusterState(doc, &f);
    return WriteFenceReason(f, t, fromController);
  };
  ClusterStateDoc d;
  d.routingGeneration = 3;
  d.routedPrimary = "n0";
  d.routedStandbys = {"n1"};
  EXPECT_EQ(reason(value::null()), "");  // never written
  EXPECT_EQ(reason(ToJson(d)), "");
  {
    FenceInputs f = base;
    FenceFromClusterState(ToJson(d), &f);
    EXPECT_TRUE(f.haveRegister);
    EXPECT_EQ(f.registerGeneration, 3u);
    EXPECT_EQ(f.registerPrimary, "n0");
  }
  d.routingGeneration = 6;
  d.routedPrimary = "n1";
  EXPECT_NE(reason(ToJson(d)).find("names 'n1'"), std::string::npos);
  d.routingGeneration = 3;
  d.routedPrimary = "n0";
  d.fenced = {"n0"};
  EXPECT_NE(reason(ToJson(d)).find("primary n0 is fenced"), std::string::npos);

  const char* unreadable[] = {
      R"({"f": 1, "rg": "x", "rp": "n0", "fe": []})",
      R"({"f": 1, "rg": 1e300, "rp": "n0", "fe": []})",
      R"({"f": 1, "rg": -6, "rp": "n0", "fe": []})",
      R"({"f": 1, "rg": 6.5e19, "rp": "n0", "fe": []})",
      R"({"f": 1, "rg": null, "rp": "n0", "fe": []})",
      R"({"f": 1, "rp": "n0", "fe": []})",
      R"({"f": 1, "rg": 3, "rp": 0, "fe": []})",
      R"({"f": 1, "rg": 3, "fe": []})",
      R"({"f": 1, "rg": 3, "rp": "n0", "fe": "n0"})",
      R"({"f": 1, "rg": 3, "rp": "n0", "fe": [{"name": "n0"}]})",
      R"({"f": 1, "rg": 3, "rp": "n0", "fe": null})",
      R"({"f": 1, "rg": 3, "rp": "n0"})",
      R"({"f": 2, "rg": 3, "rp": "n0", "fe": []})",
      R"({"rg": 3, "rp": "n0", "fe": []})",
      R"({})",
      R"([])",
      R"("n0")",
      R"(3)",
  };
  for (const char* body : unreadable) {
    const std::string why = reason(value::parse(body));
    EXPECT_NE(why.find("cluster state in the watchdog register cannot be read"), std::string::npos)
        << body << ": '" << why << "'";
    EXPECT_EQ(reason(value::parse(body), false), "") << body;  // spec-derived table: the quorum rule only
  }
  // Not the fence's fields: the document fences as the controller wrote it.
  EXPECT_EQ(reason(value::parse(R"({"f": 1, "rg": 3, "rp": "n0", "fe": [], "tr": 7, "bo": "x"})")), "");
  EXPECT_NE(reason(value::parse(R"({"f": 1, "rg": 3, "rp": "n0", "fe": ["n0"], "rw": ["x"]})")).find("fenced"),
            std::string::npos);
}

// Kubernetes mode: the primary's own proxy fails closed once its write lease is
// out (KUBERNETES.md §6); other nodes' proxies and a held lease change nothing.
TEST(RoutingTest, WriteFenceWhenThePrimaryHereLostItsWriteLease) {
  RoutingTable t;
  t.generation = 3;
  t.primary = "demo-0";
  FenceInputs f;
  f.watchdogEnabled = true;
  f.quorum = true;
  f.leader = "demo-1";
  f.self = "demo-0";
  EXPECT_EQ(WriteFenceReason(f, t, true), "");
  f.selfLeaseLost = true;
  EXPECT_NE(WriteFenceReason(f, t, true).find("write lease ran out"), std::string::npos);
  f.self = "demo-2";  // a standby's proxy keeps routing to the primary
  EXPECT_EQ(WriteFenceReason(f, t, true), "");
  f.self = "";  // VM mode: no self given, nothing changes
  EXPECT_EQ(WriteFenceReason(f, t, true), "");
}

}  // namespace
}  // namespace pgvigil::proxy
