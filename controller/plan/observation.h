// What the controller's observer saw of the cluster, as plain values: per node
// over libpq and over its sidecar, plus the watchdog's view. The observer (I/O,
// controller/observe) fills it; the planner only reads it. Times are
// milliseconds on one clock chosen by the caller (the planner never reads a
// clock); every part carries when it was observed so stale parts can be told.
// The libpq fields (recovery, timeline, LSNs) keep the last values seen when a
// node becomes unreachable (0 / false when never seen), so the planner can
// reason about a crashed primary's last LSN and role.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgvigil::plan {

using Lsn = uint64_t;
using TimeMs = int64_t;

// "This standby streams from the primary", the one rule for the planner's
// synchronous candidates (sync_planner.cc) and the standbys the Kubernetes
// status counts as not streaming (kube/status_report.cc StandbysNotStreaming):
// its PostgreSQL answers, its WAL receiver's upstream is the primary, and the
// primary's pg_stat_replication row for it (its state; "" without a row) says
// streaming.
inline bool StreamsFromPrimary(bool pgUp, const std::string& upstream, const std::string& primary,
                               const std::string& primaryRowState) {
  return pgUp && upstream == primary && primaryRowState == "streaming";
}

// One row of pg_stat_replication on a primary (application_name is the
// standby's spec node name).
struct ReplicationRow {
  std::string node;
  std::string state;      // "streaming", "catchup", "startup", ...
  std::string syncState;  // "async", "sync", "potential", "quorum"
  Lsn sentLsn = 0;
  Lsn flushLsn = 0;
  Lsn replayLsn = 0;
};

// One entry of a timeline history file: timeline `timeline` ended at `switchLsn`
// (the next timeline forked off there).
struct TimelineSwitch {
  uint32_t timeline = 0;
  Lsn switchLsn = 0;
};

// A node-agent operation as the sidecar reports it.
enum class OperationKind { kPromote, kStop, kStart, kRestart, kFollow, kRebuild, kInit };  // kInit: Kubernetes mode
enum class OperationState { kRunning, kSucceeded, kFailed };
const char* ToString(OperationKind k);
const char* ToString(OperationState s);

struct Operation {
  std::string id;
  OperationKind kind = OperationKind::kPromote;
  OperationState state = OperationState::kRunning;
  std::string step;  // e.g. "pg_basebackup", "waiting for streaming"
  int progressPercent = 0;
  std::string error;  // kFailed: why
  uint64_t term = 0;  // the term it was asked in (GET /v1/status operation.term); 0: not said
};

// What a node's data directory is, whether PostgreSQL runs or not (GET
// /v1/status postgres.dataDirectoryRole): kStandby has standby.signal or
// recovery.signal, kPrimary neither (it starts writable). kUnknown: no
// initialized data directory, or a sidecar that does not say (older release).
enum class DataDirectoryRole { kUnknown, kPrimary, kStandby };

struct NodeObservation {
  std::string name;  // spec node name

  // Over libpq. pgObservedAt: when the values below were last read. A part that
  // claims to be reachable with a timestamp older than the planner's limit is
  // stale (the plan waits); an unreachable part never is: its timestamp only
  // dates the last values seen.
  TimeMs pgObservedAt = 0;
  bool pgReachable = false;
  bool inRecovery = false;
  // A primary's current timeline (of pg_current_wal_lsn()). A standby's newest
  // timeline: received_tli while its WAL receiver runs, else the newest
  // timeline whose history file is in its pg_wal (a checkpoint's timeline lags
  // by up to checkpoint_timeout and would make a good standby look diverged).
  uint32_t timeline = 0;
  Lsn currentLsn = 0;   // primary: pg_current_wal_lsn()
  Lsn receivedLsn = 0;  // standby: pg_last_wal_receive_lsn()
  Lsn replayedLsn = 0;  // standby: pg_last_wal_replay_lsn()
  // Standby: node its WAL receiver streams from (pg_stat_wal_receiver, mapped to a
  // spec node name; empty when not streaming) and the node its primary_conninfo
  // names (empty when none).
  std::string upstream;
  std::string configuredUpstream;
  std::vector<ReplicationRow> replication;  // primary only
  std::string synchronousStandbyNames;      // primary: the setting in effect
  std::vector<TimelineSwitch> history;      // the node's timeline history, oldest first

