#include "sidecar/proxy/proxy_threads.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace pgvigil::proxy {
namespace {

std::optional<long long> PositiveNumber(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  if (s.empty() || s.size() > 18) return std::nullopt;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v > 0 ? std::optional<long long>(v) : std::nullopt;
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return std::nullopt;
  std::string s;
  std::getline(f, s, '\0');
  if (s.size() > 4096) s.resize(4096);
  return s;
}

// The tightest quota of `dir` and its ancestors up to `root` (cgroup v2: a
// parent's cpu.max limits its children too).
void TightestCpuMax(const std::string& root, std::string dir, CpuBudget* b) {
  for (;;) {
    const std::string file = root + dir + (dir == "/" ? "" : "/") + "cpu.max";
    if (auto text = ReadSmallFile(file)) {
      if (auto q = ParseCpuMax(*text); q && (b->quota == 0 || *q < b->quota)) {
        b->quota = *q;
        b->quotaFrom = file;
      }
    }
    if (dir == "/" || dir.empty()) return;
    const auto slash = dir.rfind('/');
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
}

}  // namespace

std::optional<double> ParseCpuMax(std::string_view text) {
  const auto sp = text.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  auto quota = PositiveNumber(text.substr(0, sp));
  auto period = PositiveNumber(text.substr(sp + 1));
  if (!quota || !period) return std::nullopt;  // "max": no limit
  return double(*quota) / double(*period);
}

std::optional<double> ParseCfsQuota(std::string_view quota_us, std::string_view period_us) {
  auto quota = PositiveNumber(quota_us);  // -1: no limit
  auto period = PositiveNumber(period_us);
  if (!quota || !period) return std::nullopt;
  return double(*quota) / double(*period);
}

CgroupPaths ParseProcCgroup(std::string_view text) {
  CgroupPaths out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    const auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, c1);
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view path = line.substr(c2 + 1);
    if (path.empty() || path.front() != '/') continue;
    if (id == "0" && controllers.empty()) {
      out.v2 = std::string(path);
      continue;
    }
    std::string_view rest = controllers;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      if (rest.substr(0, comma) == "cpu") out.v1cpu = std::string(path);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return out;
}

unsigned UsableCpus(const CpuBudget& b) {
  unsigned n = 0;
  auto take = [&n](unsigned v) {
    if (v > 0 && (n == 0 || v < n)) n = v;
  };
  take(b.online);
  take(b.affinity);
  if (b.quota > 0) take(unsigned(std::max(1.0, std::ceil(b.quota - 1e-9))));
  return std::max(1u, n);
}

unsigned DefaultProxyThreads(const CpuBudget& b) { return std::max(1u, UsableCpus(b) / 2); }

std::string DescribeDefaultThreads(const CpuBudget& b) {
  const unsigned n = DefaultProxyThreads(b), cpus = UsableCpus(b);
  std::ostringstream s;
  s << n << (n == 1 ? " event loop" : " event loops") << ": half of the " << cpus
    << (cpus == 1 ? " CPU" : " CPUs") << " this process may use, at least one (online " << b.online
    << ", affinity " << b.affinity;
  if (b.quota > 0) {
    char q[32];
    std::snprintf(q, sizeof q, "%.2f", b.quota);
    s << ", cgroup quota " << q << " in " << b.quotaFrom;
  } else {
    s << ", no cgroup quota";
  }
  s << "; set proxy.threads to choose)";
  return s.str();
}

CpuBudget ReadCpuBudget(const std::string& root) {
  CpuBudget b;
  b.online = std::thread::hardware_concurrency();
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) b.affinity = unsigned(CPU_COUNT(&set));
  const auto text = ReadSmallFile("/proc/self/cgroup");
  if (!text) return b;
  const CgroupPaths paths = ParseProcCgroup(*text);
  if (!paths.v2.empty()) TightestCpuMax(root, paths.v2, &b);
  if (b.quota == 0 && !paths.v1cpu.empty()) {
    for (const char* mount : {"/cpu,cpuacct", "/cpu"}) {
      const std::string dir = root + mount + (paths.v1cpu == "/" ? "" : paths.v1cpu);
      auto quota = ReadSmallFile(dir + "/cpu.cfs_quota_us");
      auto period = ReadSmallFile(dir + "/cpu.cfs_period_us");
      if (!quota || !period) continue;
      if (auto q = ParseCfsQuota(*quota, *period)) {
        b.quota = *q;
        b.quotaFrom = dir + "/cpu.cfs_quota_us";
      }
      break;
    }
  }
  return b;
}

}  // namespace pgvigil::proxy
