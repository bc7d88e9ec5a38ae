// The bodies the controller sends and stores: the routing table the agent's
// PUT /v1/proxy/routing parses, and the cluster state kept in the watchdog's
// 1024-byte register. Pure.
#include <gtest/gtest.h>

#include "controller/act/actuator.h"
#include "controller/act/state_codec.h"
#include "sidecar/agent/op_request.h"
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

// The agent operations' requests (common/node_operation.h) are the bytes the
// actuator built by hand before (TermBody plus fields), and the agent takes them.
TEST(ActuatorBody, OperationRequestsAreTheBytesTheAgentTakes) {
  struct Case {
    plan::ActionKind kind;
    const char* op;
    const char* bytes;
  };
  const Case cases[] = {
      {plan::ActionKind::kPromote, "promote", R"({"term":5})"},
      {plan::ActionKind::kStart, "start", R"({"term":5})"},
      {plan::ActionKind::kStop, "stop", R"({"fenced":true,"mode":"immediate","term":5})"},
      {plan::ActionKind::kFollow, "follow", R"({"fenced":true,"primary":"server2","term":5})"},
      {plan::ActionKind::kRebuild, "rebuild", R"({"fenced":true,"method":"basebackup","primary":"server2","term":5})"},
  };
  for (const Case& c : cases) {
    plan::Action a;
    a.kind = c.kind;
    a.node = "server1";
    a.upstream = "server2";
    a.stopMode = "immediate";
    a.method = RecoveryMethod::kBasebackup;
    const std::string body = ToJson(OperationRequest(a, 5)).serialize();
    EXPECT_EQ(body, c.bytes) << c.op;
    OpRequest r;
    RequestError e;
    EXPECT_TRUE(ParseOpRequest(c.op, body, [](const std::string& n) { return n == "server2"; }, &r, &e))
        << c.op << ": " << e.field << " " << e.reason;
  }
  plan::Action rebuild;
  rebuild.kind = plan::ActionKind::kRebuild;
  rebuild.upstream = "server2";
  rebuild.method = RecoveryMethod::kRewindOrBasebackup;
  EXPECT_EQ(ToJson(OperationRequest(rebuild, 7)).serialize(),
            R"({"fenced":true,"method":"auto","primary":"server2","term":7})");
  EXPECT_EQ(ToJson(TermRequest{7}).serialize(), R"({"term":7})");
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

// The controller's encoder writes the bytes of common/cluster_state_doc_test.cc's
// kSwitchoverBytes (what it wrote before the document was a type in common/).
TEST(StateCodec, WritesTheSameBytesAsBefore) {
  plan::ClusterState s;
  s.version = 42;
  s.primary = "demo-1";
  s.timeline = 3;
  s.routingGeneration = 11;
  s.routedPrimary = "demo-1";
  s.routedStandbys = {"demo-0", "demo-2"};
  s.routedWeights = {1, 5};
  s.synchronousStandbys = {"demo-2"};
  s.synchronousCount = 1;
  s.syncShrinkLsn = 90000000000;
  s.fenced = {"demo-0"};
  s.switchoverBackoffUntil = 1764111222222;
  s.transition.kind = plan::TransitionKind::kSwitchover;
  s.transition.from = "demo-0";
  s.transition.to = "demo-1";
  s.transition.step = plan::TransitionStep::kStopping;
  s.transition.startedAt = 1764111111111;
  s.transition.stopLsn = 89999999000;
  const std::string bytes =
      R"({"bo":1764111222222,"de":[],"f":1,"fe":["demo-0"],"p":"demo-1","rg":11,"rp":"demo-1",)"
      R"("rs":["demo-0","demo-2"],"rw":[1,5],"sc":1,"sl":90000000000,"ss":["demo-2"],"tl":3,)"
      R"("tr":{"at":1764111111111,"fr":"demo-0","k":2,"sl":89999999000,"st":2,"to":"demo-1"},"v":42})";
  EXPECT_EQ(EncodeClusterState(s).serialize(), bytes);
  auto back = DecodeClusterState(web::json::value::parse(bytes));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(*back == s);
  EXPECT_EQ(EncodeClusterState(plan::ClusterState{}).serialize(),
            R"({"bo":0,"de":[],"f":1,"fe":[],"p":"","rg":0,"rp":"","rs":[],"sc":0,"sl":0,"ss":[],"tl":0,"v":0})");
}

TEST(StateCodec, RefusesOtherFormatsAndWrongTypes) {
  auto other = DecodeClusterState(web::json::value::parse(R"({"f": 2, "p": "a"})"));
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().find("format 2"), std::string::npos);
  auto wrong = DecodeClusterState(web::json::value::parse(R"({"f": 1, "rw": ["x"]})"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("'rw[0]'"), std::string::npos) << wrong.error();  // the field at fault
  auto empty = DecodeClusterState(web::json::value::null());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->primary.empty());
}

}  // namespace
}  // namespace pgvigil
