// The controller's pre-body check: every request other than GET/HEAD needs the
// token, decided from the head alone (the server has not read the body yet).
#include <gtest/gtest.h>

#include "controller/api/controller_api.h"

namespace pgvigil {
namespace {

TEST(ControllerAdmit, MutationsNeedTheTokenBeforeTheBody) {
  struct Case {
    const char* method;
    const char* path;
    const char* authorization;
    int status;  // 0: admitted (the body is read next)
  } cases[] = {
      {"GET", "/v1/status", "", 0},
      {"HEAD", "/v1/status", "", 0},
      {"GET", "/v1/spec", "", 0},
      {"GET", "/nowhere", "", 0},  // 404 from the handler
      {"PUT", "/v1/spec", "", 401},
      {"PUT", "/v1/spec", "Bearer wrong", 401},
      {"PUT", "/v1/spec", "Bearer tok", 0},
      {"POST", "/v1/switchover", "", 401},
      {"POST", "/v1/nodes/n1/detach", "Bearer tok ", 401},
      {"POST", "/v1/nodes/n1/detach", "bearer tok", 0},
      {"POST", "/nowhere", "", 401},  // nothing but GET/HEAD without the token
      {"DELETE", "/v1/status", "", 401},
  };
  for (const auto& c : cases) {
    ApiRequest head;
    head.method = c.method;
    head.path = c.path;
    head.authorization = c.authorization;
    auto r = ControllerAdmitBeforeBody(head, "tok");
    EXPECT_EQ(r ? r->status : 0, c.status) << c.method << " " << c.path << " '" << c.authorization << "'";
  }
  ApiRequest put;
  put.method = "PUT";
  put.path = "/v1/spec";
  put.authorization = "Bearer ";
  EXPECT_TRUE(ControllerAdmitBeforeBody(put, "").has_value()) << "no token configured: refused";
}

}  // namespace
}  // namespace pgvigil
