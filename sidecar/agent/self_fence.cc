// See self_fence.h.
#include "sidecar/agent/self_fence.h"

#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <spdlog/spdlog.h>

#include "common/files.h"
#include "sidecar/agent/local_postgres.h"
#include "sidecar/watchdog/watchdog_api.h"

namespace pgvigil {

namespace {

using web::json::value;
using Clock = std::chrono::steady_clock;

std::string UtcNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t tt = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

pid_t PostmasterPid(const std::string& data_dir) {
  auto text = ReadFile(data_dir + "/postmaster.pid");
  if (!text.ok()) return -1;
  long pid = std::strtol(text->c_str(), nullptr, 10);
  return pid > 0 ? static_cast<pid_t>(pid) : -1;
}

// Exited (a zombie not reaped yet by whoever started it counts as exited).
bool Gone(pid_t pid) { return ProcessGone(pid); }

}  // namespace

LocalPrimaryLook LookAtDataDir(const std::string& data_dir) {
  LocalPrimaryLook l;
  l.postmasterAlive = LookAtPostmaster(data_dir).judgement.running();
  l.recoverySignal = HasRecoverySignal(data_dir);
  return l;
}

std::string FenceReason(bool lease_held, const LocalPrimaryLook& pg, int64_t lease_over_ms) {
  if (lease_held || !pg.postmasterAlive || pg.recoverySignal) return "";
  return "this member lost its watchdog write lease " + std::to_string(lease_over_ms) +
         " ms ago (no majority of the members confirmed hearing it) while its PostgreSQL "
         "runs as a primary: another node may be promoted";
}

SelfFence::SelfFence(Options options, WatchdogApi* watchdog, MetricsRegistry& metrics)
    : options_(std::move(options)),
      watchdog_(watchdog),
      fences_(metrics.GetCounter("pgvigil_agent_self_fences_total",
                                 "Times this sidecar stopped its own primary after losing its "
                                 "watchdog write lease")) {}

SelfFence::~SelfFence() { Stop(); }

void SelfFence::Start() {
  if (!watchdog_ || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void SelfFence::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SelfFence::Loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (cv_.wait_for(l, options_.poll, [this] { return stop_; })) return;
    }
    const WatchdogApi::WriteLease lease = watchdog_->GetWriteLease();
    const auto now = Clock::now();
    const bool held = lease.Held(now);
    {
      std::lock_guard<std::mutex> l(mu_);
      leaseRequired_ = lease.required;
      if (held && !leaseHeld_ && fenced_)
        spdlog::warn("agent: self-fence: the watchdog write lease is back; PostgreSQL stays "
                     "stopped until the controller acts (it starts it again as the primary "
                     "when no other node is writable, or rebuilds it as a standby)");
      leaseHeld_ = held;
      if (held) fenced_ = false;
    }
    if (held) continue;
    const std::string reason = FenceReason(
        held, LookAtDataDir(options_.dataDir),
        std::chrono::duration_cast<std::chrono::milliseconds>(now - lease.until).count());
    if (!reason.empty()) Fence(reason);
  }
}

void SelfFence::Fence(const std::string& reason) {
  const pid_t pid = PostmasterPid(options_.dataDir);
  if (pid <= 0) return;
  const auto started = Clock::now();
  if (options_.immediate)
    spdlog::critical("agent: SELF-FENCE: stopping PostgreSQL (postmaster {}, immediate shutdown): {}",
                     pid, reason);
  else
    spdlog::critical("agent: SELF-FENCE: stopping PostgreSQL (postmaster {}, fast shutdown, immediate "
                     "after {} ms): {}", pid, options_.escalateAfter.count(), reason);
  std::string signal_used = "SIGINT";
  if (!options_.immediate) {
    if (::kill(pid, SIGINT) != 0 && errno != ESRCH)
      spdlog::error("agent: self-fence: SIGINT to {}: {}", pid, std::strerror(errno));
    while (!Gone(pid) && Clock::now() - started < options_.escalateAfter)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!Gone(pid)) {
    signal_used = "SIGQUIT";
    if (::kill(pid, SIGQUIT) != 0 && errno != ESRCH)
      spdlog::error("agent: self-fence: SIGQUIT to {}: {}", pid, std::strerror(errno));
    const auto quit_at = Clock::now();
    while (!Gone(pid) && Clock::now() - quit_at < std::chrono::seconds(5))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  const bool gone = Gone(pid);
  fences_.Inc();
  if (gone)
    spdlog::critical("agent: SELF-FENCE: PostgreSQL stopped ({}) {} ms after the fence began",
                     signal_used, took);
  else
    spdlog::critical("agent: SELF-FENCE: postmaster {} still runs {} ms after SIGQUIT", pid, took);
  SidecarLastFence f;
  f.at = UtcNow();
  f.reason = reason;
  f.signal = signal_used;
  if (gone) f.stoppedAfterMs = static_cast<int64_t>(took);
  {
    std::lock_guard<std::mutex> l(mu_);
    fenced_ = true;
    lastFence_ = f;
  }
  if (options_.onFenced) options_.onFenced();
}

SidecarSelfFence SelfFence::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  SidecarSelfFence s;
  s.enabled = watchdog_ != nullptr;
  SidecarFencer f;
  f.leaseRequired = leaseRequired_;
  f.leaseHeld = leaseHeld_;
  f.fenced = fenced_;
  f.fences = fences_.Value();
  f.lastFence = lastFence_;
  s.fencer = f;
  return s;
}

value SelfFence::Json() const { return ToJson(Snapshot()); }

}  // namespace pgvigil
