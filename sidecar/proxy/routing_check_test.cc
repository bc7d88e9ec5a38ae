#include "sidecar/proxy/routing_check.h"

#include <gtest/gtest.h>

namespace pgvigil::proxy {
namespace {

ClusterSpec TwoNodes() {
  ClusterSpec s;
  s.postgres.port = 5432;
  NodeSpec a, b;
  a.name = "a";
  a.host = "10.0.0.1";
  b.name = "b";
  b.host = "10.0.0.2";
  b.port = 5433;
  s.nodes = {a, b};
  return s;
}

TEST(RoutingCheckTest, OnlySpecNodesAtSpecAddresses) {
  struct Case {
    std::vector<RouteNode> nodes;
    std::string error;  // "" accepted
  } cases[] = {
      {{{"a", "10.0.0.1", 5432, 1, true}, {"b", "10.0.0.2", 5433, 1, true}}, ""},
      {{{"b", "10.0.0.2", 5433, 0, false}}, ""},
      {{}, ""},
      {{{"a", "10.0.0.1", 5433, 1, true}}, "nodes[0].port: 5433 is not node 'a''s PostgreSQL port in the spec (5432)"},
      {{{"a", "10.0.0.1", 5432, 1, true}, {"b", "10.6.6.6", 5433, 1, true}},
       "nodes[1].host: '10.6.6.6' is not node 'b''s host in the spec ('10.0.0.2')"},
      {{{"c", "10.0.0.1", 5432, 1, true}}, "nodes[0].name: 'c' is not a node of the cluster spec"},
  };
  for (const auto& c : cases) {
    RoutingTable t;
    t.nodes = c.nodes;
    Status s = CheckRoutingAgainstSpec(TwoNodes(), t);
    EXPECT_EQ(s.ok() ? "" : s.message(), c.error);
  }
}

}  // namespace
}  // namespace pgvigil::proxy
