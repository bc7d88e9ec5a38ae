// SelfFence: an isolated primary fences itself (issue 14 item 10). When this
// member's watchdog write lease has run out (a majority of the members has not
// confirmed hearing it within W: sidecar/watchdog/contact_lease.h) while this
// host's PostgreSQL runs as a primary, it is stopped: SIGINT to the postmaster
// (fast shutdown: every backend is terminated at once, new connections are
// refused, no commit is acknowledged afterwards), then SIGQUIT (immediate) if it
// is still there after `escalateAfter`. Logged as critical with the reason and
// shown in GET /v1/status ("selfFence").
//
// Timing: the fencer looks every `poll`; with the defaults (poll 20 ms, escalate
// after heartbeatInterval / 4 = 125 ms) the fence is complete within the margin
// M = heartbeatInterval / 2 that the lease leaves before the controller beside
// the leader may promote another node (contact_lease.h has the argument).
//
// "Primary" is read from the data directory, not from a connection: a postmaster
// is alive (postmaster.pid) and neither standby.signal nor recovery.signal exists
// (PostgreSQL removes them before it accepts writes). While the lease stays out,
// the fencer keeps looking, so a primary started or promoted meanwhile is fenced
// too. When the lease is back it does nothing: PostgreSQL stays stopped and the
// controller's normal flow (rewind / rebuild as a standby, or failover) decides;
// when no other node is writable or promoted (e.g. this sidecar started before
// the others of a new cluster), the controller starts it again as the primary
// (GET /v1/status postgres.dataDirectoryRole "primary"; controller/plan).
//
// Not fenced: clusters of one or two members (nobody can promote without us),
// a sidecar running with the watchdog disabled (no lease: the controller's stop
// through the sidecar is the only fence), and a sidecar that is not running.
// Thread-safe; Start() once, Stop() once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <cpprest/json.h>

#include "common/metrics.h"
#include "common/result.h"
#include "common/sidecar_status.h"

namespace pgvigil {

class WatchdogApi;

// What the fencer sees of the local PostgreSQL (from its data directory).
struct LocalPrimaryLook {
  bool postmasterAlive = false;
  bool recoverySignal = false;  // standby.signal or recovery.signal present
};
LocalPrimaryLook LookAtDataDir(const std::string& data_dir);

// Pure: the reason to fence now, or "" (the lease holds, or no writable primary runs).
std::string FenceReason(bool lease_held, const LocalPrimaryLook& pg, int64_t lease_over_ms);

class SelfFence {
 public:
  struct Options {
    std::string dataDir;
    std::chrono::milliseconds poll{20};
    std::chrono::milliseconds escalateAfter{125};  // SIGINT -> SIGQUIT
    // Kubernetes mode (KUBERNETES.md §6): SIGQUIT (immediate shutdown) at once.
    bool immediate = false;
    // Called (on the fencer's thread) after each fence, e.g. to remember the term.
    std::function<void()> onFenced;
  };
  SelfFence(Options options, WatchdogApi* watchdog, MetricsRegistry& metrics);
  ~SelfFence();
  SelfFence(const SelfFence&) = delete;
  SelfFence& operator=(const SelfFence&) = delete;

  void Start();
  void Stop();
  // GET /v1/status "selfFence" (common/sidecar_status.h), with the fencer's
  // state (lastFence none until the first fence), and as JSON.
  SidecarSelfFence Snapshot() const;
  web::json::value Json() const;

 private:
  void Loop();
  void Fence(const std::string& reason);

  const Options options_;
  WatchdogApi* const watchdog_;
  Counter& fences_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                 // guarded by mu_
  bool leaseRequired_ = false;        // guarded by mu_
  bool leaseHeld_ = true;             // guarded by mu_
  bool fenced_ = false;               // guarded by mu_: fenced since the lease went out
  std::optional<SidecarLastFence> lastFence_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace pgvigil
