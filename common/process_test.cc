// RunProcess with real programs (/bin/sh scripts): exit status, merged output in
// order, the tail, timeouts that kill the whole process tree, start failures as
// errors, environment, working directory and the account switch when root.
#include "common/process.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace pgvigil {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

Result<ProcessResult> Sh(const std::string& script, ProcessOptions options = {}) {
  return RunProcess({"/bin/sh", "-c", script}, options);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  return out;
}

// A fresh directory, removed with its files at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pgvigil-proctest-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { RunProcess({"rm", "-rf", path_}).ok(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// True once `pid` is gone or a zombie (killed, not yet reaped by its new parent).
bool DeadWithin(pid_t pid, milliseconds limit) {
  auto end = steady_clock::now() + limit;
  while (steady_clock::now() < end) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state) || state == "Z") return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

pid_t ReadPid(const std::string& file) {
  for (int i = 0; i < 250; ++i) {  // the script writes it right away
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return 0;
}

TEST(RunProcessTest, ReportsExitCodes) {
  for (int code : {0, 1, 3, 126, 255}) {
    auto r = Sh("exit " + std::to_string(code));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->exitCode, code);
    EXPECT_EQ(r->signal, 0);
    EXPECT_FALSE(r->timedOut);
    EXPECT_EQ(r->success(), code == 0);
    EXPECT_EQ(r->Describe(), "exit " + std::to_string(code));
  }
}

TEST(RunProcessTest, ReportsDeathBySignal) {
  auto r = Sh("kill -TERM $$; sleep 5");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->signal, SIGTERM);
  EXPECT_EQ(r->exitCode, -1);
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->Describe(), "killed by signal 15");
}

TEST(RunProcessTest, MergesStdoutAndStderrLinesInOrder) {
  std::vector<std::string> seen;
  ProcessOptions o;
  o.onOutputLine = [&](const std::string& line) { seen.push_back(line); };
  auto r = Sh("echo one; echo two >&2; echo three; printf 'four' >&2", o);
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> expected = {"one", "two", "three", "four"};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(r->outputTail, "one\ntwo\nthree\nfour\n");
}

TEST(RunProcessTest, CarriageReturnEndsALine) {
  // pg_basebackup -P redraws its progress line with '\r'.
  std::vector<std::string> seen;
  ProcessOptions o;
  o.onOutputLine = [&](const std::string& line) { seen.push_back(line); };
  auto r = Sh("printf '10%%\\r20%%\\r100%%\\r\\ndone\\r\\n'", o);
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> expected = {"10%", "20%", "100%", "done"};
  EXPECT_EQ(seen, expected);
}

TEST(RunProcessTest, LongLinesAndManyLinesArriveWhole) {
  std::vector<std::string> seen;
  ProcessOptions o;
  o.onOutputLine = [&](const std::string& line) { seen.push_back(line); };
  // 20000 lines, and one line longer than a pipe read.
  auto r = Sh("i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done; "
              "head -c 10000 /dev/zero | tr '\\0' x; echo",
              o);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(seen.size(), 20001u);
  EXPECT_EQ(seen[0], "line0");
  EXPECT_EQ(seen[19999], "line19999");
  EXPECT_EQ(seen[20000], std::string(10000, 'x'));
}

TEST(RunProcessTest, KeepsOnlyTheLastTailLines) {
  int count = 0;
  ProcessOptions o;
  o.tailLines = 3;
  o.onOutputLine = [&](const std::string&) { ++count; };
  auto r = Sh("for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; done", o);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(count, 10);
  EXPECT_EQ(r->outputTail, "8\n9\n10\n");
}

TEST(RunProcessTest, StdinIsEmptySoReadersDoNotHang) {
  ProcessOptions o;
  o.timeout = milliseconds(20000);
  auto r = RunProcess({"cat"}, o);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->success()) << r->Describe();
  EXPECT_EQ(r->outputTail, "");
}

TEST(RunProcessTest, TimeoutKillsTheChildAndItsChildren) {
  TempDir dir;
  std::string pidfile = dir.path() + "/grandchild.pid";
  ProcessOptions o;
  o.timeout = milliseconds(500);
  auto start = steady_clock::now();
  // The grandchild holds the output pipe too; the timeout must not wait for it.
  auto r = Sh("sleep 60 & echo $! > " + pidfile + "; echo waiting; sleep 60", o);
  auto took = steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->timedOut);
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->Describe(), "timed out");
  EXPECT_EQ(r->outputTail, "waiting\n");
  EXPECT_LT(took, std::chrono::seconds(20));  // far less than the children's 60 s
  pid_t grandchild = ReadPid(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(DeadWithin(grandchild, milliseconds(5000)));
  kill(grandchild, SIGKILL);  // in case the assertion above failed
}

