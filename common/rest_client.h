// A JSON-over-HTTP(S) client for pgvigil's REST APIs (the sidecar's, the
// controller's), used by the controller and vigilctl. Blocking calls with a
// timeout; every failure (refused, timeout, malformed URL) is a value, never an
// exception. Thread-compatible: one instance per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <cpprest/json.h>

#include "common/result.h"

namespace web::http::client {
class http_client;
}

namespace pgvigil {

struct HttpReply {
  int status = 0;
  web::json::value body;  // null when the body was empty or not JSON
  std::string text;       // raw body
};

class RestClient {
 public:
  // base_url: "http://10.77.0.11:9898"; token: bearer token for mutating calls.
  RestClient(std::string base_url, std::string token,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  const std::string& baseUrl() const { return base_; }

  // Any HTTP answer is a reply (check .status); an error only when none came.
  Result<HttpReply> Get(const std::string& path_and_query);
  Result<HttpReply> Post(const std::string& path, const web::json::value& body);
  Result<HttpReply> Put(const std::string& path, const web::json::value& body);
  // A raw text body (e.g. a YAML document) with the given content type.
  Result<HttpReply> PutText(const std::string& path, const std::string& text,
                            const std::string& content_type = "application/yaml");

 private:
  Result<HttpReply> Send(const std::string& method, const std::string& path,
                         const web::json::value* body, const std::string* text = nullptr,
                         const std::string& content_type = "");
  std::string base_;
  std::string token_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<web::http::client::http_client> client_;
};

// "error" of a JSON error body, or the raw text, or "HTTP <status>".
std::string DescribeFailure(const HttpReply& r);

}  // namespace pgvigil
