#include "sidecar/agent/rest_routes.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(AgentRoutes, ReadOnlyRoutesNeedNoToken) {
  struct Case {
    const char* method;
    const char* path;
    Route route;
  } cases[] = {
      {"GET", "/v1/status", Route::kStatus},       {"HEAD", "/v1/status", Route::kStatus},
      {"GET", "/primary", Route::kProbePrimary},   {"HEAD", "/primary", Route::kProbePrimary},
      {"GET", "/replica", Route::kProbeReplica},   {"GET", "/read-write", Route::kProbeReadWrite},
      {"GET", "/read-only", Route::kProbeReadOnly}, {"GET", "/health", Route::kProbeHealth},
      {"GET", "/health/", Route::kProbeHealth},    {"GET", "/liveness", Route::kProbeLiveness},
      {"GET", "/readiness", Route::kProbeReadiness}, {"GET", "/metrics", Route::kMetrics},
      {"GET", "/v1/watchdog", Route::kWatchdog},
  };
  for (const auto& c : cases) {
    RouteMatch m = MatchRoute(c.method, c.path);
    EXPECT_EQ(m.route, c.route) << c.method << " " << c.path;
    EXPECT_FALSE(m.needsToken) << c.path;
  }
}

TEST(AgentRoutes, NodeOperationsNeedTokenAndPost) {
  for (const char* op : {"promote", "stop", "start", "restart", "follow", "rebuild", "init"}) {
    RouteMatch m = MatchRoute("POST", std::string("/v1/node/") + op);
    EXPECT_EQ(m.route, Route::kNodeOperation) << op;
    EXPECT_EQ(m.operation, op);
    EXPECT_TRUE(m.needsToken);
    EXPECT_EQ(MatchRoute("GET", std::string("/v1/node/") + op).route, Route::kMethodNotAllowed);
  }
  RouteMatch term = MatchRoute("POST", "/v1/node/term");
  EXPECT_EQ(term.route, Route::kNodeTerm);
  EXPECT_TRUE(term.needsToken);
  RouteMatch spec = MatchRoute("PUT", "/v1/node/spec");
  EXPECT_EQ(spec.route, Route::kNodeSpec);
  EXPECT_TRUE(spec.needsToken);
  EXPECT_EQ(MatchRoute("POST", "/v1/node/spec").route, Route::kMethodNotAllowed);
  EXPECT_EQ(MatchRoute("GET", "/v1/node/spec").route, Route::kMethodNotAllowed);
  ApiRequest head;
  head.method = "PUT";
  head.path = "/v1/node/spec";
  auto refused = AdmitBeforeBody(head, "secret");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);  // before any body byte is read
  head.authorization = "Bearer secret";
  EXPECT_FALSE(AdmitBeforeBody(head, "secret").has_value());
}

TEST(AgentRoutes, OperationLookup) {
  RouteMatch m = MatchRoute("GET", "/v1/node/operations/rebuild-3-ab12");
  EXPECT_EQ(m.route, Route::kOperationGet);
  EXPECT_EQ(m.operationId, "rebuild-3-ab12");
  EXPECT_TRUE(m.needsToken);
  EXPECT_EQ(MatchRoute("GET", "/v1/node/operations").route, Route::kOperationList);
  EXPECT_TRUE(MatchRoute("GET", "/v1/node/operations").needsToken);
  // Ids with path or odd characters are not routes at all.
  EXPECT_EQ(MatchRoute("GET", "/v1/node/operations/../term").route, Route::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/node/operations/a b").route, Route::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/node/operations/" + std::string(65, 'a')).route,
            Route::kNotFound);
  EXPECT_EQ(MatchRoute("DELETE", "/v1/node/operations/x1").route, Route::kMethodNotAllowed);
}

TEST(AgentRoutes, ProxyAndWatchdogRoutes) {
  struct Case {
    const char* method;
    const char* path;
    Route route;
    bool token;
  } cases[] = {
      {"GET", "/v1/proxy/routing", Route::kProxyRoutingGet, false},
      {"PUT", "/v1/proxy/routing", Route::kProxyRoutingPut, true},
      {"POST", "/v1/proxy/routing", Route::kMethodNotAllowed, false},
      {"POST", "/v1/proxy/pause", Route::kProxyPause, true},
      {"POST", "/v1/proxy/resume", Route::kProxyResume, true},
      {"GET", "/v1/proxy/pause", Route::kMethodNotAllowed, false},
      {"GET", "/v1/proxy/pool_nodes", Route::kProxyPoolNodes, false},
      {"HEAD", "/v1/proxy/pool_nodes", Route::kProxyPoolNodes, false},
      {"GET", "/v1/watchdog/register", Route::kWatchdogRegisterGet, false},
      {"PUT", "/v1/watchdog/register", Route::kWatchdogRegisterPut, true},
      {"DELETE", "/v1/watchdog/register", Route::kMethodNotAllowed, false},
  };
  for (const auto& c : cases) {
    RouteMatch m = MatchRoute(c.method, c.path);
    EXPECT_EQ(m.route, c.route) << c.method << " " << c.path;
    EXPECT_EQ(m.needsToken, c.token) << c.method << " " << c.path;
  }
}

TEST(AgentRoutes, UnknownPathsAndMethods) {
  EXPECT_EQ(MatchRoute("GET", "/").route, Route::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/node/format-disk").route, Route::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/statusx").route, Route::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "").route, Route::kNotFound);
  EXPECT_EQ(MatchRoute("POST", "/v1/status").route, Route::kMethodNotAllowed);
  EXPECT_EQ(MatchRoute("DELETE", "/primary").route, Route::kMethodNotAllowed);
}

TEST(AgentRoutes, ErrorResponseNamesField) {
  ApiResponse r = ErrorResponse(400, "must be a non-negative integer", "term");
  EXPECT_EQ(r.status, 400);
  auto v = web::json::value::parse(r.body);
  EXPECT_EQ(v.at("field").as_string(), "term");
  EXPECT_EQ(v.at("error").as_string(), "must be a non-negative integer");
  EXPECT_FALSE(web::json::value::parse(ErrorResponse(404, "x").body).has_field("field"));
}

}  // namespace
}  // namespace pgvigil
