// Patroni-compatible health probes, evaluated purely from the local node's last
// observed status (no I/O): /primary, /read-write, /replica[?lag=], /read-only,
// /health, /liveness, /readiness answer 200 or 503; a malformed query gives 400.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <cpprest/json.h>

#include "common/sidecar_status.h"
#include "sidecar/agent/rest_routes.h"
#include "sidecar/health_view.h"

namespace pgvigil {

// This node's PostgreSQL as last seen by the local health check.
struct LocalPgStatus {
  bool running = false;  // accepted a connection and answered the status query
  BackendRole role = BackendRole::kUnknown;
  uint64_t timeline = 0;
  uint64_t lsn = 0;          // primary: current; standby: replayed
  uint64_t receivedLsn = 0;  // standby
  std::optional<uint64_t> replayLagBytes;  // standby: known primary LSN - replayed
  std::string walReceiver;   // standby: pg_stat_wal_receiver.status ("streaming", ...) or ""
  std::string upstreamHost;  // standby: sender_host
  int upstreamPort = 0;
  std::string lastError;
  bool noLoadBalance = false;  // spec tag of this node
  bool checkerAlive = true;    // the health checker thread ran recently
};

// The "postgres" section of GET /v1/status (common/sidecar_status.h) without
// dataDirectoryInitialized and parameters; as JSON, the probes' body.
SidecarPostgres PostgresStatus(const LocalPgStatus& s);
web::json::value ToJson(const LocalPgStatus& s);

// Status code (200/503) or 400 with an error naming the query parameter.
ApiResponse EvaluateProbe(Route probe, const std::map<std::string, std::string>& query,
                          const LocalPgStatus& status);

}  // namespace pgvigil
