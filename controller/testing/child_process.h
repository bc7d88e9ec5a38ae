// Test helpers for running pgvigil's own binaries as child processes on loopback
// (sidecars, a standalone controller) and for watching that no two PostgreSQL
// nodes are ever writable at once. Test code only.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pgvigil::testing {

// One child process started with fork/exec, output appended to a log file.
// Stop() (and the destructor) sends SIGTERM to this pid only, waits, then SIGKILL.
// The child also gets SIGKILL if the test process dies (PR_SET_PDEATHSIG).
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool Start(const std::vector<std::string>& argv, const std::string& log_path, std::string* error);
  void Stop(int grace_ms = 10000);
  bool Alive();
  pid_t pid() const { return pid_; }
  const std::string& logPath() const { return log_; }
  std::string LogTail(size_t lines = 40) const;

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// Polls pg_is_in_recovery() on every node about every `period_ms` over persistent
// unix-socket connections, sending the queries to all nodes before reading any
// answer so one round is (nearly) one instant. Records every round in which two
// or more nodes answered false (writable primaries).
class WritableSampler {
 public:
  struct Target {
    std::string name;
    std::string conninfo;
  };
  explicit WritableSampler(std::vector<Target> targets, int period_ms = 100);
  ~WritableSampler() { Stop(); }
  void Start();
  void Stop();
  int rounds() const { return rounds_.load(); }
  int roundsWithOnePrimary() const { return one_.load(); }
  std::vector<std::string> violations() const;
  int maxRoundMs() const { return maxRoundMs_.load(); }

 private:
  void Run();
  std::vector<Target> targets_;
  int periodMs_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0}, one_{0}, maxRoundMs_{0};
  mutable std::mutex mu_;
  std::vector<std::string> violations_;
  std::thread thread_;
};

}  // namespace pgvigil::testing
