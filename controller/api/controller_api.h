// The controller's REST API (default port 9900):
//   GET  /v1/status                    200 cluster status (controller/status/cluster_status.h)
//   GET  /v1/spec                      200 the spec in use (canonical YAML, text/yaml)
//   PUT  /v1/spec          (token)     body: a cluster spec document (YAML or JSON).
//        200 {"applied": true, "nodes": N}; 400 {"error", "errors": ["FILE:LINE:COL: path: reason"]}
//        A rejected spec changes nothing. Changed postgres.parameters are first
//        checked by a sidecar's PostgreSQL (Reconciler::CheckParameters): refused,
//        400 {"error", "errors": ["spec.postgres.parameters.NAME: why (checked by
//        NODE)"]}; when no sidecar could check, 200 with a "warning" saying so.
//   POST /v1/switchover    (token)     {"to": "NODE"} -> 202 {"requested": "switchover", "to"}
//   POST /v1/nodes/NAME/recover|attach|detach (token) -> 202 {"requested": VERB, "node"}
//   GET  /metrics                      Prometheus text
// Every request other than GET/HEAD needs "Authorization: Bearer <api.tokenFile>";
// the server checks it from the headers, before reading any body
// (ControllerAdmitBeforeBody), and answers 401 otherwise. Unknown paths 404, wrong
// method 405, bad bodies 400 naming the field. Pure request handling
// (HandleControllerRequest) is separate from the server (common/http_server.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/metrics.h"
#include "controller/reconciler.h"
#include "common/http_api.h"

namespace pgvigil {

// 401 for a request other than GET/HEAD without the right token; nullopt otherwise.
std::optional<ApiResponse> ControllerAdmitBeforeBody(const ApiRequest& head, const std::string& token);

ApiResponse HandleControllerRequest(const ApiRequest& req, Reconciler& reconciler,
                                    const std::string& token, MetricsRegistry& metrics);

}  // namespace pgvigil
