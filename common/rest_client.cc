#include "common/rest_client.h"

#include <cpprest/http_client.h>

namespace pgvigil {

using web::http::client::http_client;
using web::http::client::http_client_config;

RestClient::RestClient(std::string base_url, std::string token,
                             std::chrono::milliseconds timeout)
    : base_(std::move(base_url)), token_(std::move(token)), timeout_(timeout) {
  http_client_config config;
  config.set_timeout(timeout_);
  try {
    client_ = std::make_unique<http_client>(base_, config);
  } catch (const std::exception&) {
    client_.reset();  // a malformed URL: every call reports it
  }
}

RestClient::~RestClient() = default;

Result<HttpReply> RestClient::Get(const std::string& path_and_query) {
  return Send("GET", path_and_query, nullptr);
}

Result<HttpReply> RestClient::Post(const std::string& path, const web::json::value& body) {
  return Send("POST", path, &body);
}

Result<HttpReply> RestClient::Put(const std::string& path, const web::json::value& body) {
  return Send("PUT", path, &body);
}

Result<HttpReply> RestClient::PutText(const std::string& path, const std::string& text,
                                     const std::string& content_type) {
  return Send("PUT", path, nullptr, &text, content_type);
}

Result<HttpReply> RestClient::Send(const std::string& method, const std::string& path,
                                   const web::json::value* body, const std::string* text,
                                   const std::string& content_type) {
  if (!client_) return Result<HttpReply>::Error(base_ + ": not a valid URL");
  try {
    web::http::http_request req(method);
    req.set_request_uri(path);
    if (!token_.empty()) req.headers().add("Authorization", "Bearer " + token_);
    if (body) req.set_body(*body);
    if (text) req.set_body(*text, content_type);
    web::http::http_response resp = client_->request(req).get();
    HttpReply reply;
    reply.status = resp.status_code();
    reply.text = resp.extract_string(true).get();
    if (!reply.text.empty()) {
      try {
        reply.body = web::json::value::parse(reply.text);
      } catch (const std::exception&) {
        reply.body = web::json::value::null();
      }
    }
    return reply;
  } catch (const std::exception& e) {
    return Result<HttpReply>::Error(method + " " + base_ + path + ": " + e.what());
  }
}

std::string DescribeFailure(const HttpReply& r) {
  if (r.body.is_object() && r.body.has_field("error") && r.body.at("error").is_string())
    return "HTTP " + std::to_string(r.status) + ": " + r.body.at("error").as_string();
  if (!r.text.empty()) return "HTTP " + std::to_string(r.status) + ": " + r.text.substr(0, 200);
  return "HTTP " + std::to_string(r.status);
}

}  // namespace pgvigil
