// Brings the virtual IP up and down with the spec's commands (argv, no shell,
// with a timeout, output logged). Up runs on a worker thread (the up command,
// then gratuitous ARP, which takes a second); Down runs on the caller's thread
// and returns only when the address is gone (or the command failed), after
// cancelling a queued up and waiting for a running up command. So a Down issued
// before a message is sent has taken effect before the message leaves.
// While the VIP is up a VipGuard child is armed, so a SIGKILLed sidecar still
// drops the address within milliseconds.
//
// Duplicate-address detection (issue 14 item 11): before bringing the VIP up, Up
// runs the spec's dadCommand (arping -D). When another host answers for the
// address (exit 1: e.g. a host whose whole sidecar, guard included, was
// SIGKILLed keeps the address in its kernel), the VIP is not brought up: the
// probe repeats every 200 ms, each bounded to 300 ms, for as long as that host
// answers (never two holders; a Down cancels the wait). The wait is logged at
// once and every 5 s with the answering host's MAC, and shown in `conflict()`
// (GET /v1/watchdog vip.conflict): the operator removes the address there
// (`pgvigil-sidecar release-vip`, which systemd's ExecStopPost runs) or the host
// dies. No answer within 300 ms, exit 0, or a probe that cannot run (logged as an
// error) counts as free. DAD proves only that no host answered ARP in that
// moment: a holder whose link is down (partitioned) does not answer, and is not
// reachable on that segment either.
// Thread-safe. A disabled VIP (empty address) makes every call a no-op.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/spec.h"
#include "sidecar/watchdog/vip_guard.h"

namespace pgvigil {
namespace watchdog {

class VipControl {
 public:
  struct Hooks {  // metric updates; may be empty
    std::function<void()> onUp, onDown, onFailure;
  };
  VipControl(VipSpec spec, Hooks hooks);
  ~VipControl();  // Shutdown()
  VipControl(const VipControl&) = delete;
  VipControl& operator=(const VipControl&) = delete;

  void Up();
  void Down(const std::string& reason);
  // Removes an address left behind by an earlier run (SIGKILL, crash). Best effort.
  void RemoveStale();
  void Shutdown();  // stops the worker; does not bring the VIP down
  bool held() const;
  // "" when no other host answers for the VIP; else what the last probe saw.
  std::string conflict() const;

 private:
  bool Run(const char* what, const std::string& command, std::chrono::milliseconds timeout);
  void Worker();
  void UpOnce(uint64_t downs);
  bool Cancelled(uint64_t downs) const;
  // Waits (probing) while another host answers for the VIP; false when cancelled.
  bool WaitUntilFree(uint64_t downs);

  const VipSpec spec_;
  const Hooks hooks_;
  std::mutex commandMu_;  // serializes up and down commands
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool upQueued_ = false;   // guarded by mu_
  bool held_ = false;       // guarded by mu_
  uint64_t downs_ = 0;      // guarded by mu_: bumps on every Down
  bool stop_ = false;       // guarded by mu_
  std::string conflict_;    // guarded by mu_
  std::thread worker_;
  VipGuard guard_;  // under commandMu_: drops the VIP if this process dies holding it
};

}  // namespace watchdog
}  // namespace pgvigil
