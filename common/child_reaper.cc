// See child_reaper.h.
#include "common/child_reaper.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

namespace pgvigil::child_reaper {

namespace {

struct State {
  std::mutex forkMu;  // held across fork + Watch, and by the reaper while it files a status
  std::mutex mu;      // guards the fields below
  std::condition_variable cv;
  std::set<pid_t> watched;
  std::map<pid_t, int> exited;  // watched pids the reaper collected: their status
  bool running = false;
  bool stop = false;
  std::thread thread;
  std::atomic<uint64_t> orphans{0};
};

State& S() {
  static State* s = new State;  // never destroyed: threads may use it at exit
  return *s;
}

void Loop() {
  State& s = S();
  for (;;) {
    {
      std::unique_lock<std::mutex> l(s.mu);
      if (s.cv.wait_for(l, std::chrono::milliseconds(20), [&] { return s.stop; })) return;
    }
    for (;;) {
      // Take the fork lock before reaping: a child forked but not yet watched is
      // then either not reaped yet, or reaped after its runner watched it.
      std::lock_guard<std::mutex> fork_lock(s.forkMu);
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;  // none exited (0) or no children (ECHILD)
      std::lock_guard<std::mutex> l(s.mu);
      if (s.watched.count(pid)) {
        s.exited[pid] = status;
      } else {
        s.orphans.fetch_add(1);
        spdlog::debug("reaped orphaned child {} ({})", pid,
                      WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status)));
      }
    }
  }
}

}  // namespace

std::unique_lock<std::mutex> LockForFork() { return std::unique_lock<std::mutex>(S().forkMu); }

void Watch(pid_t pid) {
  State& s = S();
  std::lock_guard<std::mutex> l(s.mu);
  s.watched.insert(pid);
}

bool TryReap(pid_t pid, int* status) {
  State& s = S();
  {
    std::lock_guard<std::mutex> l(s.mu);
    auto it = s.exited.find(pid);
    if (it != s.exited.end()) {
      *status = it->second;
      s.exited.erase(it);
      s.watched.erase(pid);
      return true;
    }
  }
  int st = 0;
  const pid_t r = ::waitpid(pid, &st, WNOHANG);
  if (r == pid) {
    *status = st;
    std::lock_guard<std::mutex> l(s.mu);
    s.watched.erase(pid);
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    // The reaper took it and is filing the status (it holds the fork lock until
    // then); or the pid was never our child: report it gone rather than hang.
    std::lock_guard<std::mutex> fork_lock(s.forkMu);
    std::lock_guard<std::mutex> l(s.mu);
    auto it = s.exited.find(pid);
    if (it != s.exited.end()) {
      *status = it->second;
      s.exited.erase(it);
    } else {
      spdlog::error("child {} is gone and its exit status unknown (reaped elsewhere)", pid);
      *status = 255 << 8;  // exit 255
    }
    s.watched.erase(pid);
    return true;
  }
  return false;
}

int WaitFor(pid_t pid) {
  int status = 0;
  while (!TryReap(pid, &status)) ::usleep(2000);
  return status;
}

Status StartReaper(bool subreaper) {
  State& s = S();
  std::lock_guard<std::mutex> l(s.mu);
  if (s.running) return Status::Ok();
  if (subreaper && ::getpid() != 1 && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    return Status::Error(std::string("prctl(PR_SET_CHILD_SUBREAPER): ") + std::strerror(errno));
  s.stop = false;
  s.running = true;
  s.thread = std::thread(Loop);
  return Status::Ok();
}

void StopReaper() {
  State& s = S();
  std::thread t;
  {
    std::lock_guard<std::mutex> l(s.mu);
    if (!s.running) return;
    s.stop = true;
    s.running = false;
    t = std::move(s.thread);
  }
  s.cv.notify_all();
  if (t.joinable()) t.join();
}

uint64_t OrphansReaped() { return S().orphans.load(); }

}  // namespace pgvigil::child_reaper
