#include "common/process.h"

#include "common/child_reaper.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

namespace pgvigil {

std::string ProcessResult::Describe() const {
  if (timedOut) return "timed out";
  if (signal != 0) return std::string("killed by signal ") + std::to_string(signal);
  return "exit " + std::to_string(exitCode);
}

std::vector<std::string> SplitCommandLine(const std::string& command) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : command) {
    if (quote) {
      if (c == quote) quote = 0;
      else cur.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (in_word) out.push_back(cur);
  return out;
}

namespace {

struct Account {
  uid_t uid;
  gid_t gid;
  std::string home;
  // Supplementary groups (with gid), resolved before fork: initgroups() in the
  // child reads the group database through NSS, which allocates and loads
  // modules, and a child of a multithreaded process may not (an allocator lock
  // held by another thread at fork time is never released there: a
  // sanitizer-built test hung in it). setgroups() is one system call.
  std::vector<gid_t> groups;
};

Result<Account> LookupAccount(const std::string& user) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &found) != 0 || !found)
    return Result<Account>::Error("no such OS user '" + user + "'");
  Account a{pw.pw_uid, pw.pw_gid, pw.pw_dir, {}};
  int n = 32;
  for (int tries = 0; tries < 8; ++tries) {
    a.groups.resize(static_cast<size_t>(n));
    int got = n;
    if (getgrouplist(user.c_str(), pw.pw_gid, a.groups.data(), &got) >= 0) {
      a.groups.resize(static_cast<size_t>(got));
      return a;
    }
    n = std::max(got, n * 2);  // too small: got holds the number needed
  }
  return Result<Account>::Error("cannot read the groups of OS user '" + user + "'");
}

