// A VIP guard: a forked child that outlives this process only to bring the VIP
// down if this process dies holding it (SIGKILL, crash). It blocks reading a pipe
// whose write end only this process holds; end of file means we died, and the
// child execs the VIP down command. Disarm() tells it to exit quietly.
//
// Between fork and exec the child calls only async-signal-safe functions (close,
// read, execve, _exit), so forking from our multithreaded process is safe. Needs
// an absolute program path (no PATH search after fork). Not thread-safe: owned by
// VipControl under its command lock.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pgvigil {
namespace watchdog {

class VipGuard {
 public:
  VipGuard() = default;
  ~VipGuard();  // Disarm()
  VipGuard(const VipGuard&) = delete;
  VipGuard& operator=(const VipGuard&) = delete;

  // Starts the guard for `down_argv`; false (with *error) when it cannot.
  bool Arm(const std::vector<std::string>& down_argv, std::string* error);
  void Disarm();
  bool armed() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int writeFd_ = -1;
};

}  // namespace watchdog
}  // namespace pgvigil
