#include "controller/kube/kube_client.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ssl.hpp>
#include <cpprest/http_client.h>
#include <cpprest/uri.h>

#include <random>
#include <thread>

#include "common/files.h"

namespace pgvigil::kube {

using web::json::value;
using web::http::client::http_client;
using web::http::client::http_client_config;

std::string ApiReply::reason() const {
  return body.is_object() && body.has_string_field("reason") ? body.at("reason").as_string() : "";
}

std::string ApiReply::message() const {
  if (body.is_object() && body.has_string_field("message")) return body.at("message").as_string();
  return text.substr(0, 300);
}

std::string ApiReply::Describe() const {
  std::string r = reason();
  return "HTTP " + std::to_string(code) + (r.empty() ? "" : " " + r) + ": " + message();
}

std::chrono::milliseconds RetryDelay(int attempt, int retry_after_seconds, double jitter) {
  using std::chrono::milliseconds;
  const milliseconds cap(30000);
  if (retry_after_seconds >= 0) return std::min(cap, milliseconds(int64_t{retry_after_seconds} * 1000));
  int64_t base = 500;
  for (int i = 1; i < attempt && base < cap.count(); ++i) base *= 2;
  base = std::min<int64_t>(base, cap.count());
  return milliseconds(static_cast<int64_t>(base * (0.5 + 0.5 * std::clamp(jitter, 0.0, 1.0))));
}

std::string QueryEscape(const std::string& s) { return web::uri::encode_data_string(s); }

std::string ResourcePath(const std::string& group, const std::string& version, const std::string& plural,
                         const std::string& ns, const std::string& name, const std::string& sub) {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (!ns.empty()) p += "/namespaces/" + ns;
  p += "/" + plural;
  if (!name.empty()) p += "/" + name;
  if (!sub.empty()) p += "/" + sub;
  return p;
}

KubeClient::KubeClient(KubeConfig config, ClientOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  if (!options_.sleep) options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!options_.now) options_.now = [] { return std::chrono::steady_clock::now(); };
  if (!options_.jitter) {
    auto rng = std::make_shared<std::mt19937>(std::random_device{}());
    auto mu = std::make_shared<std::mutex>();
    options_.jitter = [rng, mu] {
      std::lock_guard<std::mutex> lock(*mu);
      return std::uniform_real_distribution<double>(0.0, 1.0)(*rng);
    };
  }
  tokenReadAt_ = options_.now();
  try {
    http_ = std::make_unique<http_client>(config_.server, BaseConfig(options_.timeout));
  } catch (const std::exception&) {
    http_.reset();  // a malformed server URL: every call reports it
  }
}

KubeClient::~KubeClient() = default;

http_client_config KubeClient::BaseConfig(std::chrono::milliseconds timeout) const {
  http_client_config cfg;
  cfg.set_timeout(timeout);
  cfg.set_validate_certificates(!config_.insecureSkipVerify);
  std::string ca = config_.caPem, cert = config_.clientCertPem, key = config_.clientKeyPem;
  cfg.set_ssl_context_callback([ca, cert, key](boost::asio::ssl::context& ctx) {
    boost::system::error_code ec;
    if (!ca.empty()) ctx.add_certificate_authority(boost::asio::buffer(ca), ec);
    if (!cert.empty()) {
      ctx.use_certificate_chain(boost::asio::buffer(cert), ec);
      ctx.use_private_key(boost::asio::buffer(key), boost::asio::ssl::context::pem, ec);
    }
  });
  return cfg;
}

std::string KubeClient::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!config_.tokenFile.empty() && options_.now() - tokenReadAt_ >= options_.tokenRefresh) {
    auto t = ReadFile(config_.tokenFile);
    if (t.ok()) {
      std::string s = *t;
      while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
      config_.token = s;
    }
    tokenReadAt_ = options_.now();
  }
  return config_.token;
}

bool KubeClient::RereadToken() {
  std::lock_guard<std::mutex> lock(mu_);
  if (config_.tokenFile.empty()) return false;
  auto t = ReadFile(config_.tokenFile);
  if (!t.ok()) return false;
  std::string s = *t;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  bool changed = s != config_.token;
  config_.token = s;
  tokenReadAt_ = options_.now();
  return changed;
}

