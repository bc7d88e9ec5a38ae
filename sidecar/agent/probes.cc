#include "sidecar/agent/probes.h"

#include "common/units.h"

namespace pgvigil {

SidecarPostgres PostgresStatus(const LocalPgStatus& s) {
  SidecarPostgres p;
  p.running = s.running;
  p.role = s.running ? ToString(s.role) : "unknown";
  p.timeline = s.timeline;
  p.lsn = s.lsn;
  if (s.role == BackendRole::kStandby) {
    SidecarStandby standby;
    standby.receivedLsn = s.receivedLsn;
    standby.replayLagBytes = s.replayLagBytes;
    standby.walReceiver = s.walReceiver;
    standby.upstreamHost = s.upstreamHost;
    standby.upstreamPort = s.upstreamPort;
    p.standby = standby;
  }
  p.lastError = s.lastError;
  return p;
}

web::json::value ToJson(const LocalPgStatus& s) { return ToJson(PostgresStatus(s)); }

ApiResponse EvaluateProbe(Route probe, const std::map<std::string, std::string>& query,
                          const LocalPgStatus& s) {
  std::optional<uint64_t> max_lag;
  for (const auto& [key, val] : query) {
    if (probe == Route::kProbeReplica && key == "lag") {
      max_lag = ParseSize(val);
      if (!max_lag) return ErrorResponse(400, "lag must be a byte count such as 1048576 or 16MB", "lag");
    }
    // Other parameters (Patroni accepts tag filters) are ignored.
  }
  bool primary = s.running && s.role == BackendRole::kPrimary;
  bool standby = s.running && s.role == BackendRole::kStandby;
  bool ok = false;
  switch (probe) {
    case Route::kProbePrimary:
    case Route::kProbeReadWrite:
      ok = primary;
      break;
    case Route::kProbeReplica:
      ok = standby && !s.noLoadBalance;
      if (ok && max_lag) ok = s.replayLagBytes.has_value() && *s.replayLagBytes <= *max_lag;
      break;
    case Route::kProbeReadOnly:
      ok = primary || standby;
      break;
    case Route::kProbeHealth:
      ok = s.running;
      break;
    case Route::kProbeLiveness:
      ok = s.checkerAlive;
      break;
    case Route::kProbeReadiness:
      ok = primary || (standby && s.walReceiver == "streaming");
      break;
    default:
      return ErrorResponse(404, "not a probe");
  }
  return JsonResponse(ok ? 200 : 503, ToJson(s));
}

}  // namespace pgvigil
