#include "sidecar/agent/term_store.h"

#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/files.h"

namespace pgvigil {
namespace {

class AgentTermStore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agent-term-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override {
    unlink((dir_ + "/term").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(AgentTermStore, OnlyGoesUpAndSurvivesRestart) {
  {
    TermStore t(dir_ + "/term");
    ASSERT_TRUE(t.Load().ok());
    EXPECT_EQ(t.highest(), 0u);
    EXPECT_EQ(t.Observe(5), TermStore::Verdict::kAccepted);
    EXPECT_EQ(t.Observe(5), TermStore::Verdict::kAccepted);
    EXPECT_EQ(t.Observe(4), TermStore::Verdict::kStale);
    EXPECT_EQ(t.highest(), 5u);
  }
  TermStore again(dir_ + "/term");
  ASSERT_TRUE(again.Load().ok());
  EXPECT_EQ(again.highest(), 5u);
  EXPECT_EQ(again.Observe(4), TermStore::Verdict::kStale);
}

TEST_F(AgentTermStore, CorruptFileRefusesToStart) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/term", "12x\n").ok());
  TermStore t(dir_ + "/term");
  Status s = t.Load();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a term"), std::string::npos);
}

TEST_F(AgentTermStore, AbsurdTermsAreRefusedWithoutMovingTheHighest) {
  TermStore t(dir_ + "/term");
  ASSERT_TRUE(t.Load().ok());
  ASSERT_EQ(t.Observe(10), TermStore::Verdict::kAccepted);
  std::string err;
  EXPECT_EQ(t.Observe(UINT64_MAX, &err), TermStore::Verdict::kOutOfRange);
  EXPECT_NE(err.find("out of range"), std::string::npos) << err;
  EXPECT_EQ(t.Observe(kMaxTerm + 1), TermStore::Verdict::kOutOfRange);
  EXPECT_EQ(t.Observe(10 + kMaxTermJump + 1), TermStore::Verdict::kOutOfRange);
  EXPECT_EQ(t.highest(), 10u);
  // A jump of at most kMaxTermJump is a term like any other; the next real one still works.
  EXPECT_EQ(t.Observe(10 + kMaxTermJump), TermStore::Verdict::kAccepted);
  EXPECT_EQ(t.Observe(11 + kMaxTermJump), TermStore::Verdict::kAccepted);
  TermStore again(dir_ + "/term");
  ASSERT_TRUE(again.Load().ok());
  EXPECT_EQ(again.highest(), 11 + kMaxTermJump);
}

TEST_F(AgentTermStore, AnAbsurdPersistedTermStopsWithTheWayOut) {
  // Written by an older version that accepted any term.
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/term", "18446744073709551615\n").ok());
  TermStore t(dir_ + "/term");
  Status s = t.Load();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("above the largest valid term"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("remove the file"), std::string::npos) << s.message();
  // The way out: without the file the node starts at 0 and takes the next command's term.
  ASSERT_EQ(unlink((dir_ + "/term").c_str()), 0);
  ASSERT_TRUE(t.Load().ok());
  EXPECT_EQ(t.Observe(42), TermStore::Verdict::kAccepted);
}

TEST_F(AgentTermStore, PersistFailureIsReported) {
  TermStore t(dir_ + "/missing-dir/term");
  ASSERT_TRUE(t.Load().ok());
  std::string err;
  EXPECT_EQ(t.Observe(3, &err), TermStore::Verdict::kPersistFailed);
  EXPECT_FALSE(err.empty());
  EXPECT_EQ(t.highest(), 0u);  // not raised when it could not be persisted
}

}  // namespace
}  // namespace pgvigil
