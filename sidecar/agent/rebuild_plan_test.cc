#include "sidecar/agent/rebuild_plan.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

RebuildFacts StoppedWithChecksums() {
  RebuildFacts f;
  f.dataDirValid = true;
  f.checksums = true;
  return f;
}

TEST(AgentRebuildPlan, MethodTable) {
  struct Case {
    const char* what;
    RebuildFacts facts;
    bool refused;
    RebuildMethod method;
    bool fallback;
  };
  std::vector<Case> cases;
  cases.push_back({"stopped, checksums: rewind", StoppedWithChecksums(), false, RebuildMethod::kRewind, true});
  {
    RebuildFacts f = StoppedWithChecksums();
    f.checksums = false;
    f.walLogHints = true;
    cases.push_back({"wal_log_hints: rewind", f, false, RebuildMethod::kRewind, true});
    f.walLogHints = false;
    cases.push_back({"neither: basebackup", f, false, RebuildMethod::kBasebackup, false});
    f.requested = RebuildMethod::kRewind;
    cases.push_back({"neither, rewind requested: refused", f, true, RebuildMethod::kBasebackup, false});
  }
  {
    RebuildFacts f;
    cases.push_back({"empty node: basebackup", f, false, RebuildMethod::kBasebackup, false});
  }
  {
    RebuildFacts f = StoppedWithChecksums();
    f.rewindInterrupted = true;
    cases.push_back({"rewind interrupted before: basebackup", f, false, RebuildMethod::kBasebackup, false});
  }
  {
    RebuildFacts f = StoppedWithChecksums();
    f.requested = RebuildMethod::kBasebackup;
    cases.push_back({"basebackup requested", f, false, RebuildMethod::kBasebackup, false});
    f.requested = RebuildMethod::kAuto;
    f.specMethod = RecoveryMethod::kBasebackup;
    cases.push_back({"spec says basebackup", f, false, RebuildMethod::kBasebackup, false});
    f.requested = RebuildMethod::kRewind;
    cases.push_back({"explicit rewind beats spec", f, false, RebuildMethod::kRewind, false});
  }
  {
    RebuildFacts f = StoppedWithChecksums();
    f.running = true;
    f.role = BackendRole::kPrimary;
    cases.push_back({"running primary, not fenced: refused", f, true, RebuildMethod::kBasebackup, false});
    f.fenced = true;
    cases.push_back({"running primary, fenced: rewind", f, false, RebuildMethod::kRewind, true});
    f.fenced = false;
    f.role = BackendRole::kUnknown;
    cases.push_back({"running, role unknown, not fenced: refused", f, true, RebuildMethod::kBasebackup, false});
    f.role = BackendRole::kStandby;
    cases.push_back({"running standby: allowed", f, false, RebuildMethod::kRewind, true});
  }
  for (const auto& c : cases) {
    RebuildPlan p = PlanRebuild(c.facts);
    EXPECT_EQ(p.refused, c.refused) << c.what << ": " << p.refusal;
    if (c.refused) {
      EXPECT_FALSE(p.refusal.empty()) << c.what;
      EXPECT_TRUE(p.steps.empty()) << c.what;
      continue;
    }
    EXPECT_EQ(p.method, c.method) << c.what;
    EXPECT_EQ(p.fallbackToBasebackup, c.fallback) << c.what;
    EXPECT_FALSE(p.reason.empty()) << c.what;
  }
}

std::vector<std::string> Names(const std::vector<RebuildStep>& steps) {
  std::vector<std::string> out;
  for (auto s : steps) out.push_back(ToString(s));
  return out;
}

TEST(AgentRebuildPlan, StepsKeepOldDataUntilTheNewStarts) {
  RebuildFacts f;
  f.running = true;
  f.role = BackendRole::kStandby;
  f.dataDirValid = true;  // no checksums, no hints: basebackup
  EXPECT_EQ(Names(PlanRebuild(f).steps),
            (std::vector<std::string>{"stop", "save-local-config", "basebackup", "configure-standby",
                                      "swap-data-directory", "start", "wait-streaming", "cleanup"}));
  RebuildFacts r = StoppedWithChecksums();
  EXPECT_EQ(Names(PlanRebuild(r).steps),
            (std::vector<std::string>{"save-local-config", "rewind", "configure-standby", "start",
                                      "wait-streaming", "cleanup"}));
}

TEST(AgentRebuildPlan, RefuseUnfencedPrimary) {
  EXPECT_EQ(RefuseUnfencedPrimary(false, BackendRole::kPrimary, false), "");
  EXPECT_NE(RefuseUnfencedPrimary(true, BackendRole::kPrimary, false), "");
  EXPECT_EQ(RefuseUnfencedPrimary(true, BackendRole::kPrimary, true), "");
  EXPECT_EQ(RefuseUnfencedPrimary(true, BackendRole::kStandby, false), "");
  EXPECT_NE(RefuseUnfencedPrimary(true, BackendRole::kUnknown, false), "");
}

}  // namespace
}  // namespace pgvigil