TEST(RunProcessTest, ChildThatLeavesADaemonOnThePipeStillReturnsItsStatus) {
  // Like `pg_ctl start` without -l, or an upCommand that backgrounds arping: the
  // command is done when the child exits, not when every descendant has.
  TempDir dir;
  std::string pidfile = dir.path() + "/daemon.pid";
  ProcessOptions o;
  o.timeout = milliseconds(60000);
  auto start = steady_clock::now();
  auto r = Sh("sleep 60 & echo $! > " + pidfile + "; echo started; exit 4", o);
  auto took = steady_clock::now() - start;
  pid_t daemon = ReadPid(pidfile);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(r->timedOut);
  EXPECT_EQ(r->exitCode, 4);
  EXPECT_EQ(r->outputTail, "started\n");
  EXPECT_LT(took, std::chrono::seconds(30));
  ASSERT_GT(daemon, 0);
  EXPECT_EQ(kill(daemon, 0), 0) << "the background process was left alone";
  kill(daemon, SIGKILL);
}

TEST(RunProcessTest, ProgramThatCannotStartIsAnError) {
  auto missing = RunProcess({"/nonexistent/pgvigil-no-such-program", "x"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("/nonexistent/pgvigil-no-such-program"), std::string::npos) << missing.error();
  EXPECT_NE(missing.error().find("No such file"), std::string::npos) << missing.error();

  auto not_on_path = RunProcess({"pgvigil-no-such-program-on-path"});
  ASSERT_FALSE(not_on_path.ok());
  EXPECT_NE(not_on_path.error().find("pgvigil-no-such-program-on-path"), std::string::npos);

  TempDir dir;
  std::string script = dir.path() + "/not-executable.sh";
  std::ofstream(script) << "#!/bin/sh\necho hi\n";
  chmod(script.c_str(), 0644);
  auto denied = RunProcess({script});  // no x bit at all: even root may not execute it
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().find("Permission denied"), std::string::npos) << denied.error();

  EXPECT_FALSE(RunProcess({}).ok());
  ProcessOptions bad_dir;
  bad_dir.workingDirectory = "/nonexistent/pgvigil-dir";
  auto cd = RunProcess({"/bin/true"}, bad_dir);
  ASSERT_FALSE(cd.ok());
  EXPECT_NE(cd.error().find("/nonexistent/pgvigil-dir"), std::string::npos) << cd.error();
}

TEST(RunProcessTest, ExitCode127FromTheProgramItselfIsNotAStartFailure) {
  auto r = Sh("exit 127");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exitCode, 127);
}

TEST(RunProcessTest, EnvironmentIsAddedAndReplaced) {
  setenv("PGVIGIL_PROCTEST_KEEP", "kept", 1);
  setenv("PGVIGIL_PROCTEST_REPLACE", "old", 1);
  ProcessOptions o;
  o.env = {{"PGVIGIL_PROCTEST_NEW", "a b=c"}, {"PGVIGIL_PROCTEST_REPLACE", "new"}};
  auto r = Sh("echo \"$PGVIGIL_PROCTEST_KEEP|$PGVIGIL_PROCTEST_NEW|$PGVIGIL_PROCTEST_REPLACE\"; "
              "env | grep -c '^PGVIGIL_PROCTEST_REPLACE='",
              o);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Lines(r->outputTail), (std::vector<std::string>{"kept|a b=c|new", "1"}));
  unsetenv("PGVIGIL_PROCTEST_KEEP");
  unsetenv("PGVIGIL_PROCTEST_REPLACE");
}

TEST(RunProcessTest, RunsInTheWorkingDirectory) {
  TempDir dir;
  ProcessOptions o;
  o.workingDirectory = dir.path();
  auto r = RunProcess({"/bin/pwd", "-P"}, o);
  ASSERT_TRUE(r.ok()) << r.error();
  char* real = realpath(dir.path().c_str(), nullptr);
  EXPECT_EQ(r->outputTail, std::string(real) + "\n");
  free(real);
}

