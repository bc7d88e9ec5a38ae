// The routes of pgvigil-controller --kubernetes (kube_api.h), as a table. Pure.
#include <gtest/gtest.h>

#include <cpprest/json.h>

#include "controller/kube/kube_api.h"

namespace pgvigil::kube {
namespace {

TEST(KubeApi, Routes) {
  KubeControllerView view{"ctl-0-1a2b3c4d", "leader", 7, {"db/demo", "db/other"}};
  struct Case {
    const char* method;
    const char* path;
    int status;
    const char* body_has;
  } cases[] = {
      {"GET", "/healthz", 200, R"("status":"ok")"},
      {"HEAD", "/healthz", 200, ""},
      {"POST", "/healthz", 405, "only GET and HEAD"},
      {"GET", "/v1/replica", 200, R"("actingTerm":7)"},
      {"GET", "/v1/replica", 200, R"("clusters":["db/demo","db/other"])"},
      {"GET", "/v1/replica", 200, R"("role":"leader")"},
      {"PUT", "/v1/replica", 405, "only GET and HEAD"},
      {"GET", "/v1/spec", 404, "no route /v1/spec"},
      {"GET", "/v1/status", 404, "no route /v1/status"},  // vigilctl's, not served yet
  };
  for (const auto& c : cases) {
    ApiRequest req;
    req.method = c.method;
    req.path = c.path;
    ApiResponse r = HandleKubeRequest(req, view);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path;
    EXPECT_NE(r.body.find(c.body_has), std::string::npos) << c.method << " " << c.path << ": " << r.body;
    EXPECT_NO_THROW(web::json::value::parse(r.body)) << r.body;
  }
}

}  // namespace
}  // namespace pgvigil::kube
