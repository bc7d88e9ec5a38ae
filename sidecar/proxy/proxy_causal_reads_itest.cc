// Integration: read-your-writes through the proxy (issue 15, cause 8), against
// real streaming standbys made to lag with recovery_min_apply_delay, the
// standbys' replay LSNs fed to the health view as the health checker does
// (every 20 ms here). A session that wrote reads its write at once, 10,000
// times; its reads return to the standbys once they have replayed it; and
// with readYourWrites off the same loop reads stale data (the test can fail).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

std::string P(int i) { return std::to_string(NodePort(i)); }

// Delays replay on both standbys while alive.
struct ApplyDelay {
  explicit ApplyDelay(const std::string& delay) {
    for (int i : {1, 2}) {
      EXPECT_TRUE(Cluster().Query(i, "ALTER SYSTEM SET recovery_min_apply_delay = '" + delay + "'").ok());
      EXPECT_TRUE(Cluster().Query(i, "SELECT pg_reload_conf()").ok());
    }
  }
  ~ApplyDelay() {
    for (int i : {1, 2}) {
      (void)Cluster().Query(i, "ALTER SYSTEM RESET recovery_min_apply_delay");
      (void)Cluster().Query(i, "SELECT pg_reload_conf()");
    }
  }
};

// Feeds the standbys' replay LSNs to the proxy's health view while alive.
struct LsnFeeder {
  explicit LsnFeeder(ProxyUnderTest* px) : t([this, px] {
    while (!stop) {
      px->FeedLsns();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }) {}
  ~LsnFeeder() {
    stop = true;
    t.join();
  }
  std::atomic<bool> stop{false};
  std::thread t;
};

struct LoopResult {
  int stale = 0, onStandby = 0;
  std::string firstStale;
};

// Writes row i and reads it at once, n times; alternates simple and extended protocol.
LoopResult WriteThenRead(Conn* c, int from, int n) {
  LoopResult out;
  for (int i = from; i < from + n; ++i) {
    std::string id = std::to_string(i);
    std::string w = c->Query("INSERT INTO ryw VALUES (" + id + ")");
    EXPECT_EQ(w, "") << w;
    std::string got;
    if (i % 2) {
      got = c->Query("SELECT count(*) || ':' || inet_server_port() FROM ryw WHERE id = " + id);
    } else {
      const char* v[1] = {id.c_str()};
      got = ResultValue(c->c, PQexecParams(c->c, "SELECT count(*) || ':' || inet_server_port() FROM ryw WHERE id = $1",
                                           1, nullptr, v, nullptr, nullptr, 0));
    }
    if (got.substr(0, 2) != "1:") {
      if (!out.stale++) out.firstStale = "row " + id + ": " + got;
    } else if (got.substr(2) != P(0)) {
      out.onStandby++;
    }
  }
  return out;
}

TEST(ProxyCausalReadsTest, Cause8ReadYourWrites10000Times) {
  ASSERT_TRUE(Cluster().Query(0, "CREATE TABLE IF NOT EXISTS ryw (id int)").ok());
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  ApplyDelay delay("300ms");
  LsnFeeder feeder(px.get());
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  LoopResult r = WriteThenRead(c.get(), 0, 10000);
  EXPECT_EQ(r.stale, 0) << r.firstStale;
  // The session's reads go back to the standbys once they have replayed its writes.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string port;
  while (std::chrono::steady_clock::now() < deadline) {
    port = c->Query("SELECT inet_server_port()");
    if (port == P(1) || port == P(2)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(port == P(1) || port == P(2)) << port;
  // Large objects and two-phase state: read at once after the write, never stale.
  std::string oid = c->Query("SELECT lo_from_bytea(0, 'causal')");
  EXPECT_EQ(c->Query("SELECT convert_from(lo_get(" + oid + "), 'UTF8')"), "causal");
  EXPECT_EQ(c->Query("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = " + oid), "1");
  EXPECT_EQ(c->Query("SELECT lo_unlink(" + oid + ")"), "1");
}

TEST(ProxyCausalReadsTest, Cause8WithoutReadYourWritesReadsAreStale) {
  ASSERT_TRUE(Cluster().Query(0, "CREATE TABLE IF NOT EXISTS ryw (id int)").ok());
  ProxyOptions o;
  o.readYourWrites = false;
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  px->CatchUp();
  ApplyDelay delay("300ms");
  LsnFeeder feeder(px.get());
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  LoopResult r = WriteThenRead(c.get(), 100000, 30);
  EXPECT_GT(r.stale, 0) << "the standbys replay with a delay: reads balanced at once must miss some writes";
}

// Two-phase commit: PREPARE TRANSACTION then pg_prepared_xacts, COMMIT PREPARED
// then the row, each read at once. Last in this binary: it restarts the
// cluster with max_prepared_transactions (standbys first: they need at least
// the primary's value).
TEST(ProxyCausalReadsTest, Cause8TwoPhaseCommitReadAtOnce) {
  for (int i : {1, 2, 0}) {
    ASSERT_TRUE(Cluster().Query(i, "ALTER SYSTEM SET max_prepared_transactions = 10").ok());
    ASSERT_TRUE(Cluster().StopNode(i).ok());
    ASSERT_TRUE(Cluster().StartNode(i).ok());
  }
  ASSERT_TRUE(Cluster().WaitStreaming(0, 2).ok());
  ASSERT_TRUE(Cluster().Query(0, "CREATE TABLE IF NOT EXISTS ryw (id int)").ok());
  for (bool ryw : {true, false}) {
    ProxyOptions o;
    o.readYourWrites = ryw;
    auto px = StartProxy(o);
    ASSERT_TRUE(px);
    px->CatchUp();
    ApplyDelay delay("300ms");
    LsnFeeder feeder(px.get());
    auto c = Connect(px->port);
    ASSERT_TRUE(c->ok()) << c->error();
    int stale = 0;
    for (int i = 0; i < (ryw ? 200 : 10); ++i) {
      std::string gid = std::string(ryw ? "g" : "s") + std::to_string(i);
      int id = 200000 + i + (ryw ? 0 : 1000);
      EXPECT_EQ(c->Query("BEGIN"), "");
      EXPECT_EQ(c->Query("INSERT INTO ryw VALUES (" + std::to_string(id) + ")"), "");
      EXPECT_EQ(c->Query("PREPARE TRANSACTION '" + gid + "'"), "");
      if (c->Query("SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + gid + "'") != "1") ++stale;
      EXPECT_EQ(c->Query("COMMIT PREPARED '" + gid + "'"), "");
      if (c->Query("SELECT count(*) FROM ryw WHERE id = " + std::to_string(id)) != "1") ++stale;
    }
    if (ryw) EXPECT_EQ(stale, 0);
    else EXPECT_GT(stale, 0) << "without read-your-writes the delayed standbys must show stale rows";
  }
}

// Another session's PREPARE TRANSACTION, seen at once by a new connection
// (psycopg's tpc_recover after tpc_prepare and close, in a transaction):
// pg_prepared_xacts, like every system catalog, is read on the primary, not
// on a standby that has not replayed the PREPARE yet. Needs the cluster of
// the test above (max_prepared_transactions).
TEST(ProxyCausalReadsTest, CatalogReadsSeeAnotherSessionsPrepare) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  px->CatchUp();
  {
    ApplyDelay delay("2s");
    LsnFeeder feeder(px.get());
    auto r = Psycopg(px->port,
                     "for i in range(5):\n"
                     "    c1 = connect()\n"
                     "    c1.tpc_begin(c1.xid(1, 'fd-recover-%d' % i, 'b'))\n"
                     "    c1.tpc_prepare()\n"
                     "    c1.close()\n"
                     "    with connect() as c2:\n"
                     "        xids = [x for x in c2.tpc_recover() if x.gtrid == 'fd-recover-%d' % i]\n"
                     "        print('recovered', len(xids))\n"
                     "        if xids: c2.tpc_rollback(xids[0])\n");
    EXPECT_EQ(r.exitCode, 0) << r.output;
    std::string want;
    for (int i = 0; i < 5; ++i) want += "recovered 1\n";
    EXPECT_NE(r.output.find(want + "done"), std::string::npos) << r.output;
  }
  // Whatever the test left prepared (when it fails) is rolled back.
  for (int i = 0; i < 10; ++i) {
    auto gid = Cluster().Query(0, "SELECT gid FROM pg_prepared_xacts LIMIT 1");
    if (!gid.ok() || gid->empty()) break;
    (void)Cluster().Query(0, "ROLLBACK PREPARED '" + *gid + "'");
  }
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
