// PID-1 duties: with the reaper running and this test process a child
// subreaper (as PID 1 is for every orphan in a container), orphans left by our
// children are reaped, and RunProcess still gets the exit status of the child it
// started (the reaper's waitpid(-1) must not swallow it).
#include "common/child_reaper.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/process.h"

namespace pgvigil {
namespace {

// Our children that are zombies now.
int ZombieChildren() {
  int n = 0;
  DIR* d = opendir("/proc");
  if (!d) return -1;
  const std::string me = std::to_string(getpid());
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string stat;
    std::getline(f, stat);
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 4 > stat.size()) continue;
    std::string rest = stat.substr(paren + 2);  // "S PPID ..."
    const char state = rest[0];
    const std::string ppid = rest.substr(2, rest.find(' ', 2) - 2);
    if (ppid == me && state == 'Z') ++n;
  }
  closedir(d);
  return n;
}

TEST(ChildReaperTest, OrphansAreReapedAndRunnersKeepTheirExitStatuses) {
  ASSERT_TRUE(child_reaper::StartReaper(/*subreaper=*/true).ok());
  const uint64_t before = child_reaper::OrphansReaped();
  constexpr int kRuns = 40;
  for (int i = 0; i < kRuns; ++i) {
    // The shell exits at once; its background sleep is orphaned to us.
    auto r = RunProcess({"/bin/sh", "-c", "sleep 0.05 & exit " + std::to_string(i % 7)});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->exitCode, i % 7) << "run " << i << ": " << r->Describe();
  }
  // A child killed by a signal keeps that too.
  auto killed = RunProcess({"/bin/sh", "-c", "kill -KILL $$"});
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->signal, 9);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (child_reaper::OrphansReaped() < before + kRuns && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(child_reaper::OrphansReaped(), before + kRuns);
  EXPECT_EQ(ZombieChildren(), 0);
  child_reaper::StopReaper();
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

TEST(ChildReaperTest, WithoutTheReaperRunProcessWorksAsBefore) {
  auto r = RunProcess({"/bin/sh", "-c", "exit 5"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exitCode, 5);
  EXPECT_FALSE(RunProcess({"/nonexistent/program"}).ok());
}

}  // namespace
}  // namespace pgvigil
