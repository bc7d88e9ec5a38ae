// ObservePostgres against real PostgreSQL 15 servers (a primary, two standbys,
// then a promotion).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

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

  plan::NodeObservation s2;
  ASSERT_TRUE(cl.Query(0, "CREATE TABLE observe_t AS SELECT generate_series(1, 1000) AS x").ok());
  ASSERT_TRUE(cl.Query(0, "SELECT pg_switch_wal() IS NOT NULL").ok());  // end mid-segment below
  ASSERT_TRUE(cl.Query(0, "INSERT INTO observe_t SELECT generate_series(1, 1000)").ok());
  auto end = cl.Query(0, "SELECT pg_current_wal_insert_lsn()");
  ASSERT_TRUE(end.ok()) << end.error();
  plan::Lsn primary_end = 0;
  ASSERT_TRUE(ParseLsn(*end, &primary_end));
  for (int i = 0; i < 100; ++i) {  // node2 has received everything
    ASSERT_EQ(ObservePostgres(spec, spec.nodes[2], creds, 11, &s2), "");
    if (s2.replayedLsn >= primary_end) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(s2.replayedLsn, primary_end);

  // A stopped node: unreachable, last values kept.
  ASSERT_TRUE(cl.StopNode(0, "immediate").ok());
  plan::Lsn last = p.currentLsn;
  EXPECT_NE(ObservePostgres(spec, spec.nodes[0], creds, 12, &p), "");
  EXPECT_FALSE(p.pgReachable);
  EXPECT_EQ(p.currentLsn, last);
  EXPECT_EQ(p.pgObservedAt, 10);

  // A standby restarted while its primary is down has no receive position
  // (pg_last_wal_receive_lsn() is NULL while it replays its own pg_wal, then the
  // start of the segment it asks to stream from) but holds every record it
  // replayed: 0 (not known) first, then the WAL it holds, never less, or failover
  // would prefer a standby holding less.
  ASSERT_TRUE(cl.StopNode(2, "fast").ok());
  ASSERT_TRUE(cl.StartNode(2).ok());
  int known = 0;
  for (int i = 0; i < 100 && known < 3; ++i) {
    ASSERT_EQ(ObservePostgres(spec, spec.nodes[2], creds, 12, &s2), "");
    EXPECT_TRUE(s2.inRecovery);
    if (s2.receivedLsn != 0) {
      ++known;
      EXPECT_GE(s2.receivedLsn, primary_end);
      EXPECT_GE(s2.receivedLsn, s2.replayedLsn);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(known, 3);

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
