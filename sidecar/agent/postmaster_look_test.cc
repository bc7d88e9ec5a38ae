// LookAtPostmaster with real processes (the facts of /proc, judged by
// postmaster_lock.h): a program named postgres working in the data directory
// runs; the same killed and not reaped is a zombie, reaped it is gone; a sleep
// elsewhere (a recycled pid) and this process are not the postmaster. And
// RemoveStalePidFile leaves a lock file that changed. A real PostgreSQL killed
// by SIGKILL is in agent_ops_test (KilledPrimaryZombieIsRewound).
#include "sidecar/agent/local_postgres.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/files.h"

namespace pgvigil {
namespace {

// Runs `program` (argv[0] = its base name: that is its comm) in `cwd`.
pid_t Spawn(const std::string& program, const std::string& cwd) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    const std::string name = program.substr(program.rfind('/') + 1);
    ::execl(program.c_str(), name.c_str(), "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Until it has exec'd (its comm is no longer ours).
  for (int i = 0; i < 200; ++i) {
    auto comm = ReadFile("/proc/" + std::to_string(pid) + "/comm");
    if (comm.ok() && comm->rfind(program.substr(program.rfind('/') + 1), 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pid;
}

class PostmasterLookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgvigil-test-pidfile-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    data_ = dir_ + "/data";
    ASSERT_TRUE(MakeDir(data_, 0700).ok());
    // A program whose comm is "postgres": a copy of sleep.
    auto sleep = ReadFile("/bin/sleep");
    ASSERT_TRUE(sleep.ok());
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/postgres", *sleep, 0755).ok());
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  PostmasterVerdict Look(long pid) {
    EXPECT_TRUE(WriteFileAtomic(data_ + "/postmaster.pid", std::to_string(pid) + "\n" + data_ + "\n", 0600).ok());
    const PostmasterLook l = LookAtPostmaster(data_);
    EXPECT_TRUE(l.present);
    return l.judgement.verdict;
  }

  std::string dir_, data_;
};

TEST_F(PostmasterLookTest, JudgesRealProcesses) {
  using V = PostmasterVerdict;
  EXPECT_EQ(LookAtPostmaster(data_).judgement.verdict, V::kNoPidFile);
  ASSERT_TRUE(WriteFileAtomic(data_ + "/postmaster.pid", "garbage\n", 0600).ok());
  EXPECT_EQ(LookAtPostmaster(data_).judgement.verdict, V::kUnreadable);

  pid_t pm = Spawn(dir_ + "/postgres", data_);
  ASSERT_GT(pm, 0);
  EXPECT_EQ(Look(pm), V::kRunning) << "a postgres process working in the data directory";
  // The data directory named through another path (a symbolic link here; a bind
  // mount or another mount namespace alike): the same directory, still running.
  ASSERT_EQ(::symlink(data_.c_str(), (dir_ + "/alias").c_str()), 0);
  EXPECT_EQ(LookAtPostmaster(dir_ + "/alias").judgement.verdict, V::kRunning);
  pid_t other = Spawn("/bin/sleep", "/");
  ASSERT_GT(other, 0);
  EXPECT_EQ(Look(other), V::kNotPostmaster) << "a recycled pid: sleep in /";
  pid_t elsewhere = Spawn(dir_ + "/postgres", dir_);
  EXPECT_EQ(Look(elsewhere), V::kNotPostmaster) << "a postgres process of another directory";
  EXPECT_EQ(Look(::getpid()), V::kNotPostmaster) << "this process";

  // Killed, not reaped yet: a zombie (what the lab's init leaves for ~2 s).
  ASSERT_EQ(::kill(pm, SIGKILL), 0);
  for (int i = 0; i < 200 && !ProcessGone(pm); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(ProcessGone(pm));
  EXPECT_EQ(Look(pm), V::kZombie);
  // Stale: removed only while it still holds what was judged.
  const PostmasterLook stale = LookAtPostmaster(data_);
  ASSERT_TRUE(stale.judgement.stale());
  ASSERT_TRUE(WriteFileAtomic(data_ + "/postmaster.pid", "999\n" + data_ + "\n", 0600).ok());
  EXPECT_FALSE(RemoveStalePidFile(data_, stale.text).ok()) << "a lock file that changed is left";
  EXPECT_TRUE(PathExists(data_ + "/postmaster.pid"));
  EXPECT_EQ(Look(pm), V::kZombie);
  EXPECT_TRUE(RemoveStalePidFile(data_, LookAtPostmaster(data_).text).ok());
  EXPECT_FALSE(PathExists(data_ + "/postmaster.pid"));
  EXPECT_TRUE(RemoveStalePidFile(data_, "anything").ok()) << "already gone";

  ::waitpid(pm, nullptr, 0);
  EXPECT_EQ(Look(pm), V::kGone) << "reaped";

  // The socket's lock file goes with it when it names the same pid.
  const std::string sock = dir_ + "/.s.PGSQL.5999.lock";
  const std::string with_socket = std::to_string(pm) + "\n" + data_ + "\n1700000000\n5999\n" + dir_ + "\n*\n";
  ASSERT_TRUE(WriteFileAtomic(data_ + "/postmaster.pid", with_socket, 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(sock, std::to_string(other) + "\n" + data_ + "\n", 0600).ok());
  EXPECT_TRUE(RemoveStalePidFile(data_, with_socket).ok());
  EXPECT_TRUE(PathExists(sock)) << "another pid's socket lock is left";
  ASSERT_TRUE(WriteFileAtomic(data_ + "/postmaster.pid", with_socket, 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(sock, std::to_string(pm) + "\n" + data_ + "\n", 0600).ok());
  EXPECT_TRUE(RemoveStalePidFile(data_, with_socket).ok());
  EXPECT_FALSE(PathExists(sock));
  EXPECT_FALSE(PathExists(data_ + "/postmaster.pid"));
  for (pid_t p : {other, elsewhere}) {
    ::kill(p, SIGKILL);
    ::waitpid(p, nullptr, 0);
  }
}

}  // namespace
}  // namespace pgvigil
