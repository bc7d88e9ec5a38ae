// The proxy's default number of event loops: the pure parts by table, then the
// reader against this machine's real affinity and cgroup files (a thread pinned
// to one CPU; a child process moved into a cgroup of its own with a CPU quota,
// as root, skipped where the cgroup file system cannot be written).
#include "sidecar/proxy/proxy_threads.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

namespace pgvigil::proxy {
namespace {

TEST(ProxyThreads, ParsesCgroupV2CpuMax) {
  EXPECT_EQ(ParseCpuMax("max 100000\n"), std::nullopt);
  EXPECT_DOUBLE_EQ(ParseCpuMax("200000 100000\n").value_or(-1), 2.0);
  EXPECT_DOUBLE_EQ(ParseCpuMax("150000 100000").value_or(-1), 1.5);
  EXPECT_DOUBLE_EQ(ParseCpuMax("50000 100000").value_or(-1), 0.5);
  EXPECT_EQ(ParseCpuMax(""), std::nullopt);
  EXPECT_EQ(ParseCpuMax("200000"), std::nullopt);
  EXPECT_EQ(ParseCpuMax("0 100000"), std::nullopt);
  EXPECT_EQ(ParseCpuMax("-5 100000"), std::nullopt);
  EXPECT_EQ(ParseCpuMax("20x000 100000"), std::nullopt);
  EXPECT_EQ(ParseCpuMax("99999999999999999999 1"), std::nullopt);
}

TEST(ProxyThreads, ParsesCgroupV1CfsQuota) {
  EXPECT_EQ(ParseCfsQuota("-1\n", "100000\n"), std::nullopt);
  EXPECT_DOUBLE_EQ(ParseCfsQuota("300000\n", "100000\n").value_or(-1), 3.0);
  EXPECT_EQ(ParseCfsQuota("300000", "0"), std::nullopt);
  EXPECT_EQ(ParseCfsQuota("", "100000"), std::nullopt);
}

TEST(ProxyThreads, FindsTheCgroupPathsOfProcSelfCgroup) {
  const auto v2 = ParseProcCgroup("0::/kubepods.slice/pod1/ctr\n");
  EXPECT_EQ(v2.v2, "/kubepods.slice/pod1/ctr");
  EXPECT_EQ(v2.v1cpu, "");
  const auto v1 = ParseProcCgroup("9:name=systemd:/x\n4:memory:/m\n2:cpu,cpuacct:/system.slice/pg.service\n0::/\n");
  EXPECT_EQ(v1.v1cpu, "/system.slice/pg.service");
  EXPECT_EQ(v1.v2, "/");
  const auto split = ParseProcCgroup("2:cpuacct:/a\n1:cpu:/b\n");
  EXPECT_EQ(split.v1cpu, "/b");
  const auto bad = ParseProcCgroup("garbage\n3:cpu\n:::\n1:cpu:relative\n");
  EXPECT_EQ(bad.v1cpu, "");
  EXPECT_EQ(bad.v2, "");
}

TEST(ProxyThreads, HalfOfTheSmallestBudgetAtLeastOne) {
  struct Row {
    unsigned online, affinity;
    double quota;
    unsigned usable, loops;
  };
  const Row rows[] = {
      {0, 0, 0, 1, 1},      // nothing known
      {1, 1, 0, 1, 1},      // one core
      {2, 2, 0, 2, 1},      // this lab: two cores shared with PostgreSQL
      {3, 3, 0, 3, 1},      //
      {4, 4, 0, 4, 2},      //
      {16, 16, 0, 16, 8},   // a large VM
      {16, 4, 0, 4, 2},     // taskset / systemd CPUAffinity
      {64, 64, 2.0, 2, 1},  // a pod with a 2-CPU limit on a 64-core node
      {64, 64, 1.5, 2, 1},  // a quota of 1.5 CPUs is rounded up
      {64, 64, 0.5, 1, 1},  // less than one CPU
      {64, 64, 6.0, 6, 3},  //
      {8, 2, 6.0, 2, 1},    // affinity tighter than the quota
      {0, 8, 0, 8, 4},      // online unknown
  };
  for (const auto& r : rows) {
    CpuBudget b;
    b.online = r.online;
    b.affinity = r.affinity;
    b.quota = r.quota;
    SCOPED_TRACE(std::to_string(r.online) + "/" + std::to_string(r.affinity) + "/" + std::to_string(r.quota));
    EXPECT_EQ(UsableCpus(b), r.usable);
    EXPECT_EQ(DefaultProxyThreads(b), r.loops);
  }
  CpuBudget b;
  b.online = 64;
  b.affinity = 64;
  b.quota = 2;
  b.quotaFrom = "/sys/fs/cgroup/cpu.max";
  EXPECT_EQ(DescribeDefaultThreads(b),
            "1 event loop: half of the 2 CPUs this process may use, at least one (online 64, affinity 64, "
            "cgroup quota 2.00 in /sys/fs/cgroup/cpu.max; set proxy.threads to choose)");
}

TEST(ProxyThreads, ReadsTheCallingThreadsAffinity) {
  const CpuBudget all = ReadCpuBudget();
  ASSERT_GE(all.affinity, 1u);
  EXPECT_LE(all.affinity, all.online);
  CpuBudget pinned;
  std::thread t([&pinned] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
    if (sched_setaffinity(0, sizeof one, &one) == 0) pinned = ReadCpuBudget();
  });
  t.join();
  EXPECT_EQ(pinned.affinity, 1u);
  EXPECT_EQ(DefaultProxyThreads(pinned), 1u);
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.flush();
  return bool(f);
}

// A child process moved into a new cgroup with a quota of 3 CPUs reads a budget
// of 3 (when the machine has 3 or more online CPUs; else the quota is still
// read and the smaller count wins).
TEST(ProxyThreads, ReadsTheQuotaOfItsOwnCgroup) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a cgroup";
  std::string dir, quotaFile, quotaText;
  struct stat st {};
  if (stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", &st) == 0) {  // cgroup v1 cpu controller
    dir = "/sys/fs/cgroup/cpu/pgvigil-proxy-threads-test-" + std::to_string(getpid());
    quotaFile = dir + "/cpu.cfs_quota_us";
    quotaText = "300000";
  } else if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {  // cgroup v2
    WriteFile("/sys/fs/cgroup/cgroup.subtree_control", "+cpu");
    dir = "/sys/fs/cgroup/pgvigil-proxy-threads-test-" + std::to_string(getpid());
    quotaFile = dir + "/cpu.max";
    quotaText = "300000 100000";
  } else {
    GTEST_SKIP() << "no writable cgroup cpu controller";
  }
  if (mkdir(dir.c_str(), 0755) != 0) GTEST_SKIP() << "cannot make " << dir;
  if (!WriteFile(dir + "/cpu.cfs_period_us", "100000") && quotaFile.find("cfs") != std::string::npos) {
    rmdir(dir.c_str());
    GTEST_SKIP() << "cannot write the period in " << dir;
  }
  if (!WriteFile(quotaFile, quotaText)) {
    rmdir(dir.c_str());
    GTEST_SKIP() << "cannot write " << quotaFile;
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    char buf[160];
    int len;
    if (!WriteFile(dir + "/cgroup.procs", std::to_string(getpid()))) {
      len = std::snprintf(buf, sizeof buf, "move-failed");
    } else {
      const CpuBudget b = ReadCpuBudget();
      len = std::snprintf(buf, sizeof buf, "%.2f %u %u %s", b.quota, b.online, b.affinity, b.quotaFrom.c_str());
    }
    (void)!write(fds[1], buf, size_t(len));
    _exit(0);
  }
  close(fds[1]);
  char buf[200] = {};
  const ssize_t got = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  rmdir(dir.c_str());
  ASSERT_GT(got, 0);
  const std::string out(buf, size_t(got));
  if (out == "move-failed") GTEST_SKIP() << "cannot move a process into " << dir;
  double quota = 0;
  unsigned online = 0, affinity = 0;
  char from[160] = {};
  ASSERT_EQ(std::sscanf(buf, "%lf %u %u %159s", &quota, &online, &affinity, from), 4) << out;
  EXPECT_DOUBLE_EQ(quota, 3.0) << out;
  EXPECT_EQ(std::string(from), quotaFile);
  CpuBudget b;
  b.online = online;
  b.affinity = affinity;
  b.quota = quota;
  EXPECT_EQ(UsableCpus(b), std::min(3u, std::min(online, affinity)));
}

}  // namespace
}  // namespace pgvigil::proxy
