// status.instancesReportedState and status.lastEvents from a ClusterStatus
// (status_report.h): one row per kind of instance, and the newest ten events
// in order. Pure.
#include <gtest/gtest.h>

#include "controller/kube/status_report.h"

namespace pgvigil::kube {
namespace {

using web::json::value;

NodeStatus Node(const char* name, const char* role, const char* state, const char* pg, const char* repl,
                int64_t lag, const char* lsn) {
  NodeStatus n;
  n.name = name;
  n.role = role;
  n.state = state;
  n.pgStatus = pg;
  n.replicationState = repl;
  n.lagBytes = lag;
  n.lsn = lsn;
  n.timeline = 3;
  return n;
}

TEST(StatusReport, InstancesReportedStateTable) {
  struct Case {
    NodeStatus node;
    const char* json;
  } cases[] = {
      {Node("demo-0", "primary", "up", "up", "", -1, "0/3000060"),
       R"({"lsn":"0/3000060","ready":true,"role":"primary","timeline":3})"},
      {Node("demo-1", "standby", "up", "up", "streaming", 128, "0/3000000"),
       R"({"lagBytes":128,"lsn":"0/3000000","ready":true,"role":"standby","timeline":3})"},
      {Node("demo-2", "standby", "up", "up", "catchup", 0, "0/2000000"),
       R"({"lagBytes":0,"lsn":"0/2000000","ready":false,"role":"standby","timeline":3})"},
      {Node("demo-3", "unknown", "down", "down", "", -1, ""), R"({"ready":false,"role":"unknown","timeline":3})"},
      {Node("demo-4", "unknown", "fenced", "down", "", -1, ""), R"({"ready":false,"role":"fenced","timeline":3})"},
      {Node("demo-5", "standby", "detached", "up", "streaming", 0, "0/3000000"),
       R"({"lagBytes":0,"lsn":"0/3000000","ready":true,"role":"detached","timeline":3})"},
  };
  ClusterStatus s;
  for (const auto& c : cases) s.nodes.push_back(c.node);
  const value out = InstancesReportedStateJson(s);
  ASSERT_EQ(out.size(), std::size(cases));
  for (const auto& c : cases) {
    ASSERT_TRUE(out.has_object_field(c.node.name)) << c.node.name;
    // Compared as parsed objects: field order is the serializer's.
    EXPECT_EQ(out.at(c.node.name), value::parse(c.json)) << c.node.name << ": " << out.at(c.node.name).serialize();
  }
}

// A standby streams when PostgreSQL answers, its WAL receiver streams from the
// primary and the primary shows it streaming; fenced and detached instances
// are not asked to.
TEST(StatusReport, StandbysNotStreamingTable) {
  struct Case {
    NodeStatus node;
    const char* upstream;
    bool streams;
  } cases[] = {
      {Node("demo-0", "primary", "up", "up", "", -1, ""), "", true},
      {Node("demo-1", "standby", "up", "up", "streaming", 0, ""), "demo-0", true},
      {Node("demo-2", "standby", "up", "up", "catchup", 0, ""), "demo-0", false},
      {Node("demo-3", "standby", "up", "up", "", -1, ""), "", false},  // base backup failed, never streamed
      {Node("demo-4", "standby", "up", "up", "streaming", 0, ""), "", false},  // its WAL receiver is not connected
      {Node("demo-5", "unknown", "down", "down", "", -1, ""), "", false},
      {Node("demo-6", "unknown", "recovering", "down", "", -1, ""), "", false},
      {Node("demo-7", "unknown", "fenced", "down", "", -1, ""), "", true},
      {Node("demo-8", "standby", "detached", "up", "", -1, ""), "", true},
  };
  ClusterStatus s;
  s.primary = "demo-0";
  std::vector<std::string> want;
  for (auto c : cases) {
    c.node.upstream = c.upstream;
    s.nodes.push_back(c.node);
    if (!c.streams) want.push_back(c.node.name);
  }
  EXPECT_EQ(StandbysNotStreaming(s), want);
  s.primary = "";
  EXPECT_TRUE(StandbysNotStreaming(s).empty()) << "no primary yet: nothing to stream from";
}

TEST(StatusReport, LastEventsAreTheNewestTenOldestFirst) {
  std::vector<pgvigil::EventRecord> events;
  EXPECT_EQ(LastEventsJson(events).size(), 0u);
  for (int i = 0; i < 13; ++i)
    events.push_back({"2026-12-06T02:00:" + std::to_string(10 + i) + "Z", i % 2 ? "promote" : "write-state",
                      "demo-" + std::to_string(i % 3), "reason " + std::to_string(i)});
  const value out = LastEventsJson(events);
  ASSERT_EQ(out.size(), kMaxLastEvents);
  EXPECT_EQ(out.at(0), value::parse(R"({"time":"2026-12-06T02:00:13Z","action":"promote","instance":"demo-0",
                                        "reason":"reason 3"})"));
  EXPECT_EQ(out.at(9).at("reason").as_string(), "reason 12");
  EXPECT_EQ(out.at(9).at("instance").as_string(), "demo-0");
  events.resize(2);
  EXPECT_EQ(LastEventsJson(events).size(), 2u);
  EXPECT_EQ(LastEventsJson(events).at(1).at("action").as_string(), "promote");
}

}  // namespace
}  // namespace pgvigil::kube
