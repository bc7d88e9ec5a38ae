#include "sidecar/agent/rest_routes.h"

#include <openssl/crypto.h>

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
                                           "restart", "follow", "rebuild"};

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
    if (kOperations.count(op)) {
      m.route = method == "POST" ? Route::kNodeOperation : Route::kMethodNotAllowed;
      m.operation = op;
      m.needsToken = true;
      return m;
    }
  }
  return m;
}

bool BearerTokenMatches(const std::string& header, const std::string& expected) {
  const std::string prefix = "Bearer ";
  if (expected.empty()) return false;
  if (header.size() < prefix.size()) return false;
  // Scheme is case-insensitive (RFC 7235).
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  std::string given = header.substr(prefix.size());
  // Compare over the expected length whatever the given length, so timing does
  // not reveal how many leading bytes matched; the lengths are compared last.
  std::string padded = given;
  padded.resize(expected.size(), '\0');
  bool same = CRYPTO_memcmp(padded.data(), expected.data(), expected.size()) == 0;
  return same && given.size() == expected.size();
}

ApiResponse JsonResponse(int status, const web::json::value& body) {
  ApiResponse r;
  r.status = status;
  r.body = body.serialize();
  return r;
}

ApiResponse ErrorResponse(int status, const std::string& reason, const std::string& field) {
  auto v = web::json::value::object();
  v["error"] = web::json::value::string(reason);
  if (!field.empty()) v["field"] = web::json::value::string(field);
  return JsonResponse(status, v);
}

}  // namespace pgvigil
