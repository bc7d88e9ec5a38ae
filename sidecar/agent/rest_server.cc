#include "sidecar/agent/rest_server.h"

#include <boost/asio/ssl.hpp>
#include <cpprest/http_listener.h>
#include <spdlog/spdlog.h>

namespace pgvigil {

using web::http::http_request;
using web::http::http_response;
using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;

RestServer::RestServer(std::string listen, int port, TlsSpec tls, Handler handler)
    : listen_(std::move(listen)), port_(port), tls_(std::move(tls)), handler_(std::move(handler)) {}

RestServer::~RestServer() { Stop(); }

namespace {

ApiResponse Serve(const RestServer::Handler& handler, http_request& req) {
  ApiRequest r;
  r.method = req.method();
  try {
    const auto& uri = req.relative_uri();
    r.path = web::uri::decode(uri.path());
    for (const auto& [k, v] : web::uri::split_query(uri.query()))
      r.query[web::uri::decode(k)] = web::uri::decode(v);
  } catch (const std::exception& e) {
    return ErrorResponse(400, std::string("malformed URI: ") + e.what(), "uri");
  }
  auto& headers = req.headers();
  auto auth = headers.find("Authorization");
  if (auth != headers.end()) r.authorization = auth->second;
  if (r.method == "POST" || r.method == "PUT") {
    if (headers.content_length() > RestServer::kMaxBodyBytes)
      return ErrorResponse(413, "body larger than 1 MiB", "body");
    try {
      r.body = req.extract_utf8string(true).get();
    } catch (const std::exception& e) {
      return ErrorResponse(400, std::string("cannot read body: ") + e.what(), "body");
    }
    if (r.body.size() > RestServer::kMaxBodyBytes)
      return ErrorResponse(413, "body larger than 1 MiB", "body");
  }
  try {
    return handler(r);
  } catch (const std::exception& e) {
    spdlog::error("agent: REST {} {} failed: {}", r.method, r.path, e.what());
    return ErrorResponse(500, std::string("internal error: ") + e.what());
  } catch (...) {
    spdlog::error("agent: REST {} {} failed with an unknown exception", r.method, r.path);
    return ErrorResponse(500, "internal error");
  }
}

}  // namespace

Status RestServer::Start() {
  std::string host = listen_;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  url_ = std::string(tls_.enabled() ? "https" : "http") + "://" + host + ":" + std::to_string(port_);
  http_listener_config config;
  config.set_timeout(utility::seconds(30));
  if (tls_.enabled()) {
    // Fail at start, not at the first handshake, when the files are unusable.
    try {
      boost::asio::ssl::context probe(boost::asio::ssl::context::tls_server);
      probe.use_certificate_chain_file(tls_.certFile);
      probe.use_private_key_file(tls_.keyFile, boost::asio::ssl::context::pem);
    } catch (const std::exception& e) {
      return Status::Error("REST TLS certificate " + tls_.certFile + " / key " + tls_.keyFile + ": " +
                           e.what());
    }
    TlsSpec tls = tls_;
    config.set_ssl_context_callback([tls](boost::asio::ssl::context& ctx) {
      try {
        ctx.set_options(boost::asio::ssl::context::default_workarounds |
                        boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                        boost::asio::ssl::context::no_tlsv1 |
                        boost::asio::ssl::context::no_tlsv1_1);
        ctx.use_certificate_chain_file(tls.certFile);
        ctx.use_private_key_file(tls.keyFile, boost::asio::ssl::context::pem);
      } catch (const std::exception& e) {
        spdlog::error("agent: REST TLS setup failed: {}", e.what());
      }
    });
  }
  try {
    listener_ = std::make_unique<http_listener>(web::uri(url_), config);
    Handler handler = handler_;
    listener_->support([handler](http_request req) {
      ApiResponse r = Serve(handler, req);
      http_response resp(static_cast<web::http::status_code>(r.status));
      if (req.method() != web::http::methods::HEAD) resp.set_body(r.body, r.contentType);
      else resp.headers().set_content_type(r.contentType);
      req.reply(resp).then([](pplx::task<void> t) {
        try {
          t.get();
        } catch (const std::exception& e) {
          spdlog::debug("agent: REST reply not delivered: {}", e.what());
        }
      });
    });
    listener_->open().wait();
  } catch (const std::exception& e) {
    listener_.reset();
    return Status::Error("REST listener on " + url_ + ": " + e.what());
  }
  spdlog::info("agent: REST API listening on {}", url_);
  return Status::Ok();
}

void RestServer::Stop() {
  if (!listener_) return;
  try {
    listener_->close().wait();
  } catch (const std::exception& e) {
    spdlog::warn("agent: closing REST listener: {}", e.what());
  }
  listener_.reset();
}

}  // namespace pgvigil
