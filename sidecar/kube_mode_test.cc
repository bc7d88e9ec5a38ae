// pgvigil-sidecar --kubernetes as a pod's main process, run as the real binary
// against a real PostgreSQL 15 (KUBERNETES.md §2, §4.5.2): a spec with vip is
// refused; a primary data directory is not started by the sidecar on its own; a
// standby data directory is, and its postmaster (orphaned by pg_ctl to the
// sidecar, which is a subreaper here as it would be PID 1) is reaped; SIGTERM
// checkpoints, stops PostgreSQL cleanly and exits within the grace period.
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/files.h"
#include "common/spec_parser.h"
#include "common/testing/pg_cluster.h"

namespace pgvigil {
namespace {

using namespace std::chrono_literals;
using testing::PgTestCluster;

// The sidecar binary as a child process, stdout+stderr into a log file.
class Sidecar {
 public:
  Sidecar(std::vector<std::string> args, std::string log) : log_(std::move(log)) {
    std::vector<std::string> argv = {PGVIGIL_SIDECAR_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(c[0], c.data());
      _exit(127);
    }
  }
  ~Sidecar() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Exit status within `limit`, or -1 (still running).
  int Wait(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  void Signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  std::string Log() const {
    auto t = ReadFile(log_);
    return t.ok() ? *t : "";
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

class SidecarKubeModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PgTestCluster::Options o;
    o.nodes = 1;
    o.standbys = false;
    auto c = PgTestCluster::Create(o);
    ASSERT_TRUE(c.ok()) << c.error();
    pg_ = std::move(*c);
    // Each port picked free on its own (a busy host's ephemeral ports sit near any base).
    spec_ = pg_->MakeSpecOnFreePorts();
    spec_.watchdog.enabled = true;
    spec_.watchdog.authKeyFile = pg_->dir() + "/watchdog.key";
    // A secret file: private, or the sidecar refuses it.
    ASSERT_TRUE(WriteFileAtomic(spec_.watchdog.authKeyFile, "kube-mode-test-key\n", 0600).ok());
    Write();
  }
  void Write() { ASSERT_TRUE(WriteFileAtomic(SpecFile(), SpecToYaml(spec_), 0600).ok()); }
  std::string SpecFile() const { return pg_->dir() + "/cluster.yaml"; }
  std::vector<std::string> Args() const {
    return {"--kubernetes", "-f", SpecFile(), "--node", spec_.nodes[0].name, "--state-dir",
            pg_->dir() + "/state", "--grace-seconds", "30"};
  }
  bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return cond();
  }

  std::unique_ptr<PgTestCluster> pg_;
  ClusterSpec spec_;
};

TEST_F(SidecarKubeModeTest, ASpecWithAVipIsRefused) {
  spec_.vip.address = "127.0.0.150/8";  // valid for the VM validator (same subnet)
  Write();
  Sidecar s(Args(), pg_->dir() + "/sidecar.log");
  EXPECT_EQ(s.Wait(10s), 2);
  EXPECT_NE(s.Log().find("spec.vip: refused with --kubernetes"), std::string::npos) << s.Log();
}

TEST_F(SidecarKubeModeTest, TermCheckpointsStopsPostgresAndExitsWithinTheGracePeriod) {
  Sidecar s(Args(), pg_->dir() + "/sidecar.log");
  ASSERT_TRUE(WaitUntil([&] { return s.Log().find("running as node") != std::string::npos; }, 20s))
      << s.Log();
  ASSERT_TRUE(pg_->IsRunning(0));
  // Work since the last checkpoint, which the pre-stop CHECKPOINT writes out.
  ASSERT_TRUE(pg_->Query(0, "CREATE TABLE t AS SELECT generate_series(1, 10000) AS i").ok());
  const auto term_at = std::chrono::steady_clock::now();
  s.Signal(SIGTERM);
  EXPECT_EQ(s.Wait(30s), 0) << s.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - term_at, 30s);
  EXPECT_FALSE(pg_->IsRunning(0));
  const std::string log = s.Log();
  EXPECT_NE(log.find("PostgreSQL stopped in"), std::string::npos) << log;
  EXPECT_EQ(log.find("immediate stop"), std::string::npos) << log;  // fast stop sufficed
  EXPECT_NE(log.find("resigned and stopped"), std::string::npos) << log;
}

TEST_F(SidecarKubeModeTest, APrimaryDataDirectoryWaitsAndAStandbyOneIsStartedAndReaped) {
  ASSERT_TRUE(pg_->StopNode(0).ok());
  {
    Sidecar s(Args(), pg_->dir() + "/sidecar-primary.log");
    ASSERT_TRUE(WaitUntil([&] { return s.Log().find("wait for the controller's start") != std::string::npos; }, 20s))
        << s.Log();
    std::this_thread::sleep_for(1s);
    EXPECT_FALSE(pg_->IsRunning(0)) << "a primary's data directory must wait for the controller";
    s.Signal(SIGTERM);
    EXPECT_EQ(s.Wait(20s), 0) << s.Log();
  }
  // A standby's data directory (no upstream here: it simply stays in recovery).
  const std::string signal_file = pg_->nodes()[0].dataDir + "/standby.signal";
  ASSERT_TRUE(WriteFileAtomic(signal_file, "", 0600).ok());
  Sidecar s(Args(), pg_->dir() + "/sidecar-standby.log");
  ASSERT_TRUE(WaitUntil([&] { return pg_->IsRunning(0); }, 30s)) << s.Log();
  auto recovering = pg_->Query(0, "SELECT pg_is_in_recovery()");
  ASSERT_TRUE(WaitUntil([&] { recovering = pg_->Query(0, "SELECT pg_is_in_recovery()"); return recovering.ok(); }, 20s));
  EXPECT_EQ(*recovering, "t");
  // The postmaster is orphaned once pg_ctl (its parent until then) has exited:
  // its parent is the sidecar then.
  auto pidfile = ReadFile(pg_->nodes()[0].dataDir + "/postmaster.pid");
  ASSERT_TRUE(pidfile.ok());
  const std::string postmaster = pidfile->substr(0, pidfile->find('\n'));
  auto parent = [&] {
    std::ifstream stat("/proc/" + postmaster + "/stat");
    std::string line;
    std::getline(stat, line);
    if (line.rfind(')') == std::string::npos) return std::string();
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    return ppid;
  };
  EXPECT_TRUE(WaitUntil([&] { return parent() == std::to_string(s.pid()); }, 10s))
      << "postmaster " << postmaster << " parent " << parent() << ", sidecar " << s.pid();
  s.Signal(SIGTERM);
  EXPECT_EQ(s.Wait(30s), 0) << s.Log();
  EXPECT_FALSE(pg_->IsRunning(0));
  // Not running any more: gone, or a zombie waiting for this machine's init
  // (the sidecar may exit before its reaper collects the postmaster; in a pod
  // the sidecar is PID 1 and the container ends with it. The init of the CI
  // machines here reaps orphans about 2 s late).
  auto dead = [&] {
    std::ifstream stat("/proc/" + postmaster + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    auto close = line.rfind(')');
    return close != std::string::npos && line.compare(close + 2, 1, "Z") == 0;
  };
  EXPECT_TRUE(WaitUntil(dead, 10s)) << "postmaster " << postmaster << " still running";
}

}  // namespace
}  // namespace pgvigil