Result<ApiReply> KubeClient::SendOnce(const std::string& method, const std::string& path, const std::string& body,
                                      const std::string& content_type) {
  if (!http_) return Result<ApiReply>::Error(config_.server + ": not a valid server URL");
  try {
    web::http::http_request req(method);
    req.set_request_uri(path);
    std::string token = Token();
    if (!token.empty()) req.headers().add("Authorization", "Bearer " + token);
    req.headers().add("Accept", "application/json");
    if (!options_.userAgent.empty()) req.headers().add("User-Agent", options_.userAgent);
    if (!body.empty()) req.set_body(body, content_type);
    web::http::http_response resp = http_->request(req).get();
    ApiReply r;
    r.code = resp.status_code();
    r.text = resp.extract_string(true).get();
    auto ra = resp.headers().find("Retry-After");
    if (ra != resp.headers().end()) {
      const std::string& v = ra->second;
      if (!v.empty() && v.size() < 6 && v.find_first_not_of("0123456789") == std::string::npos)
        r.retryAfterSeconds = std::stoi(v);
    }
    if (!r.text.empty()) {
      try {
        r.body = value::parse(r.text);
      } catch (const std::exception&) {
        r.body = value::null();
      }
    }
    return r;
  } catch (const std::exception& e) {
    return Result<ApiReply>::Error(method + " " + config_.server + path + ": " + e.what());
  }
}

Result<ApiReply> KubeClient::Call(const std::string& method, const std::string& path, const std::string& body,
                                  const std::string& content_type) {
  bool reread = false;
  const auto started = options_.now();
  for (int attempt = 1;; ++attempt) {
    auto r = SendOnce(method, path, body, content_type);
    if (!r.ok()) return r;
    if (r->code == 401 && !reread) {
      reread = true;
      if (RereadToken()) {
        --attempt;  // a rotated token is not a retry
        continue;
      }
      return r;
    }
    if ((r->code == 429 || r->code == 503) && attempt < options_.maxAttempts) {
      const auto wait = RetryDelay(attempt, r->retryAfterSeconds, options_.jitter());
      const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(options_.now() - started);
      if (spent + wait > options_.callDeadline) {
        spdlog::warn("{} {}: {} after {} attempt(s) in {} ms; not waiting {} ms more past the call's deadline "
                     "({} ms): the answer goes back to the caller, whose next round asks again",
                     method, path, r->Describe(), attempt, spent.count(), wait.count(),
                     options_.callDeadline.count());
        return r;
      }
      options_.sleep(wait);
      continue;
    }
    return r;
  }
}

Result<ApiReply> KubeClient::Create(const std::string& collection, const value& object) {
  return Call("POST", collection, object.serialize());
}

Result<ApiReply> KubeClient::Replace(const std::string& path, const value& object) {
  return Call("PUT", path, object.serialize());
}

Result<ApiReply> KubeClient::MergePatch(const std::string& path, const value& patch) {
  return Call("PATCH", path, patch.serialize(), "application/merge-patch+json");
}

Result<ApiReply> KubeClient::JsonPatch(const std::string& path, const value& operations) {
  return Call("PATCH", path, operations.serialize(), "application/json-patch+json");
}

Result<ApiReply> KubeClient::Apply(const std::string& path, const value& object, const std::string& field_manager,
                                   bool force) {
  // JSON is YAML: the apply content type takes either.
  std::string q = "?fieldManager=" + QueryEscape(field_manager) + (force ? "&force=true" : "");
  return Call("PATCH", path + q, object.serialize(), "application/apply-patch+yaml");
}

value DeleteOptionsFor(const std::string& uid, const std::string& resource_version, int grace_period_seconds) {
  value o = value::object();
  o["apiVersion"] = value::string("v1");
  o["kind"] = value::string("DeleteOptions");
  o["preconditions"] = value::object();
  if (!uid.empty()) o["preconditions"]["uid"] = value::string(uid);
  if (!resource_version.empty()) o["preconditions"]["resourceVersion"] = value::string(resource_version);
  if (grace_period_seconds >= 0) o["gracePeriodSeconds"] = value::number(grace_period_seconds);
  return o;
}

Result<ApiReply> KubeClient::Delete(const std::string& path, const value& options) {
  return Call("DELETE", path, options.is_null() ? "" : options.serialize());
}

Result<KubeClient::ListResult> KubeClient::List(const std::string& collection, const std::string& query, size_t page) {
  ListResult out;
  std::string token;
  for (int pages = 0; pages < 100000; ++pages) {
    std::string q = "?limit=" + std::to_string(page) + (query.empty() ? "" : "&" + query) +
                    (token.empty() ? "" : "&continue=" + QueryEscape(token));
    auto r = Get(collection + q);
    if (!r.ok()) return r.status();
    if (!r->ok()) return Result<ListResult>::Error("list " + collection + ": " + r->Describe());
    const value& meta = r->body.at("metadata");
    if (out.resourceVersion.empty() && meta.has_string_field("resourceVersion"))
      out.resourceVersion = meta.at("resourceVersion").as_string();
    if (r->body.has_array_field("items"))
      for (const auto& item : r->body.at("items").as_array()) out.items.push_back(item);
    token = meta.has_string_field("continue") ? meta.at("continue").as_string() : "";
    if (token.empty()) return out;
  }
  return Result<ListResult>::Error("list " + collection + ": too many pages");
}

}  // namespace pgvigil::kube
