#include "sidecar/agent/peer_requests.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(AgentPeerRequests, RoutingTable) {
  uint64_t term = 0;
  RoutingTable t;
  RequestError e;
  ASSERT_TRUE(ParseRoutingRequest(
      R"({"term": 4, "generation": 9, "primary": "node1", "nodes": [
            {"name": "node0", "host": "10.0.0.1", "port": 5432, "up": false},
            {"name": "node1", "host": "10.0.0.2", "port": 5433, "weight": 3}]})",
      &term, &t, &e))
      << e.field << ": " << e.reason;
  EXPECT_EQ(term, 4u);
  EXPECT_EQ(t.generation, 9u);
  EXPECT_EQ(t.primary, "node1");
  ASSERT_EQ(t.nodes.size(), 2u);
  EXPECT_FALSE(t.nodes[0].up);
  EXPECT_EQ(t.nodes[0].weight, 1);
  EXPECT_EQ(t.nodes[1].port, 5433);
  EXPECT_EQ(t.nodes[1].weight, 3);
  EXPECT_TRUE(t.nodes[1].up);
  // Round trip through the GET form.
  auto v = ToJson(t);
  EXPECT_EQ(v.at("nodes").as_array().size(), 2u);
  EXPECT_EQ(v.at("primary").as_string(), "node1");
}

TEST(AgentPeerRequests, RoutingErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {"[]", "body"},
      {R"({"generation": 1, "nodes": []})", "term"},
      {R"({"term": 1, "nodes": []})", "generation"},
      {R"({"term": 1, "generation": -2, "nodes": []})", "generation"},
      {R"({"term": 1, "generation": 1})", "nodes"},
      {R"({"term": 1, "generation": 1, "nodes": [3]})", "nodes[0]"},
      {R"({"term": 1, "generation": 1, "nodes": [{"host": "h"}]})", "nodes[0].name"},
      {R"({"term": 1, "generation": 1, "nodes": [{"name": "a"}]})", "nodes[0].host"},
      {R"({"term": 1, "generation": 1, "nodes": [{"name": "a", "host": "h"}, {"name": "b", "host": "h", "port": 70000}]})", "nodes[1].port"},
      {R"({"term": 1, "generation": 1, "nodes": [{"name": "a", "host": "h", "up": "yes"}]})", "nodes[0].up"},
      {R"({"term": 1, "generation": 1, "nodes": [{"name": "a", "host": "h", "colour": 1}]})", "nodes[0].colour"},
      {R"({"term": 1, "generation": 1, "nodes": [{"name": "a", "host": "h"}, {"name": "a", "host": "i"}]})", "nodes[1].name"},
      {R"({"term": 1, "generation": 1, "primary": "z", "nodes": [{"name": "a", "host": "h"}]})", "primary"},
      {R"({"term": 1, "generation": 1, "nodes": [], "extra": true})", "extra"},
  };
  for (const auto& c : cases) {
    uint64_t term = 0;
    RoutingTable t;
    RequestError e;
    EXPECT_FALSE(ParseRoutingRequest(c.body, &term, &t, &e)) << c.body;
    EXPECT_EQ(e.field, c.field) << c.body << " -> " << e.reason;
  }
}

TEST(AgentPeerRequests, RegisterWrite) {
  WatchdogRegisterWrite w;
  RequestError e;
  ASSERT_TRUE(ParseRegisterWrite(R"({"term": 2, "doc": {"primary": "node1"}})", &w, &e));
  EXPECT_EQ(w.term, 2u);
  EXPECT_EQ(w.doc.at("primary").as_string(), "node1");
  EXPECT_EQ(RegisterWriteTimeout(w).count(), 5000);
  EXPECT_FALSE(ParseRegisterWrite(R"({"term": 2, "doc": 5})", &w, &e));
  EXPECT_EQ(e.field, "doc");
  EXPECT_FALSE(ParseRegisterWrite(R"({"term": 2, "doc": {}, "timeoutMs": 0})", &w, &e));
  EXPECT_EQ(e.field, "timeoutMs");
}

// What the controller writes with common/watchdog_register.h is what the agent
// takes, field for field (the type's ToJson against the agent's strict check).
TEST(AgentPeerRequests, RegisterWriteOfTheContractIsTaken) {
  const WatchdogRegisterWrite writes[] = {
      {2, web::json::value::parse(R"({"v":1,"rg":5,"rp":"node1","fe":[]})"), std::nullopt},
      {9007199254740991ull, web::json::value::object(), 60000},  // the highest term taken
      {7, web::json::value::parse(R"({"rp":""})"), 1},
  };
  for (const auto& want : writes) {
    WatchdogRegisterWrite got;
    RequestError e;
    ASSERT_TRUE(ParseRegisterWrite(ToJson(want).serialize(), &got, &e)) << e.field << ": " << e.reason;
    EXPECT_TRUE(got == want) << ToJson(want).serialize();
  }
}

}  // namespace
}  // namespace pgvigil
