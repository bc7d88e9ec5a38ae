// PostmasterAlive: the in-process `pg_ctl status` an operation starts with. A
// pid file naming a live non-postgres process (a recycled pid after a crash),
// a dead pid, this process, or garbage is not a running server. A real
// postmaster is covered by agent_ops_test (stop/start against PostgreSQL 15).
#include "sidecar/agent/local_postgres.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

pid_t SpawnSleep() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::usleep(100 * 1000);  // let it exec (its comm becomes "sleep")
  return pid;
}

TEST(PostmasterAlive, OnlyALivePostgresProcessCounts) {
  pid_t other = SpawnSleep();
  ASSERT_GT(other, 0);
  const std::string line2 = "\n/tmp/data\n1700000000\n5432\n";
  EXPECT_FALSE(PostmasterAlive(std::to_string(other) + line2)) << "a recycled pid of another program";
  ::kill(other, SIGKILL);
  ::waitpid(other, nullptr, 0);
  EXPECT_FALSE(PostmasterAlive(std::to_string(other) + line2)) << "a dead pid";
  EXPECT_FALSE(PostmasterAlive(std::to_string(::getpid()) + line2)) << "this process";
  EXPECT_FALSE(PostmasterAlive("garbage\n"));
  EXPECT_FALSE(PostmasterAlive(""));
}

}  // namespace
}  // namespace pgvigil
