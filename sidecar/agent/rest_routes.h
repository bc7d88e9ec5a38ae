// The sidecar REST API: route table and pure request handling helpers (no
// sockets, no clocks). The server (common/http_server.h) turns each request into
// an ApiRequest (common/http_api.h); the agent asks MatchRoute which route it is,
// checks the token from the headers alone (AdmitBeforeBody) before any body byte
// is read, and builds an ApiResponse.
//
// Routes (all JSON bodies are UTF-8 objects; errors are
// {"error": "<reason>", "field": "<name>"} with "field" present when one field is
// at fault; a refusal of a request understood (409, and 400 term_out_of_range) is
// an AgentRefusal, {"error", "reason", ...}, whose reason codes are listed once in
// common/agent_refusal.h; HEAD is accepted wherever GET is and returns the same status, no body):
//
// Read-only, no token:
//   GET /v1/status      200 {"node", "term", "postgres", "backends", "selfFence",
//                       "components", "operation"}: SidecarStatus, the one contract
//                       with the controller (common/sidecar_status.h has the fields).
//   GET /v1/watchdog    200 WatchdogApi::Detail(): WatchdogDetail, the one contract
//                       with the controller and vigilctl (common/watchdog_detail.h);
//                       503 {"error"} when the watchdog is disabled on this node.
//   GET /v1/watchdog/register  200 {"term", "version", "durable", "doc"}: WatchdogRegisterValue
//                       (common/watchdog_register.h); 503 no watchdog.
//   GET /v1/proxy/routing      200 {"generation", "primary", "nodes": [{"name", "host",
//                       "port", "weight", "up"}]}: RoutingTable (common/routing_table.h);
//                       503 when the proxy is disabled.
//   GET /v1/proxy/pool_nodes   200 {"nodes": [{"node_id", "hostname", "port", "status",
//                       "pg_status", "lb_weight", "role", "pg_role", "select_cnt",
//                       "load_balance_node", "replication_delay", "replication_state",
//                       "replication_sync_state", "last_status_change"}]}; 503 no proxy.
//   GET /primary        200 when PostgreSQL runs here as a primary (not in recovery),
//   GET /read-write     else 503. Body: its "postgres" section (no parameters).
//   GET /replica        200 when PostgreSQL runs here in recovery and the node is not
//                       tagged noLoadBalance; ?lag=BYTES (or "16MB") additionally needs
//                       a known replay lag <= BYTES (unknown lag: 503). Bad lag: 400.
//   GET /read-only      200 when PostgreSQL runs here (primary or standby), else 503.
//   GET /health         200 when PostgreSQL runs here, else 503.
//   GET /liveness       200 while the sidecar's health checker is alive, else 503.
//   GET /readiness      200 when PostgreSQL runs here and is a primary or a standby
//                       whose WAL receiver is streaming, else 503.
//   GET /metrics        200 text/plain; version=0.0.4 (Prometheus exposition).
//
// Token required (Authorization: Bearer <spec.api.tokenFile>; 401 otherwise):
//   POST /v1/node/term            {"term": N}
//        200 {"term": highest}; 409 when N is older than the highest seen term.
//   POST /v1/node/promote         {"term": N}
//   POST /v1/node/stop            {"term": N, "mode": "fast"|"immediate", "fenced": bool}
//   POST /v1/node/start           {"term": N}
//   POST /v1/node/restart         {"term": N, "mode": "fast"|"immediate", "fenced": bool}
//   POST /v1/node/follow          {"term": N, "primary": "<spec node name>",
//                                  "slot": "<slot name, optional>", "fenced": bool}
//   POST /v1/node/rebuild         {"term": N, "primary": "<spec node name>",
//                                  "method": "auto"|"rewind"|"basebackup",
//                                  "maxRate": "<pg_basebackup -r, e.g. 10M>",
//                                  "slot": "<optional>", "fenced": bool}
//   POST /v1/node/init            {"term": N}  bootstrap of an empty cluster
//        (Kubernetes, KUBERNETES.md §4.4): initdb, replication user, pg_hba,
//        start as primary. Fails "refused: ..." when the data directory holds
//        anything or PostgreSQL runs (see init_operation.cc).
//        Operations answer 202 {"id": "<operation id>", "operation": {...}} and run in
//        the background. "term" is required (a non-negative integer, or a string
//        of digits); "fenced": true says the caller has fenced this node in this
//        term, which is required to stop / follow / rebuild a node that is a running
//        primary, or a running node whose role cannot be confirmed (409 {"error",
//        "reason": "running_primary_not_fenced"} at once, or the operation fails
//        with "refused: ..." when the operation's own check finds it); promote,
//        start and restart keep the data and need no fencing. 409 {"error", "reason": "stale_term", "term": highest} when N
//        is older than the newest term seen; 409 {"error", "reason": "busy",
//        "running": "<id>"} while another operation runs. 400 on a malformed body.
//   PUT  /v1/proxy/routing  RoutingPublish (common/routing_table.h):
//                           {"term": N, "generation": G, "primary": "<name>|\"\"",
//                            "nodes": [{"name", "host", "port", "weight": 1, "up": true}]}
//        200 the table now in effect; 400 when a node is not one of the spec's
//        nodes at the spec's host and port (the reason names the field); 409
//        {"reason": "routing_refused"} when the proxy refuses it (generation not
//        newer); 503 when the proxy is disabled.
//   POST /v1/proxy/pause    {"term": N}  200 {"paused": true, "inTransaction": K}: new
//                            transactions wait (at most spec.proxy.pauseLimit) until
//                            resume; K sessions still have a transaction or statement
//                            in progress on the primary (poll until 0).
//   POST /v1/proxy/resume   {"term": N}  200 {"paused": false, "inTransaction": K}.
//   PUT  /v1/watchdog/register {"term": N, "doc": {...}, "timeoutMs": 5000}
//        (WatchdogRegisterWrite, common/watchdog_register.h)
//        200 {"version": V} (WatchdogRegisterWritten) once a majority stored it; 409 {"reason":
//        "register_refused"} when this member is not the leader with quorum or the
//        write did not become durable in time; 503 when the watchdog is disabled.
//   PUT  /v1/node/spec      {"term": N, "generation": G, "spec": {...}} (common/node_spec_push.h;
//        decided as spec_update.h says) 200 {"generation", "outcome": "applied" |
//        "unchanged" | "stale" | "restartRequired" | "failed" (postgres.parameters not
//        taken: put back, generation not taken; or refused by pg_settings before anything is
//        stored), "restartRequired", "field",
//        "reason"}; 400 {"error": "<path>: <reason>", "field": "<path>"} when the spec
//        does not validate (nothing changes); 409 {"reason": "not_a_member"} when the
//        spec does not list this node. With "check": true only the parameters are checked
//        (nothing stored; 503 when PostgreSQL is not running). Bodies up to the server's limit.
//   All token routes check "term" like the node operations (409 stale_term).
//   GET  /v1/node/operations       200 {"operations": [recent operations, newest last]}
//   GET  /v1/node/operations/ID    200 operation: {"id", "type", "state":
//        "running"|"succeeded"|"failed", "step", "method" (rebuild: "rewind" |
//        "basebackup"), "progress": {"doneBytes", "totalBytes", "percent"},
//        "term", "startedAt", "finishedAt", "durationMs" (so far, while running),
//        "error", "log": [last lines]}; 404 unknown.
//
// Anything else: 404 {"error"}; a known path with another method: 405.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <optional>

