// A tiny HTTPS client for kube-fake's own tests, independent of the client
// under test (controller/kube/kube_client): one connection per call, Boost.Beast,
// the test CA verified, a bearer token or a client certificate. Test code only.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <cpprest/json.h>

namespace pgvigil::kube::fake {

struct HttpResult {
  int status = 0;  // 0: no answer (connection refused or cut)
  std::string body;
  std::map<std::string, std::string> headers;
  web::json::value json;
  std::string error;
};

struct WatchResult {
  std::vector<web::json::value> events;
  bool clean = false;   // the final chunk arrived
  bool opened = false;  // a 200 header arrived
};

class FakeClient {
 public:
  FakeClient(int port, std::string ca_file, std::string token, std::string cert = "", std::string key = "")
      : port_(port), ca_(std::move(ca_file)), token_(std::move(token)), cert_(std::move(cert)), key_(std::move(key)) {}
  HttpResult Call(const std::string& method, const std::string& target, const std::string& body = "",
                  const std::string& content_type = "application/json") const;
  // Reads watch events until `max_events`, the end of the stream, or `limit`.
  WatchResult Watch(const std::string& target, size_t max_events,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) const;

 private:
  int port_;
  std::string ca_, token_, cert_, key_;
};

}  // namespace pgvigil::kube::fake