  // Over the sidecar's REST API (staleness as for pgObservedAt).
  TimeMs sidecarObservedAt = 0;
  bool sidecarReachable = false;
  bool postgresRunning = false;  // the postmaster runs on its host
  // While PostgreSQL is stopped: pg_controldata's "Latest checkpoint location"
  // (a cleanly stopped primary's shutdown checkpoint); 0 when unknown or running.
  Lsn checkpointLsn = 0;
  bool dataDirectoryInitialized = true;  // false: empty data directory (needs a base backup)
  // A stopped node whose data directory is a primary's (e.g. its sidecar fenced
  // it) is started again when no node is writable (planner.cc PlanBootstrap,
  // failover_planner.cc); kUnknown never is.
  DataDirectoryRole dataDirectoryRole = DataDirectoryRole::kUnknown;
  uint64_t routingGeneration = 0;        // routing generation its proxy has in effect
  bool proxyPaused = false;
  // Sessions its proxy has with a transaction or statement in progress on the
  // primary ("inTransaction"); a switchover waits for 0 before stopping it.
  int proxyInTransaction = 0;
  // This sidecar's own health checks: backend node name -> up. Not read by the
  // planner; a standalone controller derives consensus health from it.
  std::map<std::string, bool> healthView;
  std::optional<Operation> operation;  // the newest operation (running or finished)
  // Kubernetes mode: the term in which this sidecar fenced its own primary
  // (its write lease ran out; GET /v1/status selfFence.fencedInTerm), 0 when it
  // has not. It runs PostgreSQL again only for a newer term. The planner reads
  // it only to tell a start its own fence stopped (WhyNotStartAsPrimary).
  uint64_t selfFencedInTerm = 0;
  // Settings its PostgreSQL applies only after a restart (GET /v1/status
  // postgres.parameters.pendingRestart: pg_settings.pending_restart). Not read
  // by the planner; the Kubernetes rollout restarts such a pod (kube_rollout.h).
  std::vector<std::string> pendingRestart;
  // Settings of the spec its PostgreSQL does not run with (GET /v1/status
  // postgres.parameters: "errors", refused from pgvigil.conf; "setAside", left
  // out of the sidecar's start), one line each naming the setting and why. Not
  // read by the planner; shown in the status.
  std::vector<std::string> parameterProblems;

  // An operation last seen running on a sidecar that no longer answers is not
  // known to run (its host may be gone): only a reachable sidecar's counts.
  bool OperationRunning() const {
    return sidecarReachable && operation && operation->state == OperationState::kRunning;
  }
  // Where this node's history ends for timeline reasoning: a standby's replay
  // position, a primary's current LSN (last values seen).
  Lsn ReplayEnd() const;
};

// Per backend: how many live watchdog members currently see it down or up.
struct ConsensusHealth {
  int seeDown = 0;
  int seeUp = 0;
};

struct WatchdogView {
  TimeMs observedAt = 0;
  std::string leader;  // spec node name of the leader; empty when none
  uint64_t term = 0;
  bool quorum = false;  // the leader holds a lease renewed by a majority
  int liveMembers = 0;
  std::map<std::string, ConsensusHealth> backends;  // by spec node name
  // Write leases (sidecar/watchdog/contact_lease.h), from the watchdog's member
  // list: members whose host can no longer hold a write lease (the leader has not
  // heard them for deadTime), so a primary there has fenced itself or is gone.
  // writeLeasesKnown is false for a standalone controller (no watchdog) and for a
  // sidecar that does not report them: then no failover waits for a lease.
  bool writeLeasesKnown = false;
  std::vector<std::string> writeLeaseOver;
  bool WriteLeaseOver(const std::string& n) const {
    for (const auto& m : writeLeaseOver)
      if (m == n) return true;
    return false;
  }
  // More than half of the live members see backend n down (the failover's
  // consensus rule, Context::ConsensusDown).
  bool SeenDownByMajority(const std::string& n) const {
    auto it = backends.find(n);
    return it != backends.end() && liveMembers > 0 && it->second.seeDown * 2 > liveMembers;
  }
};

struct Observation {
  std::vector<NodeObservation> nodes;  // spec nodes (and any removed node still seen)
  WatchdogView watchdog;

  const NodeObservation* Find(const std::string& name) const;
};

}  // namespace pgvigil::plan
