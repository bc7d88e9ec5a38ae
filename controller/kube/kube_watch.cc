// KubeClient::Watch: one streaming GET read line by line as it arrives.
#include <cpprest/http_client.h>
#include <cpprest/containerstream.h>

#include "controller/kube/kube_client.h"

namespace pgvigil::kube {

using web::json::value;
using web::http::client::http_client;

WatchResult KubeClient::Watch(const std::string& collection, const std::string& query,
                              const std::string& resource_version, int timeout_seconds, std::chrono::milliseconds idle,
                              const std::function<bool(const WatchEvent&)>& on_event) {
  WatchResult out;
  out.resourceVersion = resource_version;
  std::string q = "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout_seconds) +
                  (resource_version.empty() ? "" : "&resourceVersion=" + QueryEscape(resource_version)) +
                  (query.empty() ? "" : "&" + query);
  pplx::cancellation_token_source cancel;
  try {
    // Its own connection; the timeout is per read, so a stream that stays
    // silent (not even a bookmark) for `idle` breaks.
    http_client client(config_.server, BaseConfig(idle));
    web::http::http_request req("GET");
    req.set_request_uri(collection + q);
    std::string token = Token();
    if (!token.empty()) req.headers().add("Authorization", "Bearer " + token);
    if (!options_.userAgent.empty()) req.headers().add("User-Agent", options_.userAgent);
    web::http::http_response resp = client.request(req, cancel.get_token()).get();
    if (resp.status_code() != 200) {
      out.reply.code = resp.status_code();
      out.reply.text = resp.extract_string(true).get();
      try {
        out.reply.body = value::parse(out.reply.text);
      } catch (const std::exception&) {
      }
      if (out.reply.code == 401) RereadToken();
      out.end = out.reply.code == 410 ? WatchEnd::kGone : WatchEnd::kHttpError;
      return out;
    }
    auto stream = resp.body();
    while (true) {
      concurrency::streams::container_buffer<std::string> line;
      size_t n = stream.read_line(line).get();
      if (n == 0 && stream.is_eof()) {
        out.end = WatchEnd::kClosed;
        break;
      }
      if (line.collection().empty()) continue;
      WatchEvent e;
      value v = value::parse(line.collection());
      e.type = v.has_string_field("type") ? v.at("type").as_string() : "";
      e.object = v.has_field("object") ? v.at("object") : value::null();
      if (e.type == "ERROR") {
        int code = e.object.has_number_field("code") ? e.object.at("code").as_integer() : 0;
        out.reply.code = code;
        out.reply.body = e.object;
        out.end = code == 410 ? WatchEnd::kGone : WatchEnd::kHttpError;
        break;
      }
      if (e.object.has_object_field("metadata") && e.object.at("metadata").has_string_field("resourceVersion"))
        out.resourceVersion = e.object.at("metadata").at("resourceVersion").as_string();
      if (e.type == "BOOKMARK") continue;
      if (!on_event(e)) {
        out.end = WatchEnd::kStopped;
        break;
      }
    }
  } catch (const std::exception& ex) {
    out.end = WatchEnd::kBroken;
    out.error = ex.what();
  }
  cancel.cancel();
  return out;
}

}  // namespace pgvigil::kube
