// The self-fence decision (pure) and how it reads a data directory.
#include "sidecar/agent/self_fence.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(SelfFence, FencesOnlyAWritablePrimaryWithoutLease) {
  struct Case {
    const char* name;
    bool lease;
    LocalPrimaryLook pg;
    bool fence;
  } cases[] = {
      {"lease held, primary", true, {true, false}, false},
      {"lease out, primary", false, {true, false}, true},
      {"lease out, standby", false, {true, true}, false},
      {"lease out, nothing runs", false, {false, false}, false},
      {"lease held, standby", true, {true, true}, false},
  };
  for (const auto& c : cases) {
    const std::string why = FenceReason(c.lease, c.pg, 42);
    EXPECT_EQ(!why.empty(), c.fence) << c.name;
    if (c.fence) {
      EXPECT_NE(why.find("write lease 42 ms ago"), std::string::npos) << why;
    }
  }
}

TEST(SelfFence, ReadsPostmasterAndSignalFilesFromTheDataDirectory) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("pgvigil-fence-" + std::to_string(getpid()));
  fs::create_directories(dir);
  LocalPrimaryLook l = LookAtDataDir(dir.string());
  EXPECT_FALSE(l.postmasterAlive);
  EXPECT_FALSE(l.recoverySignal);
  std::ofstream(dir / "standby.signal") << "";
  EXPECT_TRUE(LookAtDataDir(dir.string()).recoverySignal);
  fs::remove(dir / "standby.signal");
  std::ofstream(dir / "recovery.signal") << "";
  EXPECT_TRUE(LookAtDataDir(dir.string()).recoverySignal);
  // A stale postmaster.pid naming no process is not a live postmaster.
  std::ofstream(dir / "postmaster.pid") << "999999999\n" << dir.string() << "\n";
  EXPECT_FALSE(LookAtDataDir(dir.string()).postmasterAlive);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pgvigil
