// Kubernetes mode decisions (pod_lifecycle.h): what the sidecar does with its
// PostgreSQL at start, and which operations a self-fenced node refuses.
#include "sidecar/agent/pod_lifecycle.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(PodLifecycleTest, BootActionTable) {
  struct Case {
    bool dataDir, running, signal;
    BootAction want;
  } cases[] = {
      {false, false, false, BootAction::kNone},
      {true, false, true, BootAction::kStartStandby},
      {true, false, false, BootAction::kWaitForController},  // a primary's: maybe replaced
      {true, true, false, BootAction::kAlreadyRunning},
      {true, true, true, BootAction::kAlreadyRunning},
  };
  for (const auto& c : cases)
    EXPECT_EQ(DecideBootAction(c.dataDir, c.running, c.signal), c.want)
        << c.dataDir << c.running << c.signal;
}

TEST(PodLifecycleTest, ASelfFencedNodeRunsPostgresAgainOnlyForANewerTerm) {
  struct Case {
    OpKind kind;
    uint64_t term;
    bool fenced;
    uint64_t fencedTerm;
    bool refused;
  } cases[] = {
      {OpKind::kStart, 7, false, 0, false},   // never fenced
      {OpKind::kStart, 7, true, 7, true},     // same term as the fence
      {OpKind::kStart, 6, true, 7, true},
      {OpKind::kStart, 8, true, 7, false},    // a newer controller
      {OpKind::kRestart, 7, true, 7, true},
      {OpKind::kPromote, 7, true, 7, true},
      {OpKind::kFollow, 7, true, 7, true},
      {OpKind::kRebuild, 7, true, 7, true},
      {OpKind::kRebuild, 8, true, 7, false},
      {OpKind::kStop, 7, true, 7, false},     // stopping is always fine
      {OpKind::kStart, 1, true, 0, false},    // fenced before any controller term
      {OpKind::kStart, 0, true, 0, true},
  };
  for (const auto& c : cases) {
    std::string why = RefuseAfterSelfFence(c.kind, c.term, c.fenced, c.fencedTerm);
    EXPECT_EQ(!why.empty(), c.refused) << ToString(c.kind) << " " << c.term << " " << why;
    if (c.refused) {
      EXPECT_NE(why.find("term " + std::to_string(c.fencedTerm)), std::string::npos) << why;
    }
  }
}

TEST(PodLifecycleTest, SelfFenceRecordSurvivesARestart) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("pgvigil-podlc-" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto none = LoadSelfFenceRecord(dir.string());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(SaveSelfFenceRecord(dir.string(), 12).ok());
  auto back = LoadSelfFenceRecord(dir.string());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->value(), 12u);
  std::ofstream(dir / "self-fenced") << "garbage";
  EXPECT_FALSE(LoadSelfFenceRecord(dir.string()).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pgvigil
