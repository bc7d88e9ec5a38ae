#include "sidecar/watchdog/vip_guard.h"

#include "common/child_reaper.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace pgvigil {
namespace watchdog {

VipGuard::~VipGuard() { Disarm(); }

bool VipGuard::Arm(const std::vector<std::string>& down_argv, std::string* error) {
  Disarm();
  if (down_argv.empty() || down_argv[0].empty() || down_argv[0][0] != '/') {
    *error = "the VIP down command needs an absolute program path for the guard";
    return false;
  }
  std::vector<char*> argv;
  for (const auto& a : down_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  // Watched under the fork lock: a PID-1 reaper (common/child_reaper.h) keeps its status for us.
  auto fork_lock = child_reaper::LockForFork();
  pid_t pid = fork();
  if (pid > 0) child_reaper::Watch(pid);
  fork_lock.unlock();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    // Keep only stdio and the pipe (as fd 3): no sockets of the sidecar linger here.
    int r = fds[0];
    if (r != 3) {
      dup2(r, 3);
      r = 3;
    }
    fcntl(r, F_SETFD, FD_CLOEXEC);
    close_range(4, ~0U, 0);
    if (fds[0] != 3 && fds[0] < 4) close(fds[0]);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the sidecar blocks TERM/INT in all threads
    char c;
    ssize_t n;
    do {
      n = read(r, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {  // every write end closed: the sidecar died holding the VIP
      execve(argv[0], argv.data(), environ);
      _exit(127);
    }
    _exit(0);  // disarmed
  }
  close(fds[0]);
  pid_ = pid;
  writeFd_ = fds[1];
  return true;
}

void VipGuard::Disarm() {
  if (pid_ <= 0) return;
  char c = 'q';
  ssize_t n;
  do {
    n = write(writeFd_, &c, 1);
  } while (n < 0 && errno == EINTR);
  close(writeFd_);
  writeFd_ = -1;
  (void)child_reaper::WaitFor(pid_);
  pid_ = -1;
}

}  // namespace watchdog
}  // namespace pgvigil
