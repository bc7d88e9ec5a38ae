#include "sidecar/agent/rest_routes.h"

#include <cctype>
#include <set>

namespace pgvigil {

namespace {

struct FixedRoute {
  const char* path;
  Route route;
};

const FixedRoute kGetRoutes[] = {
    {"/v1/status", Route::kStatus},        {"/v1/watchdog", Route::kWatchdog},
    {"/primary", Route::kProbePrimary},    {"/read-write", Route::kProbeReadWrite},
    {"/replica", Route::kProbeReplica},    {"/read-only", Route::kProbeReadOnly},
    {"/health", Route::kProbeHealth},      {"/liveness", Route::kProbeLiveness},
    {"/readiness", Route::kProbeReadiness}, {"/metrics", Route::kMetrics},
    {"/v1/node/operations", Route::kOperationList},
};

const std::set<std::string> kOperations = {"promote", "stop",   "start",
                                           "restart", "follow", "rebuild", "init"};

bool ValidOperationId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

RouteMatch MatchRoute(const std::string& method, const std::string& raw_path) {
  RouteMatch m;
  std::string path = raw_path;
  // Tolerate one trailing slash ("/health/"), not on the root.
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  bool is_get = method == "GET" || method == "HEAD";
  for (const auto& r : kGetRoutes) {
    if (path == r.path) {
      m.route = is_get ? r.route : Route::kMethodNotAllowed;
      m.needsToken = r.route == Route::kOperationList;
      return m;
    }
  }
  struct PeerRoute {
    const char* path;
    const char* method;
    Route route;
    bool token;
  };
  static const PeerRoute kPeerRoutes[] = {
      {"/v1/watchdog/register", "GET", Route::kWatchdogRegisterGet, false},
      {"/v1/watchdog/register", "PUT", Route::kWatchdogRegisterPut, true},
      {"/v1/proxy/routing", "GET", Route::kProxyRoutingGet, false},
      {"/v1/proxy/routing", "PUT", Route::kProxyRoutingPut, true},
      {"/v1/proxy/pause", "POST", Route::kProxyPause, true},
      {"/v1/proxy/resume", "POST", Route::kProxyResume, true},
      {"/v1/proxy/pool_nodes", "GET", Route::kProxyPoolNodes, false},
  };
  bool path_known = false;
  for (const auto& r : kPeerRoutes) {
    if (path != r.path) continue;
    path_known = true;
    bool method_ok = method == r.method || (method == "HEAD" && std::string(r.method) == "GET");
    if (method_ok) {
      m.route = r.route;
      m.needsToken = r.token;
      return m;
    }
  }
  if (path_known) {
    m.route = Route::kMethodNotAllowed;
    return m;
  }
  const std::string node_prefix = "/v1/node/";
  const std::string ops_prefix = "/v1/node/operations/";
  if (path.compare(0, ops_prefix.size(), ops_prefix) == 0) {
    std::string id = path.substr(ops_prefix.size());
    if (!ValidOperationId(id)) return m;  // 404
    m.route = is_get ? Route::kOperationGet : Route::kMethodNotAllowed;
    m.operationId = id;
    m.needsToken = true;
    return m;
  }
  if (path.compare(0, node_prefix.size(), node_prefix) == 0) {
    std::string op = path.substr(node_prefix.size());
    if (op == "term") {
      m.route = method == "POST" ? Route::kNodeTerm : Route::kMethodNotAllowed;
      m.needsToken = true;
      return m;
    }
    if (op == "spec") {
      m.route = method == "PUT" ? Route::kNodeSpec : Route::kMethodNotAllowed;
      m.needsToken = true;
      return m;
    }
    if (kOperations.count(op)) {
      m.route = method == "POST" ? Route::kNodeOperation : Route::kMethodNotAllowed;
      m.operation = op;
      m.needsToken = true;
      return m;
    }
  }
  return m;
}

std::optional<ApiResponse> AdmitBeforeBody(const ApiRequest& head, const std::string& token) {
  RouteMatch m = MatchRoute(head.method, head.path);
  if (m.route == Route::kNotFound) return ErrorResponse(404, "no such path: " + head.path);
  if (m.route == Route::kMethodNotAllowed)
    return ErrorResponse(405, "method " + head.method + " not allowed on " + head.path);
  if (m.needsToken && !BearerTokenMatches(head.authorization, token))
    return ErrorResponse(401, token.empty() ? "no API token configured on this node"
                                            : "missing or wrong bearer token");
  return std::nullopt;
}

}  // namespace pgvigil
