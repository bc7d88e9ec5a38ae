// The test fixture itself, against real PostgreSQL: a primary and two streaming
// standbys that replicate, and a promoted standby that accepts writes.
#include "common/testing/pg_cluster.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace pgvigil::testing {
namespace {

TEST(PgTestCluster, PrimaryAndTwoStreamingStandbysReplicate) {
  auto c = PgTestCluster::Create();
  ASSERT_TRUE(c.ok()) << c.error();
  auto& cl = **c;
  EXPECT_EQ(*cl.Query(0, "SELECT pg_is_in_recovery()"), "f");
  EXPECT_EQ(*cl.Query(1, "SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(*cl.Query(2, "SELECT pg_is_in_recovery()"), "t");
  ASSERT_TRUE(cl.Query(0, "CREATE TABLE t AS SELECT 42 AS v").ok());
  ASSERT_TRUE(cl.Query(0, "SELECT pg_switch_wal()").ok());
  std::string seen;
  for (int i = 0; i < 100 && seen != "42"; ++i) {
    auto r = cl.Query(2, "SELECT v FROM t");
    if (r.ok()) seen = *r;
    if (seen != "42") usleep(100000);
  }
  EXPECT_EQ(seen, "42");
  // A standby refuses writes.
  EXPECT_FALSE(cl.Query(1, "CREATE TABLE u (x int)").ok());
  // Promotion makes it writable.
  ASSERT_TRUE(cl.PromoteNode(1).ok());
  EXPECT_TRUE(cl.Query(1, "CREATE TABLE u (x int)").ok());
  std::string dir = cl.dir();
  c.value().reset();
  EXPECT_NE(access(dir.c_str(), F_OK), 0) << "test dir left behind";
}

}  // namespace
}  // namespace pgvigil::testing
