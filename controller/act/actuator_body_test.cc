// The bodies the controller sends and stores: the routing table the agent's
// PUT /v1/proxy/routing parses, and the cluster state kept in the watchdog's
// 1024-byte register. Pure.
#include <gtest/gtest.h>

#include "controller/act/actuator.h"
#include "controller/act/state_codec.h"
#include "sidecar/agent/peer_requests.h"

namespace pgvigil {
namespace {

ClusterSpec ThreeNodes() {
  ClusterSpec spec;
  spec.postgres.port = 5432;
  for (int i = 1; i <= 3; ++i) {
    NodeSpec n;
    n.name = "server" + std::to_string(i);
    n.host = "10.77.0." + std::to_string(10 + i);
    spec.nodes.push_back(n);
  }
  spec.nodes[2].port = 5433;
  return spec;
}

TEST(ActuatorBody, RoutingBodyIsWhatTheAgentParses) {
  ClusterSpec spec = ThreeNodes();
  spec.nodes[0].weight = 2;
  plan::Action a;
  a.kind = plan::ActionKind::kPublishRouting;
  a.generation = 7;
  a.primary = "server1";
  a.standbys = {{"server3", 4}};
  a.excluded = {"server2"};
  const web::json::value body = ToJson(RoutingPublish{3, {a.generation, a.primary, RoutingNodes(spec, a)}});

  uint64_t term = 0;
  RoutingTable table;
  RequestError error;
  ASSERT_TRUE(ParseRoutingRequest(body.serialize(), &term, &table, &error)) << error.reason;
  EXPECT_EQ(term, 3u);
  EXPECT_EQ(table.generation, 7u);
  EXPECT_EQ(table.primary, "server1");
  ASSERT_EQ(table.nodes.size(), 3u);
  EXPECT_TRUE(table.nodes[0].up);
  EXPECT_EQ(table.nodes[0].weight, 2);
  EXPECT_EQ(table.nodes[0].host, "10.77.0.11");
  EXPECT_FALSE(table.nodes[1].up) << "an excluded node is routed nowhere";
  EXPECT_TRUE(table.nodes[2].up);
  EXPECT_EQ(table.nodes[2].weight, 4);
  EXPECT_EQ(table.nodes[2].port, 5433);
}

TEST(ActuatorBody, NoLoadBalancePrimaryServesNoBalancedReads) {
  ClusterSpec spec = ThreeNodes();
  spec.nodes[0].noLoadBalance = true;
  plan::Action a;
  a.primary = "server1";
  const std::vector<RouteNode> nodes = RoutingNodes(spec, a);
  EXPECT_EQ(nodes[0].weight, 0);
  EXPECT_TRUE(nodes[0].up);
  EXPECT_FALSE(nodes[1].up);
}

TEST(StateCodec, FullStateRoundTripsWithinTheRegisterLimit) {
  plan::ClusterState s;
  s.version = 41;
  s.primary = "server-number-two";
  s.timeline = 9;
  s.routingGeneration = 1234567;
  s.routedPrimary = "server-number-two";
  s.routedStandbys = {"server-number-one", "server-number-three"};
  s.routedWeights = {1, 5};
  s.synchronousStandbys = {"server-number-one", "server-number-three"};
  s.synchronousCount = 1;
  s.syncShrinkLsn = 0x16B374D848;
  s.fenced = {"server-number-four"};
  s.detached = {"server-number-five"};
  s.transition.kind = plan::TransitionKind::kSwitchover;
  s.transition.from = "server-number-one";
  s.transition.to = "server-number-two";
  s.transition.step = plan::TransitionStep::kStopping;
  s.transition.startedAt = 1764111111111;
  s.transition.stopLsn = 0x16B374D000;
  s.switchoverBackoffUntil = 1764111222222;
  web::json::value doc = EncodeClusterState(s);
  EXPECT_LE(doc.serialize().size(), 1024u);
  auto back = DecodeClusterState(web::json::value::parse(doc.serialize()));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(*back == s);
}

TEST(StateCodec, RefusesOtherFormatsAndWrongTypes) {
  auto other = DecodeClusterState(web::json::value::parse(R"({"f": 2, "p": "a"})"));
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().find("format 2"), std::string::npos);
  auto wrong = DecodeClusterState(web::json::value::parse(R"({"f": 1, "rw": ["x"]})"));
  EXPECT_FALSE(wrong.ok());
  auto empty = DecodeClusterState(web::json::value::null());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->primary.empty());
}

}  // namespace
}  // namespace pgvigil
