// postgres.parameters against a real PostgreSQL 15 primary: pgvigil.conf is
// written and included once, the server reloads and shows the values exactly as
// the spec holds them, a restart-only setting is reported as pending_restart, a
// value the server refuses is reported with its error, and a node without
// parameters keeps its postgresql.conf untouched.
#include "sidecar/agent/postgres_parameters.h"

#include <gtest/gtest.h>

#include "common/files.h"
#include "common/testing/pg_cluster.h"

namespace pgvigil {
namespace {

using testing::PgTestCluster;

class ParametersIT : public ::testing::Test {
 protected:
  void SetUp() override {
    PgTestCluster::Options o;
    o.nodes = 1;
    o.standbys = false;
    auto c = PgTestCluster::Create(o);
    ASSERT_TRUE(c.ok()) << c.error();
    pg_ = std::move(*c);
    spec_ = pg_->MakeSpec(testing::FreePort() + 100);
  }
  std::string Conf() const { return *ReadFile(pg_->nodes()[0].dataDir + "/postgresql.conf"); }
  std::string Show(const std::string& name) const {
    auto v = pg_->Query(0, "SELECT current_setting('" + name + "')");
    return v.ok() ? *v : "error: " + v.error();
  }
  ParameterApplier Applier(std::map<std::string, std::string> params) {
    ClusterSpec s = spec_;
    s.postgres.parameters = std::move(params);
    return ParameterApplier(LocalNode::From(s, s.nodes[0].name, pg_->dir() + "/state"));
  }

  std::unique_ptr<PgTestCluster> pg_;
  ClusterSpec spec_;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(ParametersIT, ReloadedValuesAreExactlyTheSpecsAndTheIncludeIsAddedOnce) {
  const std::string prefix = "%m it's a \\ test # ";
  ParameterApplier a = Applier({{"work_mem", "4321kB"}, {"log_line_prefix", prefix}});
  Status s = a.Apply();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Show("work_mem"), "4321kB");
  EXPECT_EQ(Show("log_line_prefix"), prefix);
  EXPECT_EQ(Count(Conf(), "include_if_exists = 'pgvigil.conf'"), 1u);
  web::json::value j = a.Json();
  EXPECT_TRUE(j.at("included").as_bool());
  EXPECT_EQ(j.at("pendingRestart").size(), 0u);
  EXPECT_EQ(j.at("errors").size(), 0u);
  EXPECT_EQ(j.at("lastError").as_string(), "");

  // A new value: written, reloaded; the include is not added twice.
  a.SetParameters({{"work_mem", "5MB"}});
  ASSERT_TRUE(a.Apply().ok());
  EXPECT_EQ(Show("work_mem"), "5MB");
  EXPECT_EQ(Show("log_line_prefix"), "%m [%p] ");  // removed from the spec: back to the default
  EXPECT_EQ(Count(Conf(), "include_if_exists = 'pgvigil.conf'"), 1u);
}

TEST_F(ParametersIT, ARestartOnlySettingIsPendingRestartAndABadValueIsReported) {
  ParameterApplier a = Applier({{"shared_buffers", "17MB"}, {"work_mem", "lots"}});
  ASSERT_TRUE(a.Apply().ok());
  web::json::value j = a.Json();
  ASSERT_EQ(j.at("pendingRestart").size(), 1u) << j.serialize();
  EXPECT_EQ(j.at("pendingRestart").at(0).as_string(), "shared_buffers");
  ASSERT_EQ(j.at("errors").size(), 1u) << j.serialize();
  EXPECT_EQ(j.at("errors").at(0).at("name").as_string(), "work_mem");
  EXPECT_NE(Show("work_mem"), "lots");
  // PostgreSQL would not start with that value: the spec is corrected first. After
  // a restart the setting is in force and nothing is pending.
  a.SetParameters({{"shared_buffers", "17MB"}});
  ASSERT_TRUE(a.Apply().ok());
  EXPECT_EQ(a.Json().at("errors").size(), 0u);
  ASSERT_TRUE(pg_->StopNode(0).ok());
  Status started = pg_->StartNode(0);
  ASSERT_TRUE(started.ok()) << started.message();
  ASSERT_TRUE(a.Apply().ok());
  EXPECT_EQ(Show("shared_buffers"), "17MB");
  EXPECT_EQ(a.Json().at("pendingRestart").size(), 0u);
}

TEST_F(ParametersIT, WithoutParametersPostgresqlConfIsLeftAlone) {
  const std::string before = Conf();
  ParameterApplier a = Applier({});
  ASSERT_TRUE(a.Apply().ok());
  EXPECT_EQ(Conf(), before);
  EXPECT_FALSE(a.Json().at("included").as_bool());
}

}  // namespace
}  // namespace pgvigil
