// See postmaster_lock.h.
#include "sidecar/agent/postmaster_lock.h"

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace pgvigil {

std::optional<PidFileContent> ParsePidFile(const std::string& text) {
  const size_t eol = text.find('\n');
  const std::string first = text.substr(0, eol);
  if (first.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long pid = std::strtol(first.c_str(), &end, 10);
  while (end && (*end == ' ' || *end == '\r')) ++end;
  if (errno != 0 || end == first.c_str() || *end != '\0') return std::nullopt;
  if (pid < 0) pid = -pid;  // a single-user backend writes its pid negated
  if (pid <= 0) return std::nullopt;
  PidFileContent c;
  c.pid = pid;
  std::vector<std::string> lines;
  for (size_t at = eol; at != std::string::npos && at + 1 <= text.size();) {
    const size_t next = text.find('\n', at + 1);
    lines.push_back(text.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1));
    at = next;
  }
  if (lines.size() > 0) c.dataDir = lines[0];
  if (lines.size() > 2) c.port = std::atoi(lines[2].c_str());
  if (lines.size() > 3) c.socketDir = lines[3];
  return c;
}

std::string SocketLockPath(const PidFileContent& c) {
  if (c.socketDir.empty() || c.socketDir[0] != '/' || c.port <= 0 || c.port > 65535) return "";
  return c.socketDir + "/.s.PGSQL." + std::to_string(c.port) + ".lock";
}

char ParseProcStatState(const std::string& stat) {
  // The name in parentheses may hold spaces and ')': the state follows the last ')'.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 1] != ' ') return 0;
  return stat[paren + 2];
}

const char* ToString(PostmasterVerdict v) {
  switch (v) {
    case PostmasterVerdict::kNoPidFile: return "no lock file";
    case PostmasterVerdict::kUnreadable: return "lock file without a pid";
    case PostmasterVerdict::kRunning: return "running";
    case PostmasterVerdict::kGone: return "postmaster gone";
    case PostmasterVerdict::kZombie: return "postmaster exited (zombie)";
    case PostmasterVerdict::kNotPostmaster: return "pid is not this data directory's postmaster";
  }
  return "?";
}

namespace {

bool PostgresName(const std::string& comm) {
  return comm.rfind("postgres", 0) == 0 || comm.rfind("postmaster", 0) == 0;
}

PostmasterJudgement Verdict(PostmasterVerdict v, std::string reason) {
  PostmasterJudgement j;
  j.verdict = v;
  j.reason = std::move(reason);
  return j;
}

}  // namespace

PostmasterJudgement JudgePostmaster(bool present, const std::optional<PidFileContent>& file,
                                    const PidProcessFacts& proc, const std::string& data_dir) {
  using V = PostmasterVerdict;
  if (!present) return Verdict(V::kNoPidFile, "no postmaster.pid");
  if (!file) return Verdict(V::kUnreadable, "postmaster.pid holds no pid");
  const std::string pid = "pid " + std::to_string(file->pid);
  if (proc.isSelf) return Verdict(V::kNotPostmaster, pid + " is this sidecar or its parent");
  if (!proc.exists) return Verdict(V::kGone, pid + " does not exist");
  if (proc.state == 'Z' || proc.state == 'X')
    return Verdict(V::kZombie, pid + " has exited and is not reaped yet (state " +
                                   std::string(1, proc.state) + ")");
  const std::string named = proc.comm.empty() ? "" : " (" + proc.comm + ")";
  if (proc.cwdKnown) {
    if (!proc.cwdIsDataDir)
      return Verdict(V::kNotPostmaster, pid + named + " works in " + proc.cwd + ", not in " + data_dir);
    if (!proc.comm.empty() && !PostgresName(proc.comm))
      return Verdict(V::kNotPostmaster, pid + named + " is not a postgres process");
    return Verdict(V::kRunning, pid + named + " runs in the data directory");
  }
  if (!proc.comm.empty() && !PostgresName(proc.comm))
    return Verdict(V::kNotPostmaster, pid + named + " is not a postgres process");
  // Cannot look at its directory (another user's process): a postgres process,
  // or one we know nothing about, is taken as running (nothing is done over it).
  return Verdict(V::kRunning, pid + named + " runs (its directory cannot be read)");
}

}  // namespace pgvigil
