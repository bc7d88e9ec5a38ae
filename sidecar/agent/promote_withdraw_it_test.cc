// A promotion that cannot finish in time must not finish later. A real
// PostgreSQL 15 standby whose replay waits on a lock (a standby query holds it,
// max_standby_streaming_delay = -1) does not look at the promote signal; the
// agent's promote times out and withdraws it. Once the query ends and replay
// goes on, the standby must still be a standby. Without the withdrawal the
// startup process finds the signal then and promotes: two primaries.
#include <libpq-fe.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "common/files.h"
#include "common/testing/pg_cluster.h"
#include "sidecar/agent/local_postgres.h"
#include "sidecar/agent/promote_withdraw.h"

namespace pgvigil {
namespace {

using namespace std::chrono_literals;
using testing::PgTestCluster;

// Polls `sql` on `node` until it returns `want` (or times out).
bool WaitFor(const PgTestCluster& pg, int node, const std::string& sql, const std::string& want,
             std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    auto v = pg.Query(node, sql);
    if (v.ok() && *v == want) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string Exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  std::string err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQerrorMessage(c);
  PQclear(r);
  return err;
}

TEST(PromoteWithdrawIT, AStalledPromotionIsWithdrawnAndALaterOneSucceeds) {
  PgTestCluster::Options opts;
  opts.nodes = 2;
  opts.extraConf = {"max_standby_streaming_delay = -1"};
  auto cluster = PgTestCluster::Create(opts);
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  PgTestCluster& pg = **cluster;
  ASSERT_TRUE(pg.Query(0, "CREATE TABLE t (i int); INSERT INTO t VALUES (1)").ok());
  ASSERT_TRUE(WaitFor(pg, 1, "SELECT count(*) FROM t", "1", 30s));

  // A standby transaction that has read t keeps its lock on t.
  PGconn* reader = PQconnectdb(pg.ConnInfo(1).c_str());
  ASSERT_EQ(PQstatus(reader), CONNECTION_OK) << PQerrorMessage(reader);
  ASSERT_EQ(Exec(reader, "BEGIN; SELECT count(*) FROM t"), "");
  // The primary's exclusive lock, replayed: the startup process waits for the reader.
  ASSERT_TRUE(pg.Query(0, "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; COMMIT").ok());
  ASSERT_TRUE(WaitFor(pg, 1,
                      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'startup' "
                      "AND wait_event_type = 'Lock'",
                      "1", 30s))
      << "replay did not block on the lock";

  LocalNode node = LocalNode::From(pg.MakeSpecOnFreePorts(), "node1", pg.dir() + "/state-node1");
  ASSERT_EQ(node.dataDir, pg.nodes()[1].dataDir);
  PgTools tools(node, nullptr);
  PromoteSettleOptions settle;
  settle.takenWait = 20s;
  tools.SetPromoteWaits(2s, settle);

  bool already = true;
  auto o = tools.Promote(&already);
  ASSERT_FALSE(o.ok()) << "promoted although replay was blocked";
  EXPECT_NE(o.error().find("the promotion was withdrawn"), std::string::npos) << o.error();
  EXPECT_FALSE(already);
  EXPECT_FALSE(PathExists(PromoteSignalPath(node.dataDir)));

  // Replay goes on once the reader is gone; the standby must stay one.
  PQfinish(reader);
  ASSERT_TRUE(WaitFor(pg, 1,
                      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'startup' "
                      "AND wait_event_type = 'Lock'",
                      "0", 30s));
  std::this_thread::sleep_for(3s);
  auto rec = pg.Query(1, "SELECT pg_is_in_recovery()");
  ASSERT_TRUE(rec.ok()) << rec.error();
  ASSERT_EQ(*rec, "t") << "the withdrawn promotion completed later: two primaries";
  ASSERT_TRUE(pg.Query(0, "INSERT INTO t VALUES (2)").ok());
  ASSERT_TRUE(WaitFor(pg, 1, "SELECT count(*) FROM t", "2", 30s)) << "replay did not resume";

  // An unobstructed promotion succeeds as before.
  o = tools.Promote(&already);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_FALSE(already);
  EXPECT_EQ(o->role, BackendRole::kPrimary);
  auto rec2 = pg.Query(1, "SELECT pg_is_in_recovery()");
  ASSERT_TRUE(rec2.ok()) << rec2.error();
  EXPECT_EQ(*rec2, "f");
}

// The question asked after a removal (PromoteTriggered), answered by real
// servers: a standby with no promotion triggered says no, a primary says yes;
// a signal file the startup process was never told about is withdrawn.
TEST(PromoteWithdrawIT, TheTriggeredQueryTellsAStandbyFromAPromotedServer) {
  PgTestCluster::Options opts;
  opts.nodes = 2;
  auto cluster = PgTestCluster::Create(opts);
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  PgTestCluster& pg = **cluster;
  LocalNode node = LocalNode::From(pg.MakeSpecOnFreePorts(), "node1", pg.dir() + "/state-node1");
  auto standby = node.SelfConn();
  ASSERT_TRUE(standby.ok()) << standby.error();
  auto on_standby = PromoteTriggered(*standby);
  ASSERT_TRUE(on_standby.ok()) << on_standby.error();
  EXPECT_FALSE(*on_standby);
  LocalNode primary_node = LocalNode::From(pg.MakeSpecOnFreePorts(), "node0", pg.dir() + "/state-node0");
  auto primary = primary_node.SelfConn();
  ASSERT_TRUE(primary.ok()) << primary.error();
  auto on_primary = PromoteTriggered(*primary);
  ASSERT_TRUE(on_primary.ok()) << on_primary.error();
  EXPECT_TRUE(*on_primary);

  // A signal file without the signal: the startup process never looks at it.
  ASSERT_TRUE(WriteFileAtomic(PromoteSignalPath(node.dataDir), "").ok());
  PgTools tools(node, nullptr);
  PromoteSettleOptions settle;
  settle.triggerGrace = 100ms;
  settle.takenWait = 5s;
  tools.SetPromoteWaits(2s, settle);
  auto triggered = [&] { return PromoteTriggered(*standby); };
  auto o = SettleUnfinishedPromotion(
      node.dataDir, "test", [&] { return tools.Observe(); }, triggered, settle, [](const std::string&) {});
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.error().find("the promotion was withdrawn"), std::string::npos) << o.error();
  EXPECT_FALSE(PathExists(PromoteSignalPath(node.dataDir)));
  EXPECT_EQ(*pg.Query(1, "SELECT pg_is_in_recovery()"), "t");
}

}  // namespace
}  // namespace pgvigil
