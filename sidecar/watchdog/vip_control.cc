#include "sidecar/watchdog/vip_control.h"

#include <spdlog/spdlog.h>

#include "common/process.h"

namespace pgvigil {
namespace watchdog {

namespace {
constexpr std::chrono::milliseconds kCommandTimeout{5000};
constexpr std::chrono::milliseconds kArpingTimeout{3000};
constexpr std::chrono::milliseconds kDadWait{300};      // per probe: ARP answers on a LAN take ms
constexpr std::chrono::milliseconds kDadRetry{200};
constexpr std::chrono::milliseconds kDadLogEvery{5000};
}  // namespace

VipControl::VipControl(VipSpec spec, Hooks hooks) : spec_(std::move(spec)), hooks_(std::move(hooks)) {
  if (spec_.enabled()) worker_ = std::thread([this] { Worker(); });
}

VipControl::~VipControl() { Shutdown(); }

void VipControl::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    upQueued_ = false;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool VipControl::held() const {
  std::lock_guard<std::mutex> l(mu_);
  return held_;
}

std::string VipControl::conflict() const {
  std::lock_guard<std::mutex> l(mu_);
  return conflict_;
}

bool VipControl::WaitUntilFree(uint64_t downs) {
  std::vector<std::string> argv = SplitCommandLine(spec_.Expand(spec_.dadCommand));
  if (argv.empty()) return !Cancelled(downs);
  const auto started = std::chrono::steady_clock::now();
  auto last_log = started - kDadLogEvery;
  int probes = 0;
  while (!Cancelled(downs)) {
    ++probes;
    std::string reply;
    ProcessOptions opt;
    opt.timeout = kDadWait;
    opt.keepAmbientCapabilities = true;  // arping needs CAP_NET_RAW
    opt.onOutputLine = [&reply](const std::string& line) {
      if (reply.empty() && line.find("reply from") != std::string::npos) reply = line;
    };
    auto r = RunProcess(argv, opt);
    const bool answered = r.ok() && !r->timedOut && r->exitCode == 1;
    if (!answered) {
      if (!r.ok() || (!r->timedOut && r->exitCode != 0))
        spdlog::error("watchdog: VIP duplicate-address detection '{}' did not run ({}): bringing "
                      "the VIP up without it", spec_.Expand(spec_.dadCommand),
                      r.ok() ? r->Describe() : r.error());
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      if (probes > 1)
        spdlog::warn("watchdog: VIP {} no longer answered by another host after {} ms: bringing it up",
                     spec_.address, waited.count());
      std::lock_guard<std::mutex> l(mu_);
      conflict_.clear();
      return !stop_ && downs_ == downs;
    }
    const std::string seen = reply.empty() ? "an ARP reply" : reply;
    {
      std::lock_guard<std::mutex> l(mu_);
      conflict_ = "another host answers for " + spec_.ip() + " (" + seen + ")";
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_log >= kDadLogEvery) {
      last_log = now;
      spdlog::warn("watchdog: NOT bringing VIP {} up: another host answers for it ({}) for {} ms "
                   "now; waiting until it is gone (remove it there: pgvigil-sidecar release-vip)",
                   spec_.address, seen,
                   std::chrono::duration_cast<std::chrono::milliseconds>(now - started).count());
    }
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, kDadRetry, [&] { return stop_ || downs_ != downs; });
  }
  std::lock_guard<std::mutex> l(mu_);
  conflict_.clear();
  return false;
}

bool VipControl::Run(const char* what, const std::string& command,
                     std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = SplitCommandLine(spec_.Expand(command));
  if (argv.empty()) return true;  // an empty command is "nothing to do"
  ProcessOptions opt;
  opt.keepAmbientCapabilities = true;  // ip and arping need CAP_NET_ADMIN / CAP_NET_RAW
  opt.timeout = timeout;
  opt.onOutputLine = [what](const std::string& line) { spdlog::info("watchdog: vip {}: {}", what, line); };
  auto r = RunProcess(argv, opt);
  if (!r.ok()) {
    spdlog::error("watchdog: vip {} command could not start: {}", what, r.error());
    return false;
  }
  if (!r->success()) {
    spdlog::warn("watchdog: vip {} command '{}' failed: {}", what, spec_.Expand(command),
                 r->Describe());
    return false;
  }
  return true;
}

void VipControl::Up() {
  if (!spec_.enabled()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    upQueued_ = true;
  }
  cv_.notify_all();
}

void VipControl::Down(const std::string& reason) {
  if (!spec_.enabled()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    upQueued_ = false;
    ++downs_;
  }
  cv_.notify_all();  // ends a duplicate-address wait
  std::lock_guard<std::mutex> c(commandMu_);  // waits for a running up command
  spdlog::warn("watchdog: bringing VIP {} down: {}", spec_.address, reason);
  bool ok = Run("down", spec_.downCommand, kCommandTimeout);
  guard_.Disarm();  // after the address is gone: a death in between is still covered
  {
    std::lock_guard<std::mutex> l(mu_);
    held_ = false;
  }
  if (ok) {
    if (hooks_.onDown) hooks_.onDown();
  } else if (hooks_.onFailure) {
    hooks_.onFailure();
  }
}

void VipControl::RemoveStale() {
  if (!spec_.enabled()) return;
  std::lock_guard<std::mutex> c(commandMu_);
  std::vector<std::string> argv = SplitCommandLine(spec_.Expand(spec_.downCommand));
  if (argv.empty()) return;
  ProcessOptions opt;
  opt.keepAmbientCapabilities = true;  // ip and arping need CAP_NET_ADMIN / CAP_NET_RAW
  opt.timeout = kCommandTimeout;
  auto r = RunProcess(argv, opt);
  if (r.ok() && r->success())
    spdlog::warn("watchdog: removed VIP {} left over from an earlier run", spec_.address);
}

bool VipControl::Cancelled(uint64_t downs) const {
  std::lock_guard<std::mutex> l(mu_);
  return stop_ || downs_ != downs;
}

void VipControl::UpOnce(uint64_t downs) {
  // Outside the command lock: a Down during the wait need not wait for it.
  if (!WaitUntilFree(downs)) return;
  {
    std::lock_guard<std::mutex> c(commandMu_);
    if (Cancelled(downs)) return;  // a Down came after this up was queued
    spdlog::info("watchdog: bringing VIP {} up on {}", spec_.address, spec_.interface);
    std::string error;
    if (!guard_.Arm(SplitCommandLine(spec_.Expand(spec_.downCommand)), &error))
      spdlog::warn("watchdog: no VIP guard ({}): if this process is killed, the VIP stays until "
                   "it restarts", error);
    bool ok = Run("up", spec_.upCommand, kCommandTimeout);
    {
      std::lock_guard<std::mutex> l(mu_);
      held_ = true;  // even on failure (say, already present): Down must remove it
    }
    if (ok && hooks_.onUp) hooks_.onUp();
    if (!ok && hooks_.onFailure) hooks_.onFailure();
  }
  // Gratuitous ARP outside the command lock: a Down need not wait for it.
  if (!Cancelled(downs)) Run("arping", spec_.arpingCommand, kArpingTimeout);
}

void VipControl::Worker() {
  while (true) {
    uint64_t downs = 0;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stop_ || upQueued_; });
      if (stop_) return;
      upQueued_ = false;
      downs = downs_;
    }
    UpOnce(downs);
  }
}

}  // namespace watchdog
}  // namespace pgvigil
