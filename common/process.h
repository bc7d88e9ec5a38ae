// Running external programs (pg_ctl, pg_basebackup, ip, arping, ...): argv only,
// never a shell; with a timeout; output delivered line by line and kept as a tail.
// RunProcess blocks the calling thread: never call it from an event loop.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil {

struct ProcessOptions {
  std::chrono::milliseconds timeout{60000};
  std::string runAsUser;  // when root: setgid/setuid to this account before exec
  std::map<std::string, std::string> env;  // added to (or replacing in) the environment
  std::string workingDirectory;
  std::function<void(const std::string& line)> onOutputLine;  // stdout+stderr merged
  size_t tailLines = 50;  // how many last lines ProcessResult keeps
  // Ambient capabilities (the packaged sidecar's CAP_NET_ADMIN and CAP_NET_RAW) pass
  // to the child only when set: the VIP commands need them; nothing else (pg_ctl and
  // the PostgreSQL server it starts, pg_rewind, ...) may inherit them.
  bool keepAmbientCapabilities = false;
};

struct ProcessResult {
  int exitCode = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timedOut = false;
  std::string outputTail;  // last tailLines lines
  bool success() const { return exitCode == 0 && !timedOut; }
  std::string Describe() const;  // "exit 1", "killed by signal 9", "timed out"
};

// Errors only when the program could not be started at all (not found, fork failed).
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {});

// Splits a command line on whitespace, honouring single and double quotes.
std::vector<std::string> SplitCommandLine(const std::string& command);

}  // namespace pgvigil
