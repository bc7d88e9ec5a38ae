// The sidecar's own view of every backend's health, written by the health
// checker (sidecar/agent) and read by the proxy (routing) and the watchdog
// (published in heartbeats for consensus). Thread-safe; readers get snapshots.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace pgvigil {

enum class BackendRole { kUnknown, kPrimary, kStandby };
const char* ToString(BackendRole r);

// A standby as a primary reports it in pg_stat_replication: its
// application_name (a standby of the cluster gives its node name), state
// ("streaming", "catchup", ...) and sync_state ("sync", "potential", "quorum",
// "async").
struct ReplicaSeen {
  std::string name;
  std::string state;
  std::string syncState;
};

struct BackendHealth {
  std::string node;     // spec node name
  bool up = false;      // last check (after retries) succeeded
  BackendRole role = BackendRole::kUnknown;  // pg_is_in_recovery() as seen
  uint64_t timeline = 0;
  uint64_t lsn = 0;            // primary: current WAL LSN; standby: last replayed LSN
  uint64_t receivedLsn = 0;    // standby: last received LSN
  uint64_t replayLagBytes = 0; // standby: primary's current LSN minus replayed LSN
  std::vector<ReplicaSeen> replicas;  // primary: its pg_stat_replication, as last checked
  std::string lastError;
  std::chrono::system_clock::time_point lastChange{};  // when `up` or `role` last changed
  std::chrono::system_clock::time_point lastCheck{};
};

class HealthView {
 public:
  using Listener = std::function<void(const std::vector<BackendHealth>&)>;

  void Update(const BackendHealth& h);  // insert or replace by node; notifies on up/role change
  // Forgets a node (it left the membership); listeners are not told.
  void Remove(const std::string& node);
  std::vector<BackendHealth> Snapshot() const;
  bool Get(const std::string& node, BackendHealth* out) const;
  uint64_t generation() const;  // bumps on every Update
  // Called (on the updater's thread, outside the lock) when a backend's up/role changes.
  void Subscribe(Listener l);

  // Asks the health checker (which registers itself) to check every backend now
  // instead of at the next period: the proxy saw a backend connection die, or a
  // new routing table names another primary, a peer sees a backend otherwise.
  // Cheap, never blocks, never lost: requests made while a check runs fold into
  // one more check right after it (the checker paces itself).
  void SetCheckRequester(std::function<void()> requester);
  void RequestCheck();

  // Nodes whose host's watchdog member this sidecar has lost (no heartbeat for
  // deadTime), written by the watchdog. A health check of such a node's
  // PostgreSQL gives up quickly and is not retried: its host does not answer.
  void SetHostsLost(std::set<std::string> nodes);
  bool HostLost(const std::string& node) const;

 private:
  mutable std::mutex mu_;
  std::vector<BackendHealth> backends_;  // guarded by mu_
  std::vector<Listener> listeners_;      // guarded by mu_
  uint64_t generation_ = 0;              // guarded by mu_
  std::function<void()> requester_;      // guarded by mu_
  std::set<std::string> hostsLost_;                      // guarded by mu_
};

}  // namespace pgvigil
