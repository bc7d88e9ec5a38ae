#include "controller/testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>

#include <libpq-fe.h>

namespace pgvigil::testing {

bool ChildProcess::Start(const std::vector<std::string>& argv, const std::string& log_path,
                         std::string* error) {
  log_ = log_path;
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = log_path + ": " + std::strerror(errno);
    return false;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(fd);
    return false;
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(fd, 1);
    dup2(fd, 2);
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3, ~0U, 0) != 0)
#endif
      for (int i = 3; i < 4096; ++i) close(i);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fd);
  pid_ = pid;
  return true;
}

bool ChildProcess::Alive() {
  if (pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return r == 0;
}

void ChildProcess::Stop(int grace_ms) {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  int st = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &st, 0);
  pid_ = -1;
}

std::string ChildProcess::LogTail(size_t lines) const {
  std::ifstream in(log_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += l + "\n";
  return out;
}

WritableSampler::WritableSampler(std::vector<Target> targets, int period_ms)
    : targets_(std::move(targets)), periodMs_(period_ms) {}

void WritableSampler::Start() { thread_ = std::thread([this] { Run(); }); }

void WritableSampler::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> WritableSampler::violations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return violations_;
}

void WritableSampler::Run() {
  // Persistent connections (a backend fork per round is slow on a loaded machine),
  // re-made when a node went away. A sampler session never blocks a fast or
  // immediate shutdown, which is what pgvigil uses.
  std::vector<PGconn*> conns(targets_.size(), nullptr);
  while (!stop_) {
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < conns.size(); ++i) {
      if (conns[i] && PQstatus(conns[i]) == CONNECTION_OK) continue;
      if (conns[i]) PQfinish(conns[i]);
      conns[i] = PQconnectdb(targets_[i].conninfo.c_str());
    }
    // Query all, then read all answers: one round is (nearly) one instant.
    std::vector<bool> sent(conns.size(), false);
    for (size_t i = 0; i < conns.size(); ++i)
      if (PQstatus(conns[i]) == CONNECTION_OK)
        sent[i] = PQsendQuery(conns[i], "SELECT pg_is_in_recovery()") == 1;
    std::vector<std::string> writable;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!sent[i]) continue;
      while (PGresult* res = PQgetResult(conns[i])) {
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
            std::string(PQgetvalue(res, 0, 0)) == "f")
          writable.push_back(targets_[i].name);
        PQclear(res);
      }
    }
    ++rounds_;
    int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
    if (ms > maxRoundMs_) maxRoundMs_ = ms;
    if (writable.size() == 1) ++one_;
    if (writable.size() > 1) {
      std::string v = "round " + std::to_string(rounds_.load()) + ": writable at once:";
      for (const auto& w : writable) v += " " + w;
      std::lock_guard<std::mutex> lock(mu_);
      violations_.push_back(v);
    }
    auto next = start + std::chrono::milliseconds(periodMs_);
    while (!stop_ && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (PGconn* c : conns)
    if (c) PQfinish(c);
}

}  // namespace pgvigil::testing
