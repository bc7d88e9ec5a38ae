// Checks every backend of the spec over libpq (healthCheck: period, timeout as
// the deadline of connection and query, maxRetries, retryDelay) from its own
// threads, one per backend, and writes the results into the shared HealthView.
// Not retried: a refused connection (nothing listens). Given up after 500 ms and
// not retried: a backend whose host's watchdog member is lost. Checked at once
// when asked (HealthView::RequestCheck), at most once per 50 ms.
// Never called from an event loop; readers use the HealthView or Local().
// The backends follow the membership (SetNodes): a node that joins gets its
// checker thread, one that leaves has its thread stopped and its entry removed
// from the HealthView by that thread as it ends (joined at Stop).
// Thread-safe. Start() once, Stop() once (joins, returns within about one
// check timeout).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/spec.h"
#include "sidecar/agent/agent_metrics.h"
#include "sidecar/agent/pg_status_query.h"
#include "sidecar/agent/probes.h"
#include "sidecar/health_view.h"

namespace pgvigil {

class HealthChecker {
 public:
  HealthChecker(const ClusterSpec& spec, std::string self, std::shared_ptr<HealthView> view,
                std::shared_ptr<MetricsRegistry> metrics);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  Status Start();
  void Stop();

  // This node's PostgreSQL as last seen (with WAL receiver details), lag filled
  // in from the primary's last seen LSN.
  LocalPgStatus Local() const;
  // Asks every checker to check now (after an operation changed something).
  void Poke();
  // The members to check from now on (matched by name; a node whose host or
  // port changed gets a new thread). Returns at once: a removed node's thread
  // finishes its check on its own.
  void SetNodes(const std::vector<NodeSpec>& nodes);

 private:
  void Loop(NodeSpec node, std::shared_ptr<bool> leave);
  BackendHealth CheckOnce(const NodeSpec& node, PgStatusSession* session, PgObservation* obs);

  const ClusterSpec spec_;
  const std::string self_;
  std::shared_ptr<HealthView> view_;
  std::shared_ptr<MetricsRegistry> registry_;  // keeps metrics_'s references valid
  AgentMetrics metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;        // guarded by mu_
  uint64_t pokes_ = 0;           // guarded by mu_
  PgObservation selfObs_;        // guarded by mu_
  bool selfUp_ = false;          // guarded by mu_
  std::string selfError_;        // guarded by mu_
  std::chrono::steady_clock::time_point selfLoopAt_{};  // guarded by mu_
  struct NodeThread {
    NodeSpec node;
    std::shared_ptr<bool> leave;  // pointee guarded by mu_: the node left
    std::thread thread;
  };
  std::mutex nodesMu_;                          // guards threads_, retired_
  std::vector<NodeThread> threads_;             // one per member checked
  std::vector<std::thread> retired_;            // of members that left; joined at Stop
};

// The replay lag of `standby_lsn` given the backends seen: the newest up primary's
// LSN minus it (0 when ahead); nullopt when no primary is known. Pure.
std::optional<uint64_t> ReplayLag(const std::vector<BackendHealth>& view, uint64_t standby_lsn);

// Whether a failed check's error says no server listens on the address (the
// TCP connection was refused) or the server is shutting down: such a check is
// not retried, the backend is down. A server that answers with another error
// (starting up, too many clients) is retried.
bool RefusedConnection(const std::string& error);

}  // namespace pgvigil
