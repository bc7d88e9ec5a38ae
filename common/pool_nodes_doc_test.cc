// GET /v1/proxy/pool_nodes: the bytes the agent wrote before the rows were a
// type here, a round trip, and what odd bodies read as.
#include "common/pool_nodes_doc.h"

#include <gtest/gtest.h>

#include "common/testing/expect_notes.h"

namespace pgvigil {
namespace {

using web::json::value;

PoolNodeRow Standby() {
  PoolNodeRow r;
  r.nodeId = "1";
  r.hostname = "10.77.0.12";
  r.port = "5432";
  r.status = "up";
  r.pgStatus = "up";
  r.lbWeight = "0.500000";
  r.role = "standby";
  r.pgRole = "standby";
  r.selectCnt = "42";
  r.loadBalanceNode = "true";
  r.replicationDelay = "0";
  r.replicationState = "streaming";
  r.replicationSyncState = "sync";
  r.lastStatusChange = "2026-12-07 01:00:00";
  return r;
}

// sidecar/agent/peer_requests.cc's PoolNodesToJson wrote this before.
TEST(PoolNodesDoc, WritesTheSameBytesAsBefore) {
  EXPECT_EQ(ToJson(std::vector<PoolNodeRow>{Standby()}).serialize(),
            R"js({"nodes":[{"hostname":"10.77.0.12","last_status_change":"2026-12-07 01:00:00",)js"
            R"js("lb_weight":"0.500000","load_balance_node":"true","node_id":"1","pg_role":"standby",)js"
            R"js("pg_status":"up","port":"5432","replication_delay":"0","replication_state":"streaming",)js"
            R"js("replication_sync_state":"sync","role":"standby","select_cnt":"42","status":"up"}]})js");
  EXPECT_EQ(ToJson(std::vector<PoolNodeRow>{}).serialize(), R"({"nodes":[]})");
}

TEST(PoolNodesDoc, RoundTrip) {
  PoolNodeRow primary = Standby();
  primary.nodeId = "0";
  primary.role = primary.pgRole = "primary";
  primary.replicationSyncState = "";
  const std::vector<std::vector<PoolNodeRow>> cases = {{}, {primary, Standby()}, {PoolNodeRow()}};
  for (const auto& rows : cases) {
    std::vector<std::string> notes;
    EXPECT_TRUE(PoolNodesFromJson(value::parse(ToJson(rows).serialize()), &notes) == rows)
        << ToJson(rows).serialize();
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
  PoolNodeRow other = Standby();
  other.replicationSyncState = "async";
  EXPECT_FALSE(other == Standby());
}

TEST(PoolNodesDoc, OddBodiesReadAsWhatTheyHoldAndSayWhy) {
  struct Case {
    const char* body;
    size_t rows;
    const char* note;  // part of the one note expected, "" for none
  };
  const Case cases[] = {
      {R"({"nodes":[{"hostname":"h","port":"5432"}]})", 1, ""},  // fewer columns: the rest ""
      {R"({"error":"the proxy is disabled on this node"})", 0, ""},
      {R"(null)", 0, ""},
      {R"({"nodes":{"hostname":"h"}})", 0, "pool_nodes.nodes"},
      {R"({"nodes":[7,{"port":"1"}]})", 1, "pool_nodes.nodes[0]"},
      {R"({"nodes":[{"select_cnt":12}]})", 1, "pool_nodes.nodes[0].select_cnt"},
      {R"([])", 0, "pool_nodes"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    const auto rows = PoolNodesFromJson(value::parse(c.body), &notes);
    EXPECT_EQ(rows.size(), c.rows) << c.body;
    testing::ExpectNotes(notes, c.note, c.body);
  }
}

}  // namespace
}  // namespace pgvigil
