// Table tests for the effective routing table and the weighted standby choice.
#include "sidecar/proxy/routing.h"

#include <gtest/gtest.h>

namespace pgvigil::proxy {
namespace {

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

}  // namespace
}  // namespace pgvigil::proxy
