// What the controller reports in GET /v1/status and vigilctl prints: the cluster's
// phase, primary, nodes (Pgpool-II's show pool_nodes columns and more), the
// watchdog, running operations and recent decisions. Plain values with a JSON
// form both ways (the controller writes it, vigilctl reads it). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/metrics.h"
#include "common/result.h"
#include "common/spec.h"
#include "common/watchdog_detail.h"

namespace pgvigil {

struct NodeStatus {
  std::string name;
  std::string host;
  int port = 0;
  std::string role;       // the controller's view: primary | standby | unknown
  std::string pgRole;     // what PostgreSQL itself says: primary | standby | unknown
  std::string state;      // up | down | fenced | detached | recovering
  std::string pgStatus;   // up | down (reachable over libpq)
  int weight = 0;
  uint64_t selectCount = 0;
  bool loadBalanceNode = false;
  int64_t lagBytes = -1;  // replay lag; -1 unknown
  std::string replicationState;      // streaming | catchup | "" (from the primary)
  std::string replicationSyncState;  // async | sync | quorum | potential | ""
  std::string upstream;   // the node it streams from
  uint64_t timeline = 0;
  std::string lastStatusChange;  // ISO-8601
  std::string lsn;  // WAL position, "0/3000060": a primary's current, a standby's replayed; "" unknown
  // Settings its PostgreSQL applies only after a restart (the sidecar's
  // postgres.parameters.pendingRestart); in JSON only when not empty.
  std::vector<std::string> pendingRestart;
  // Settings of the spec its PostgreSQL does not run with, one line each naming
  // the setting and why (NodeObservation::parameterProblems); in JSON only when
  // not empty.
  std::vector<std::string> parameterProblems;
};

struct OperationStatus {
  std::string node;
  std::string id;
  std::string type;   // rebuild, promote, follow, ...
  std::string state;  // running | succeeded | failed
  std::string step;
  double percent = -1;  // -1 unknown
  std::string error;
};

struct EventRecord {
  std::string time;    // ISO-8601
  std::string action;  // promote, fence, follow, rebuild, routing, ...
  std::string node;
  std::string reason;
};

struct WatchdogMemberStatus {
  std::string name;
  std::string address;  // host:port
  std::string state;    // LEADER | STANDBY | CANDIDATE | LOST | SHUTDOWN | UNKNOWN
};

struct ClusterStatus {
  std::string cluster;
  std::string phase;  // Healthy | Failing over | Switchover in progress | Recovering | Degraded | No quorum
  std::string primary;
  uint64_t timeline = 0;
  uint64_t routingGeneration = 0;
  uint64_t term = 0;
  std::string controller;  // node whose controller acts (leader), "" when none
  bool acting = false;     // this controller acts (false: read-only replica)
  // The last plan's summary: what the controller waits for, or why it does not act
  // (e.g. why it does not fail over); "" when there is nothing to say.
  std::string summary;
  // Synchronous mode: the standbys recorded (durably) as holding every acknowledged
  // commit, synchronousCount of them at least; failover relies on this set.
  std::vector<std::string> synchronousStandbys;
  int synchronousCount = 0;
  std::vector<NodeStatus> nodes;
  bool watchdogEnabled = true;  // false: no watchdog (standalone controller)
  std::string watchdogLeader;
  bool watchdogQuorum = false;
  std::string vipAddress;  // the configured VIP ("10.77.0.150/24"); "" when none
  std::string vipHolder;   // node holding it, as the local watchdog member sees it
  std::vector<WatchdogMemberStatus> watchdogMembers;
  std::vector<OperationStatus> operations;
  std::vector<EventRecord> events;  // newest last
};

web::json::value ToJson(const ClusterStatus& s);
// What the spec alone tells: whether a watchdog runs and which VIP is configured.
void AddSpecFacts(const ClusterSpec& spec, ClusterStatus* s);
// The VIP holder and the members from a sidecar's GET /v1/watchdog body
// (common/watchdog_detail.h: vip.holder, members[].name/host/heartbeatPort/state).
void AddWatchdogDetail(const WatchdogDetail& detail, ClusterStatus* s);
// select_cnt: each proxy counts the SELECTs it balanced to each backend; the
// cluster's count for a node is the sum over the sidecars' GET /v1/proxy/pool_nodes
// bodies ({"nodes": [{"hostname", "port", "select_cnt", ...}]}, strings as in
// show pool_nodes), matched to s->nodes by hostname and port. Bodies that are not
// such objects (an unreachable sidecar, a disabled proxy) are skipped; nodes no
// proxy reports keep 0.
void AddProxySelectCounts(const std::vector<web::json::value>& pool_nodes_bodies, ClusterStatus* s);

Result<ClusterStatus> ClusterStatusFromJson(const web::json::value& v);

// The status as Prometheus gauges (the controller's GET /metrics):
//   pgvigil_controller_acting, pgvigil_controller_term, pgvigil_cluster_timeline,
//   pgvigil_cluster_routing_generation, pgvigil_cluster_phase{phase} (1 for the
//   current phase, 0 for the others), pgvigil_cluster_operations_running,
//   pgvigil_node_up{node} (reachable over libpq), pgvigil_node_primary{node},
//   pgvigil_node_streaming{node}, pgvigil_node_detached{node}, pgvigil_node_fenced{node},
//   pgvigil_node_lag_bytes{node} (-1 unknown), pgvigil_node_select_count{node}.
void UpdateStatusMetrics(const ClusterStatus& s, MetricsRegistry& m);

// The table vigilctl status prints: a header block, then one row per node in
// show pool_nodes' column order, then the watchdog and operations.
std::string RenderStatusTable(const ClusterStatus& s);
// The node rows only, formatted like psql's aligned output of show pool_nodes.
std::string RenderPoolNodes(const ClusterStatus& s);

}  // namespace pgvigil
