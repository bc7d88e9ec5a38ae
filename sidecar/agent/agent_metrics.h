// Every metric of the node agent (REST, health checker, operations), declared
// once here. Names: pgvigil_agent_*. References stay valid for the registry's life.
#pragma once

#include <string>

#include "common/metrics.h"

namespace pgvigil {

struct AgentMetrics {
  explicit AgentMetrics(MetricsRegistry& r)
      : registry(r),
        requests2xx(r.GetCounter("pgvigil_agent_http_requests_total", "REST requests answered, by status class", "code=\"2xx\"")),
        requests4xx(r.GetCounter("pgvigil_agent_http_requests_total", "REST requests answered, by status class", "code=\"4xx\"")),
        requests5xx(r.GetCounter("pgvigil_agent_http_requests_total", "REST requests answered, by status class", "code=\"5xx\"")),
        unauthorized(r.GetCounter("pgvigil_agent_http_unauthorized_total", "REST requests refused for a missing or wrong bearer token")),
        staleTerm(r.GetCounter("pgvigil_agent_stale_term_total", "mutating requests refused because their term was older than the highest seen")),
        highestTerm(r.GetGauge("pgvigil_agent_highest_term", "highest controller term seen (persisted)")),
        opsStarted(r.GetCounter("pgvigil_agent_operations_started_total", "node operations started")),
        opsSucceeded(r.GetCounter("pgvigil_agent_operations_finished_total", "node operations finished, by result", "result=\"succeeded\"")),
        opsFailed(r.GetCounter("pgvigil_agent_operations_finished_total", "node operations finished, by result", "result=\"failed\"")),
        opsRefused(r.GetCounter("pgvigil_agent_operations_refused_total", "node operations refused (busy, unfenced primary)")) {}

  // Per-backend health metrics (labels node="NAME").
  Counter& ChecksFailed(const std::string& node) {
    return registry.GetCounter("pgvigil_agent_health_checks_failed_total",
                               "health check attempts that failed (before retries settle)",
                               "node=\"" + node + "\"");
  }
  Counter& Checks(const std::string& node) {
    return registry.GetCounter("pgvigil_agent_health_checks_total", "health checks completed (after retries)",
                               "node=\"" + node + "\"");
  }
  Gauge& BackendUp(const std::string& node) {
    return registry.GetGauge("pgvigil_agent_backend_up", "1 when the backend's last health check succeeded",
                             "node=\"" + node + "\"");
  }
  Gauge& BackendLag(const std::string& node) {
    return registry.GetGauge("pgvigil_agent_backend_replay_lag_bytes",
                             "standby replay lag behind the primary's current LSN, bytes",
                             "node=\"" + node + "\"");
  }

  MetricsRegistry& registry;
  Counter& requests2xx;
  Counter& requests4xx;
  Counter& requests5xx;
  Counter& unauthorized;
  Counter& staleTerm;
  Gauge& highestTerm;
  Counter& opsStarted;
  Counter& opsSucceeded;
  Counter& opsFailed;
  Counter& opsRefused;
};

}  // namespace pgvigil
