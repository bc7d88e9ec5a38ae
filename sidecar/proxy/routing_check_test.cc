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

// A member left (scale down): the installed table forgets it; a primary that
// is no member any more leaves no primary.
TEST(RoutingCheckTest, KeepMembersDropsNodesThatLeft) {
  RoutingTable t;
  t.generation = 8;
  t.primary = "a";
  t.nodes = {{"a", "10.0.0.1", 5432, 1, true}, {"b", "10.0.0.2", 5433, 1, true}, {"c", "10.0.0.3", 5432, 1, false}};
  std::vector<std::string> dropped;
  RoutingTable kept = KeepMembers(TwoNodes(), t, &dropped);
  EXPECT_EQ(kept.generation, 8u);
  EXPECT_EQ(kept.primary, "a");
  ASSERT_EQ(kept.nodes.size(), 2u);
  EXPECT_EQ(kept.nodes[1].name, "b");
  EXPECT_EQ(dropped, std::vector<std::string>{"c"});
  EXPECT_TRUE(CheckRoutingAgainstSpec(TwoNodes(), kept).ok());

  ClusterSpec only_b = TwoNodes();
  only_b.nodes.erase(only_b.nodes.begin());
  dropped.clear();
  kept = KeepMembers(only_b, t, &dropped);
  EXPECT_EQ(kept.primary, "");
  EXPECT_EQ(dropped, (std::vector<std::string>{"a", "c"}));
  ClusterSpec moved = TwoNodes();
  moved.nodes[1].host = "10.0.0.9";  // b's host changed: not where the table says
  dropped.clear();
  EXPECT_EQ(KeepMembers(moved, t, &dropped).nodes.size(), 1u);
}

}  // namespace
}  // namespace pgvigil::proxy