#include "common/http_api.h"
#include "common/result.h"

namespace pgvigil {

enum class Route {
  kNotFound,
  kMethodNotAllowed,
  kStatus,
  kWatchdog,
  kProbePrimary,
  kProbeReadWrite,
  kProbeReplica,
  kProbeReadOnly,
  kProbeHealth,
  kProbeLiveness,
  kProbeReadiness,
  kMetrics,
  kNodeTerm,
  kNodeSpec,  // PUT /v1/node/spec
  kNodeOperation,  // promote/stop/start/restart/follow/rebuild (see OpKind)
  kOperationList,
  kOperationGet,
  kWatchdogRegisterGet,
  kWatchdogRegisterPut,
  kProxyRoutingGet,
  kProxyRoutingPut,
  kProxyPause,
  kProxyResume,
  kProxyPoolNodes,
};

struct RouteMatch {
  Route route = Route::kNotFound;
  std::string operation;    // kNodeOperation: "promote", "stop", ...
  std::string operationId;  // kOperationGet
  bool needsToken = false;
  bool isProbe() const {
    return route >= Route::kProbePrimary && route <= Route::kProbeReadiness;
  }
};

// Which route a method + path is. HEAD matches wherever GET does.
RouteMatch MatchRoute(const std::string& method, const std::string& path);

// The answer to a request known only by its method, path and Authorization header
// (the body not read yet): 404 / 405 for what is no route, 401 when the route needs
// the token and `authorization` does not carry `token`; nullopt to read the body
// and handle the request. The server calls it before reading any body byte.
std::optional<ApiResponse> AdmitBeforeBody(const ApiRequest& head, const std::string& token);

}  // namespace pgvigil
