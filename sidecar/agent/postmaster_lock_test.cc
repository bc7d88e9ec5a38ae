// JudgePostmaster, ParsePidFile, ParseProcStatState: the lock file left by a
// killed postmaster (pid gone, zombie, recycled) is stale; a postgres process in
// the data directory, or one /proc cannot tell apart, runs.
#include "sidecar/agent/postmaster_lock.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

const std::string kData = "/var/lib/postgresql/data/pgdata";

PidProcessFacts Proc(bool exists, char state, const std::string& comm, const char* cwd,
                     bool self = false) {
  PidProcessFacts p;
  p.exists = exists;
  p.state = state;
  p.comm = comm;
  p.cwdKnown = cwd != nullptr;
  p.cwd = cwd ? cwd : "";
  p.cwdIsDataDir = p.cwd == kData;
  p.isSelf = self;
  return p;
}

TEST(PostmasterLock, Verdicts) {
  using V = PostmasterVerdict;
  const PidFileContent file{4242, kData, /*port=*/0, /*socketDir=*/""};
  struct Case {
    const char* what;
    bool present;
    std::optional<PidFileContent> file;
    PidProcessFacts proc;
    V want;
  };
  const Case cases[] = {
      {"no lock file", false, std::nullopt, Proc(false, 0, "", nullptr), V::kNoPidFile},
      {"empty or garbage lock file", true, std::nullopt, Proc(false, 0, "", nullptr), V::kUnreadable},
      {"the postmaster in its data directory", true, file, Proc(true, 'S', "postgres", kData.c_str()),
       V::kRunning},
      {"running, state unknown", true, file, Proc(true, 0, "postgres", kData.c_str()), V::kRunning},
      {"pid gone", true, file, Proc(false, 0, "", nullptr), V::kGone},
      {"zombie (killed, not reaped yet)", true, file, Proc(true, 'Z', "postgres", nullptr), V::kZombie},
      {"dead (X)", true, file, Proc(true, 'X', "postgres", nullptr), V::kZombie},
      {"zombie whose cwd still reads", true, file, Proc(true, 'Z', "postgres", kData.c_str()), V::kZombie},
      {"recycled: another program elsewhere", true, file, Proc(true, 'S', "sleep", "/"), V::kNotPostmaster},
      {"recycled: another cluster's postmaster", true, file,
       Proc(true, 'S', "postgres", "/var/lib/postgresql/15/main"), V::kNotPostmaster},
      {"recycled: a shell in the data directory", true, file, Proc(true, 'S', "bash", kData.c_str()),
       V::kNotPostmaster},
      {"recycled: another program, cwd unreadable", true, file, Proc(true, 'S', "pgvigil-sidecar", nullptr),
       V::kNotPostmaster},
      {"postgres process, cwd unreadable: running (safe)", true, file, Proc(true, 'S', "postgres", nullptr),
       V::kRunning},
      {"nothing readable about a live pid: running (safe)", true, file, Proc(true, 0, "", nullptr),
       V::kRunning},
      {"this process (a restarted container's pid 1)", true, file, Proc(true, 'S', "pgvigil-sidecar", "/", true),
       V::kNotPostmaster},
      {"postmaster named postmaster", true, file, Proc(true, 'S', "postmaster", kData.c_str()), V::kRunning},
  };
  for (const auto& c : cases) {
    const PostmasterJudgement j = JudgePostmaster(c.present, c.file, c.proc, kData);
    EXPECT_EQ(j.verdict, c.want) << c.what << ": got " << ToString(j.verdict) << " (" << j.reason << ")";
    EXPECT_FALSE(j.reason.empty()) << c.what;
    EXPECT_EQ(j.running(), c.want == V::kRunning) << c.what;
    EXPECT_EQ(j.stale(), c.want == V::kGone || c.want == V::kZombie || c.want == V::kNotPostmaster) << c.what;
  }
}

TEST(PostmasterLock, ParsePidFile) {
  auto full = ParsePidFile("4242\n/data/x\n1700000000\n5432\n/var/run/postgresql\n*\n  5432001     98304\nready   \n");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->pid, 4242);
  EXPECT_EQ(full->dataDir, "/data/x");
  EXPECT_EQ(full->port, 5432);
  EXPECT_EQ(full->socketDir, "/var/run/postgresql");
  EXPECT_EQ(SocketLockPath(*full), "/var/run/postgresql/.s.PGSQL.5432.lock");
  auto single = ParsePidFile("-77\n/data/y\n");  // single-user backend
  ASSERT_TRUE(single);
  EXPECT_EQ(single->pid, 77);
  auto only_pid = ParsePidFile("15");
  ASSERT_TRUE(only_pid);
  EXPECT_EQ(only_pid->pid, 15);
  EXPECT_EQ(only_pid->dataDir, "");
  EXPECT_EQ(SocketLockPath(*only_pid), "") << "no socket directory";
  auto no_socket = ParsePidFile("15\n/data\n1700000000\n5432\n\n*\n");
  ASSERT_TRUE(no_socket);
  EXPECT_EQ(SocketLockPath(*no_socket), "") << "unix_socket_directories = ''";
  for (const char* bad : {"", "\n", "garbage\n", "12ab\n", "0\n", "-0\n", "99999999999999999999999\n", " \n"})
    EXPECT_FALSE(ParsePidFile(bad)) << "'" << bad << "'";
}

TEST(PostmasterLock, ParseProcStatState) {
  EXPECT_EQ(ParseProcStatState("4242 (postgres) S 1 4242 4242 0 -1"), 'S');
  EXPECT_EQ(ParseProcStatState("4242 (postgres) Z 1 4242 4242 0 -1"), 'Z');
  EXPECT_EQ(ParseProcStatState("7 (a) b) R 1 2"), 'R') << "a name with ') '";
  EXPECT_EQ(ParseProcStatState(""), 0);
  EXPECT_EQ(ParseProcStatState("7 (x)"), 0);
  EXPECT_EQ(ParseProcStatState("7 (x"), 0);
}

}  // namespace
}  // namespace pgvigil
