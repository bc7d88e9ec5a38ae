// ObservePostgres against real PostgreSQL 15 servers (a primary, two standbys,
// then a promotion).
#include <gtest/gtest.h>

#include "common/testing/pg_cluster.h"
#include "controller/observe/pg_observer.h"

namespace pgvigil {
namespace {
// Real servers: what the planner relies on is read correctly.
TEST(ObservePostgresIT, PrimaryStandbyAndPromotion) {
  auto c = testing::PgTestCluster::Create();
  ASSERT_TRUE(c.ok()) << c.error();
  auto& cl = **c;
  ClusterSpec spec = cl.MakeSpec(testing::FreePort());
  PgCredentials creds{"postgres", cl.superPassword(), "postgres", 2};
  plan::NodeObservation p, s1;
  ASSERT_EQ(ObservePostgres(spec, spec.nodes[0], creds, 10, &p), "");
  EXPECT_TRUE(p.pgReachable);
  EXPECT_FALSE(p.inRecovery);
  EXPECT_EQ(p.timeline, 1u);
  EXPECT_GT(p.currentLsn, 0u);
  EXPECT_EQ(p.pgObservedAt, 10);
  ASSERT_EQ(p.replication.size(), 2u);
  EXPECT_EQ(p.replication[0].node, "node1");
  EXPECT_EQ(p.replication[0].state, "streaming");
  ASSERT_EQ(ObservePostgres(spec, spec.nodes[1], creds, 11, &s1), "");
  EXPECT_TRUE(s1.inRecovery);
  EXPECT_EQ(s1.upstream, "node0");
  EXPECT_EQ(s1.configuredUpstream, "node0");
  EXPECT_GT(s1.receivedLsn, 0u);
  EXPECT_EQ(s1.timeline, 1u);

  // A stopped node: unreachable, last values kept.
  ASSERT_TRUE(cl.StopNode(0, "immediate").ok());
  plan::Lsn last = p.currentLsn;
  EXPECT_NE(ObservePostgres(spec, spec.nodes[0], creds, 12, &p), "");
  EXPECT_FALSE(p.pgReachable);
  EXPECT_EQ(p.currentLsn, last);
  EXPECT_EQ(p.pgObservedAt, 10);

  // Promotion: a new timeline whose history names where timeline 1 ended.
  ASSERT_TRUE(cl.PromoteNode(1).ok());
  ASSERT_EQ(ObservePostgres(spec, spec.nodes[1], creds, 13, &s1), "");
  EXPECT_FALSE(s1.inRecovery);
  EXPECT_EQ(s1.timeline, 2u);
  ASSERT_EQ(s1.history.size(), 1u);
  EXPECT_EQ(s1.history[0].timeline, 1u);
  EXPECT_GT(s1.history[0].switchLsn, 0u);
}

// The controller looks several times a second: one kept connection per node,
// not one per look; a restarted server is reconnected to in the same look, a
// stopped one reported down at once.
TEST(ObservePostgresIT, SessionIsReusedAndSurvivesRestart) {
  testing::PgTestCluster::Options options;
  options.nodes = 1;
  options.standbys = false;
  auto c = testing::PgTestCluster::Create(options);
  ASSERT_TRUE(c.ok()) << c.error();
  auto& cl = **c;
  ClusterSpec spec = cl.MakeSpec(testing::FreePort());
  PgCredentials creds{"postgres", cl.superPassword(), "postgres", 2};
  PgSession session;
  plan::NodeObservation o;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(ObservePostgres(spec, spec.nodes[0], creds, i, &o, &session), "");
  auto count = cl.Query(0, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgvigil-controller'");
  ASSERT_TRUE(count.ok()) << count.error();
  EXPECT_EQ(*count, "1");

  ASSERT_TRUE(cl.StopNode(0, "fast").ok());
  EXPECT_NE(ObservePostgres(spec, spec.nodes[0], creds, 10, &o, &session), "");
  EXPECT_FALSE(o.pgReachable);
  ASSERT_TRUE(cl.StartNode(0).ok());
  EXPECT_EQ(ObservePostgres(spec, spec.nodes[0], creds, 11, &o, &session), "");
  EXPECT_TRUE(o.pgReachable);
  EXPECT_EQ(o.pgObservedAt, 11);
  // Restarted between two looks: the kept connection is dead, a fresh one works.
  ASSERT_TRUE(cl.StopNode(0, "fast").ok());
  ASSERT_TRUE(cl.StartNode(0).ok());
  EXPECT_EQ(ObservePostgres(spec, spec.nodes[0], creds, 12, &o, &session), "");
  EXPECT_EQ(o.pgObservedAt, 12);
}

}  // namespace
}  // namespace pgvigil
