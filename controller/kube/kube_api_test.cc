// The routes of pgvigil-controller --kubernetes (kube_api.h), as a table. Pure.
#include <gtest/gtest.h>

#include <cpprest/json.h>

#include "controller/kube/kube_api.h"

namespace pgvigil::kube {
namespace {

TEST(KubeApi, Routes) {
  KubeControllerView view{"ctl-0-1a2b3c4d", "leader", 7, {"db/demo", "db/other"}, nullptr};
  view.status = [](const std::string& key) -> std::optional<ClusterStatus> {
    ClusterStatus s;
    s.cluster = key.substr(key.find('/') + 1);
    s.phase = "Healthy";
    s.primary = key + "-0";
    return s;
  };
  struct Case {
    const char* method;
    const char* path;
    const char* cluster;  // ?cluster=
    int status;
    const char* body_has;
  } cases[] = {
      {"GET", "/healthz", "", 200, R"("status":"ok")"},
      {"HEAD", "/healthz", "", 200, ""},
      {"POST", "/healthz", "", 405, "only GET and HEAD"},
      {"GET", "/v1/replica", "", 200, R"("actingTerm":7)"},
      {"GET", "/v1/replica", "", 200, R"("clusters":["db/demo","db/other"])"},
      {"GET", "/v1/replica", "", 200, R"("role":"leader")"},
      {"PUT", "/v1/replica", "", 405, "only GET and HEAD"},
      {"GET", "/v1/spec", "", 404, "no route /v1/spec"},
      // vigilctl's status, per cluster.
      {"GET", "/v1/status", "", 409, "several clusters run here (db/demo, db/other)"},
      {"GET", "/v1/status", "db/other", 200, R"("primary":"db/other-0")"},
      {"GET", "/v1/status", "demo", 200, R"("primary":"db/demo-0")"},
      {"GET", "/v1/status", "db/nope", 404, "cluster 'db/nope' is not running here"},
      {"POST", "/v1/status", "db/demo", 405, "only GET and HEAD"},
  };
  for (const auto& c : cases) {
    ApiRequest req;
    req.method = c.method;
    req.path = c.path;
    if (*c.cluster) req.query["cluster"] = c.cluster;
    ApiResponse r = HandleKubeRequest(req, view);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path;
    EXPECT_NE(r.body.find(c.body_has), std::string::npos) << c.method << " " << c.path << ": " << r.body;
    EXPECT_NO_THROW(web::json::value::parse(r.body)) << r.body;
  }
}

TEST(KubeApi, TheOnlyRunningClusterNeedsNoName) {
  KubeControllerView view{"ctl-0-1a2b3c4d", "leader", 7, {"db/demo"}, nullptr};
  view.status = [](const std::string&) -> std::optional<ClusterStatus> {
    ClusterStatus s;
    s.cluster = "demo";
    s.phase = "Healthy";
    return s;
  };
  ApiRequest req;
  req.method = "GET";
  req.path = "/v1/status";
  ApiResponse r = HandleKubeRequest(req, view);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("phase":"Healthy")"), std::string::npos) << r.body;
  view.clusters.clear();
  r = HandleKubeRequest(req, view);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("no cluster is running here"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace pgvigil::kube
