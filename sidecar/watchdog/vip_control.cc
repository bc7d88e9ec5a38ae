#include "sidecar/watchdog/vip_control.h"

#include <spdlog/spdlog.h>

#include "common/process.h"

namespace pgvigil {
namespace watchdog {

namespace {
constexpr std::chrono::milliseconds kCommandTimeout{5000};
constexpr std::chrono::milliseconds kArpingTimeout{3000};
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
