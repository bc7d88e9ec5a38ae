// /v1/proxy/routing contract: the table round trips (struct -> JSON -> struct),
// the bytes the agent and the controller wrote before the contract came here
// are written again, a body lacking fields reads with its defaults, and a field
// of another type reads as its default and is named.
#include "common/routing_table.h"

#include <gtest/gtest.h>

#include <functional>

namespace pgvigil {
namespace {

using web::json::value;

RoutingTable Three() {
  return {7, "server1",
          {{"server1", "10.77.0.11", 5432, 2, true},
           {"server2", "10.77.0.12", 5432, 0, false},
           {"server3", "10.77.0.13", 5433, 4, true}}};
}

TEST(RoutingTable, RoundTrip) {
  struct Case {
    const char* name;
    std::function<void(RoutingTable*)> change;
  };
  const Case cases[] = {
      {"a primary and two standbys, one down", [](RoutingTable*) {}},
      {"defaults (no primary, no nodes)", [](RoutingTable* t) { *t = RoutingTable(); }},
      {"no confirmed primary: writes fail closed", [](RoutingTable* t) { t->primary = ""; }},
      {"a generation above the int64 range", [](RoutingTable* t) { t->generation = 18446744073709551615ull; }},
  };
  for (const Case& c : cases) {
    RoutingTable t = Three();
    c.change(&t);
    std::vector<std::string> notes;
    auto back = RoutingTableFromJson(value::parse(ToJson(t).serialize()), &notes);
    ASSERT_TRUE(back.ok()) << c.name << ": " << back.error();
    EXPECT_TRUE(*back == t) << c.name << ": " << ToJson(*back).serialize();
    EXPECT_TRUE(notes.empty()) << c.name << ": " << notes.front();
  }
  // The request is the table with the term.
  value publish = ToJson(RoutingPublish{3, Three()});
  EXPECT_EQ(publish.at("term").as_number().to_uint64(), 3u);
  publish.erase("term");
  EXPECT_EQ(publish.serialize(), ToJson(Three()).serialize());
}

// The bytes written before the table was a type here: the agent's answer
// (RoutingToJson in sidecar/agent/peer_requests.cc) and the controller's PUT
// request (controller/act/actuator.cc, RoutingNodes).
TEST(RoutingTable, WritesTheSameBytesAsBefore) {
  const char* tables[] = {
      R"({"generation":7,"nodes":[{"host":"10.77.0.11","name":"server1","port":5432,"up":true,"weight":2},)"
      R"({"host":"10.77.0.12","name":"server2","port":5432,"up":false,"weight":0},)"
      R"({"host":"10.77.0.13","name":"server3","port":5433,"up":true,"weight":4}],"primary":"server1"})",
      R"({"generation":0,"nodes":[],"primary":""})",
  };
  for (const char* body : tables) {
    std::vector<std::string> notes;
    auto t = RoutingTableFromJson(value::parse(body), &notes);
    ASSERT_TRUE(t.ok()) << t.error();
    EXPECT_EQ(ToJson(*t).serialize(), body);
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
  EXPECT_EQ(ToJson(RoutingPublish{3, Three()}).serialize(),
            R"({"generation":7,"nodes":[{"host":"10.77.0.11","name":"server1","port":5432,"up":true,"weight":2},)"
            R"({"host":"10.77.0.12","name":"server2","port":5432,"up":false,"weight":0},)"
            R"({"host":"10.77.0.13","name":"server3","port":5433,"up":true,"weight":4}],"primary":"server1",)"
            R"("term":3})");
}

TEST(RoutingTable, OlderBodyReadsWithDefaults) {
  struct Case {
    const char* body;
    bool ok;
    std::function<void(const RoutingTable&)> check;
  };
  const Case cases[] = {
      {R"({"generation": 2})", true,
       [](const RoutingTable& t) {
         EXPECT_EQ(t.generation, 2u);
         EXPECT_EQ(t.primary, "");
         EXPECT_TRUE(t.nodes.empty());
       }},
      {R"({"generation": 2, "primary": "a", "nodes": [{"name": "a", "host": "h"}]})", true,
       [](const RoutingTable& t) {
         ASSERT_EQ(t.nodes.size(), 1u);
         EXPECT_TRUE(t.nodes[0] == (RouteNode{"a", "h", 5432, 1, true}));
       }},
      {R"({"generation": 2, "primary": null, "nodes": null})", true,
       [](const RoutingTable& t) { EXPECT_EQ(t.primary, ""); }},
      {R"({"primary": "a", "nodes": []})", false, nullptr},
      {R"([])", false, nullptr},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    auto t = RoutingTableFromJson(value::parse(c.body), &notes);
    ASSERT_EQ(t.ok(), c.ok) << c.body;
    if (!c.ok) continue;
    c.check(*t);
    EXPECT_TRUE(notes.empty()) << c.body << ": " << notes.front();
  }
}

TEST(RoutingTable, WrongTypesReadAsDefaultsAndAreNamed) {
  struct Case {
    const char* body;
    const char* note;
    std::function<void(const RoutingTable&)> check;
  };
  const Case cases[] = {
      {R"({"generation": "x"})", "generation", [](const RoutingTable& t) { EXPECT_EQ(t.generation, 0u); }},
      {R"({"generation": 1, "primary": 3})", "primary", [](const RoutingTable& t) { EXPECT_EQ(t.primary, ""); }},
      {R"({"generation": 1, "nodes": {}})", "nodes", [](const RoutingTable& t) { EXPECT_TRUE(t.nodes.empty()); }},
      {R"({"generation": 1, "nodes": [5]})", "nodes[0]", [](const RoutingTable& t) { EXPECT_TRUE(t.nodes.empty()); }},
      {R"({"generation": 1, "nodes": [{"name": "a", "up": "yes"}]})", "nodes[0].up",
       [](const RoutingTable& t) {
         ASSERT_EQ(t.nodes.size(), 1u);
         EXPECT_TRUE(t.nodes[0].up);
       }},
      {R"({"generation": 1, "nodes": [{"name": "a", "port": true}]})", "nodes[0].port",
       [](const RoutingTable& t) {
         ASSERT_EQ(t.nodes.size(), 1u);
         EXPECT_EQ(t.nodes[0].port, 5432);
       }},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    auto t = RoutingTableFromJson(value::parse(c.body), &notes);
    ASSERT_TRUE(t.ok()) << c.body;
    c.check(*t);
    ASSERT_EQ(notes.size(), 1u) << c.body;
    EXPECT_EQ(notes[0].rfind(c.note, 0), 0u) << notes[0];
  }
}

}  // namespace
}  // namespace pgvigil