// Steps of starting a child that can fail, reported to the parent.
constexpr int kStepUser = 1, kStepChdir = 2, kStepExec = 3;
// How long output is still read after the child exited while the pipe stays open.
constexpr int64_t kDrainMs = 200;

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options) {
  if (argv.empty()) return Result<ProcessResult>::Error("empty command");
  bool switch_user = !options.runAsUser.empty() && geteuid() == 0;
  Account account{0, 0, "", {}};
  if (switch_user) {
    auto a = LookupAccount(options.runAsUser);
    if (!a.ok()) return a.status();
    account = *a;
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0)
    return Result<ProcessResult>::Error(std::string("pipe: ") + std::strerror(errno));
  // The child reports a failure to start (which step, errno) on this pipe; a
  // successful exec closes it empty, so "not found" is an error, not exit 127.
  int startfd[2];
  if (pipe2(startfd, O_CLOEXEC) != 0) {
    int err = errno;
    close(pipefd[0]);
    close(pipefd[1]);
    return Result<ProcessResult>::Error(std::string("pipe: ") + std::strerror(err));
  }
  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto key = kv.substr(0, kv.find('='));
    if (options.env.count(key)) continue;
    if (switch_user && (key == "HOME" || key == "USER" || key == "LOGNAME")) continue;
    env_strings.push_back(kv);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  if (switch_user) {
    if (!options.env.count("HOME")) env_strings.push_back("HOME=" + account.home);
    env_strings.push_back("USER=" + options.runAsUser);
    env_strings.push_back("LOGNAME=" + options.runAsUser);
  }
  std::vector<char*> cenv;
  for (auto& s : env_strings) cenv.push_back(s.data());
  cenv.push_back(nullptr);
  const char* cwd = options.workingDirectory.empty() ? nullptr : options.workingDirectory.c_str();
  std::string user = options.runAsUser;

  const bool keep_ambient = options.keepAmbientCapabilities;
  // Watched under the fork lock: a PID-1 reaper (child_reaper.h) then keeps the
  // child's status for us instead of swallowing it.
  auto fork_lock = child_reaper::LockForFork();
  pid_t pid = fork();
  if (pid > 0) child_reaper::Watch(pid);
  if (pid != 0) fork_lock.unlock();
  if (pid < 0) {
    int err = errno;
    for (int fd : {pipefd[0], pipefd[1], startfd[0], startfd[1]}) close(fd);
    return Result<ProcessResult>::Error(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    setpgid(0, 0);  // own process group: the timeout kills the whole tree
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    // Nothing else the parent holds (listening sockets, client connections)
    // leaks into the child: a postmaster started here would otherwise keep the
    // sidecar's REST port open after the sidecar exits. startfd[1] stays (it is
    // close-on-exec and reports a failed exec).
    const unsigned keep = static_cast<unsigned>(startfd[1]);
    if (keep > 3) syscall(SYS_close_range, 3u, keep - 1, 0u);
    syscall(SYS_close_range, keep + 1, ~0u, 0u);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    auto fail = [&](int step) {
      int report[2] = {step, errno};
      ssize_t ignored = write(startfd[1], report, sizeof report);
      (void)ignored;
      _exit(127);
    };
    if (switch_user) {
      if (setgroups(account.groups.size(), account.groups.data()) != 0 || setgid(account.gid) != 0 ||
          setuid(account.uid) != 0)
        fail(kStepUser);
    }
    if (cwd && chdir(cwd) != 0) fail(kStepChdir);
    // Without ambient capabilities a non-root child runs with none at all (no_new_privs
    // keeps file capabilities off too). Fails only on kernels before 4.3: nothing to clear.
    if (!keep_ambient) (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    execvpe(cargv[0], cargv.data(), cenv.data());
    fail(kStepExec);
  }
  close(pipefd[1]);
  close(startfd[1]);
  int report[2] = {0, 0};
  ssize_t got;
  do {
    got = read(startfd[0], report, sizeof report);
  } while (got < 0 && errno == EINTR);
  close(startfd[0]);
  if (got == static_cast<ssize_t>(sizeof report)) {
    close(pipefd[0]);
    (void)child_reaper::WaitFor(pid);
    std::string why = std::strerror(report[1]);
    if (report[0] == kStepUser) return Result<ProcessResult>::Error("cannot switch to user " + user + ": " + why);
    if (report[0] == kStepChdir)
      return Result<ProcessResult>::Error("cannot change to directory " + options.workingDirectory + ": " + why);
    return Result<ProcessResult>::Error("cannot execute " + argv[0] + ": " + why);
  }

  ProcessResult result;
  std::deque<std::string> tail;
  std::string partial;
  auto emit = [&](const std::string& line) {
    if (options.onOutputLine) options.onOutputLine(line);
    tail.push_back(line);
    if (tail.size() > options.tailLines) tail.pop_front();
  };
  int64_t deadline = NowMs() + options.timeout.count();
  int status = 0;
  bool reaped = false;
  // Once the child has exited, what it left running in the background (a daemon
  // it started) may hold the pipe forever: read while output keeps coming, and
  // stop after kDrainMs of silence.
  int64_t drain_until = -1;
  char buf[4096];
  while (true) {
    int64_t now = NowMs();
    if (now >= deadline) {
      if (!reaped) {
        result.timedOut = true;
        kill(-pid, SIGKILL);
      }
      break;
    }
    if (drain_until >= 0 && now >= drain_until) break;
    int64_t wait = std::min<int64_t>(deadline - now, drain_until >= 0 ? drain_until - now : 100);
    struct pollfd p{pipefd[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(wait));
    if (r < 0 && errno != EINTR) break;
    if (!reaped && child_reaper::TryReap(pid, &status)) {
      reaped = true;
      drain_until = NowMs() + kDrainMs;
    }
    if (r <= 0) continue;
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every writer closed the pipe
    if (reaped) drain_until = NowMs() + kDrainMs;
    for (ssize_t i = 0; i < n; ++i) {
      // pg_basebackup -P redraws its progress line with '\r': treat it as a line end.
      if (buf[i] == '\n' || buf[i] == '\r') {
        if (!partial.empty()) emit(partial);
        partial.clear();
      } else {
        partial.push_back(buf[i]);
      }
    }
  }
  if (!partial.empty()) emit(partial);
  close(pipefd[0]);
  // The pipe closed (or we timed out and killed); reap, still honouring the deadline.
  while (!reaped) {
    if (child_reaper::TryReap(pid, &status)) break;
    if (!result.timedOut && NowMs() > deadline) {
      result.timedOut = true;
      kill(-pid, SIGKILL);
    }
    usleep(2000);
  }
  if (WIFEXITED(status)) {
    result.exitCode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exitCode = -1;
  }
  for (const auto& l : tail) {
    result.outputTail += l;
    result.outputTail += '\n';
  }
  return result;
}

}  // namespace pgvigil
