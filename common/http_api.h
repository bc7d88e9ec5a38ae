// The request/response seam between pgvigil's HTTP server (common/http_server.h)
// and the REST handlers of the sidecar agent and the controller: plain value
// types, the bearer-token check, JSON error bodies and the pure parsing of a
// request target. No sockets; thread-safe (no state).
#pragma once

#include <map>
#include <string>

#include <cpprest/json.h>

#include "common/result.h"

namespace pgvigil {

struct ApiRequest {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string path;    // decoded path without the query
  std::map<std::string, std::string> query;  // decoded query parameters
  std::string authorization;                 // Authorization header value
  std::string body;    // empty in the pre-body admission check
};

struct ApiResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
};

// Splits an origin-form request target ("/v1/x%20y?a=1&b") into its decoded path
// and decoded query parameters ("b" -> ""). '+' stays '+'. An error (the caller
// answers 400) when the target does not start with '/' or has a bad %-escape.
Status ParseRequestTarget(const std::string& target, std::string* path,
                          std::map<std::string, std::string>* query);

// Constant-time check of "Bearer <token>" against the expected token. An empty
// expected token never matches (no token file configured: mutations refused).
bool BearerTokenMatches(const std::string& authorization_header, const std::string& expected);

// Helpers that build responses: JSON bodies; errors are {"error": reason[, "field": field]}.
ApiResponse JsonResponse(int status, const web::json::value& body);
ApiResponse ErrorResponse(int status, const std::string& reason, const std::string& field = "");

}  // namespace pgvigil