TEST(RunProcessTest, RunsAsAnotherUserWhenRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  struct passwd* pw = getpwnam("postgres");
  if (!pw) GTEST_SKIP() << "no postgres account";
  std::string home = pw->pw_dir;
  ProcessOptions o;
  o.runAsUser = "postgres";
  o.workingDirectory = "/";
  auto r = Sh("id -un; id -u; echo $HOME; echo $USER", o);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->success()) << r->outputTail;
  EXPECT_EQ(Lines(r->outputTail), (std::vector<std::string>{"postgres", std::to_string(pw->pw_uid), home,
                                                              "postgres"}));

  // The child has exactly the user's groups (primary and supplementary), as
  // initgroups() gave it; none of root's.
  int n = 64;
  std::vector<gid_t> want(n);
  ASSERT_GE(getgrouplist("postgres", pw->pw_gid, want.data(), &n), 0);
  want.resize(n);
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  std::string want_line;
  for (gid_t g : want) want_line += (want_line.empty() ? "" : " ") + std::to_string(g);
  auto groups = Sh("id -G | tr ' ' '\\n' | sort -n | uniq | tr '\\n' ' ' | sed 's/ $//'", o);
  ASSERT_TRUE(groups.ok()) << groups.error();
  EXPECT_EQ(Lines(groups->outputTail), std::vector<std::string>{want_line});

  o.runAsUser = "pgvigil-no-such-user";
  auto missing = Sh("true", o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("pgvigil-no-such-user"), std::string::npos);
}

// The packaged sidecar holds CAP_NET_ADMIN and CAP_NET_RAW as ambient capabilities
// (its unit's AmbientCapabilities=). Only the VIP commands may inherit them: a
// PostgreSQL server started through pg_ctl must run without any.
TEST(RunProcessTest, AmbientCapabilitiesPassOnlyWhenAsked) {
  if (geteuid() != 0) GTEST_SKIP() << "raising an ambient capability needs it permitted (root)";
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  ASSERT_EQ(syscall(SYS_capget, &header, data), 0);
  const __user_cap_data_struct saved[2] = {data[0], data[1]};
  data[0].inheritable |= 1u << CAP_NET_RAW;
  ASSERT_EQ(syscall(SYS_capset, &header, data), 0);
  ASSERT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0), 0);
  auto ambient_of_child = [](bool keep) {
    ProcessOptions o;
    o.keepAmbientCapabilities = keep;
    auto r = RunProcess({"grep", "^CapAmb:", "/proc/self/status"}, o);
    return r.ok() ? r->outputTail : r.error();
  };
  std::string dropped = ambient_of_child(false);
  std::string kept = ambient_of_child(true);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_data_struct restore[2] = {saved[0], saved[1]};
  syscall(SYS_capset, &header, restore);
  EXPECT_NE(dropped.find("CapAmb:\t0000000000000000"), std::string::npos) << dropped;
  EXPECT_NE(kept.find("CapAmb:\t0000000000002000"), std::string::npos) << kept;
}

TEST(SplitCommandLineTest, HonoursQuotes) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SplitCommandLine(""), V{});
  EXPECT_EQ(SplitCommandLine("  \t\n "), V{});
  EXPECT_EQ(SplitCommandLine("/sbin/ip addr  add\t10.0.0.1/24 dev eth0"),
            (V{"/sbin/ip", "addr", "add", "10.0.0.1/24", "dev", "eth0"}));
  EXPECT_EQ(SplitCommandLine("a 'b c' \"d e\" f''g \"\" ''"), (V{"a", "b c", "d e", "fg", "", ""}));
  EXPECT_EQ(SplitCommandLine("--opt=\"x y\" \"it's\" 'say \"hi\"'"), (V{"--opt=x y", "it's", "say \"hi\""}));
  EXPECT_EQ(SplitCommandLine("sh -c 'echo $_IP_$ > /tmp/x'"), (V{"sh", "-c", "echo $_IP_$ > /tmp/x"}));
}

TEST(Process, ChildInheritsNoDescriptorsBeyondStdio) {
  // A descriptor the parent opened without close-on-exec (as a listening
  // socket would be) must not reach the child: a postmaster started by the
  // sidecar would keep it open after the sidecar exits.
  int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);
  auto r = Sh("ls /proc/$$/fd");
  ::close(leaked);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(r->success()) << r->Describe();
  std::vector<std::string> fds = Lines(r->outputTail);
  for (const auto& fd : fds) EXPECT_LE(std::atoi(fd.c_str()), 2) << "descriptor " << fd << " leaked";
  EXPECT_FALSE(fds.empty());
}

}  // namespace
}  // namespace pgvigil
