// How many event loops (worker threads) the proxy runs when proxy.threads is
// unset. The proxy shares its host (or its pod's CPU limit) with PostgreSQL,
// so it takes half of the CPUs this process may use, at least one: on a
// two-core host one loop spent 10-20 % less CPU per transaction than two and
// its threads waited 35-48 us per transaction to run instead of 86-121
// (bench/README.md, ninth run), and PgBouncer runs one. "May use" is the
// smallest of the online CPUs, the process's CPU affinity and its cgroup's
// CPU quota (cgroup v2 cpu.max on its own group and every ancestor, or v1
// cpu.cfs_quota_us / cpu.cfs_period_us): in a Kubernetes pod with a CPU limit
// the node's core count says nothing. Pure parts first (unit table), then the
// one reader of /proc and /sys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgvigil::proxy {

struct CpuBudget {
  unsigned online = 0;    // std::thread::hardware_concurrency(); 0: unknown
  unsigned affinity = 0;  // CPUs in the calling thread's affinity mask; 0: unknown
  double quota = 0;       // CPUs' worth of time the cgroup allows; 0: no limit
  std::string quotaFrom;  // the file the quota came from ("" when none)
};

// cgroup v2 cpu.max ("max 100000", "150000 100000"): CPUs' worth, or none for
// "max" or text that is not two positive numbers.
std::optional<double> ParseCpuMax(std::string_view text);
// cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us.
std::optional<double> ParseCfsQuota(std::string_view quota_us, std::string_view period_us);
// The cgroup paths of /proc/self/cgroup text: the v2 one ("0::/a/b") and the
// v1 one of the cpu controller ("4:cpu,cpuacct:/a/b"), empty when absent.
struct CgroupPaths {
  std::string v2;
  std::string v1cpu;
};
CgroupPaths ParseProcCgroup(std::string_view text);

// The smallest known of online, affinity and the quota rounded up; at least 1.
unsigned UsableCpus(const CpuBudget& b);
// Half of the usable CPUs, at least 1.
unsigned DefaultProxyThreads(const CpuBudget& b);
// "2 event loops: half of the 4 CPUs this process may use (cgroup quota 4.0 in /sys/...)".
std::string DescribeDefaultThreads(const CpuBudget& b);

// Reads this process's budget (the calling thread's affinity). `root` is the
// cgroup file system's mount point, for tests.
CpuBudget ReadCpuBudget(const std::string& root = "/sys/fs/cgroup");

}  // namespace pgvigil::proxy
