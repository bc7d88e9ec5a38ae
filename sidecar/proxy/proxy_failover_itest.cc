// Integration: a real promotion. Its own two-node cluster (the shared one stays
// intact): the standby is promoted, the health view and routing follow, sessions
// bound to the old primary are closed with 57P01, new writes land on the new
// primary and none reaches the old one.
#include <gtest/gtest.h>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

TEST(ProxyFailoverTest, PrimaryChangeClosesOldSessionsAndRoutesNewOnes) {
  testing::PgTestCluster::Options o;
  o.nodes = 2;
  auto cluster = testing::PgTestCluster::Create(o);
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  auto& c2 = **cluster;
  ASSERT_TRUE(c2.Query(0, "CREATE TABLE f (a int)").ok());
  auto px = StartProxy({}, &c2);
  ASSERT_TRUE(px);
  std::string p0 = std::to_string(c2.nodes()[0].port), p1 = std::to_string(c2.nodes()[1].port);
  auto old_session = Connect(px->port, "postgres", c2.superPassword());
  ASSERT_TRUE(old_session->ok()) << old_session->error();
  EXPECT_EQ(old_session->Query("INSERT INTO f VALUES (1) RETURNING inet_server_port()"), p0);

  ASSERT_TRUE(c2.StopNode(0).ok());
  ASSERT_TRUE(c2.PromoteNode(1).ok());
  px->SetHealth(0, false, BackendRole::kUnknown);
  px->SetHealth(1, true, BackendRole::kPrimary);

  std::string r = old_session->Query("SELECT 1");
  EXPECT_EQ(r.substr(0, 5), "ERROR") << r;
  auto fresh = Connect(px->port, "postgres", c2.superPassword());
  ASSERT_TRUE(fresh->ok()) << fresh->error();
  EXPECT_EQ(fresh->Query("INSERT INTO f VALUES (2) RETURNING inet_server_port()"), p1);
  EXPECT_EQ(fresh->Query("SELECT count(*) FROM f"), "2");
  auto rows = px->server->PoolNodes();
  EXPECT_EQ(rows[1].role, "primary");
  EXPECT_EQ(rows[0].status, "down");
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
