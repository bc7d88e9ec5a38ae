// A Kubernetes API client over cpprestsdk (HTTPS, JSON bodies). Every answer
// of the API is an ApiReply (check code/reason: Conflict, AlreadyExists, Gone,
// Forbidden, Invalid); an error Result only when no answer came (each attempt
// ends after `timeout` without an answer). Throttling (429) and unavailability
// (503) are retried after Retry-After (else a jittered back-off from 0.5 s to
// 30 s), up to maxAttempts and never past the call's deadline (`callDeadline`
// from its start): a call waiting out a throttling API server used to hold its
// caller's round for minutes (6 attempts, Retry-After up to 30 s each); now it
// returns the last answer, logged, and the caller's next round asks again. A
// 401 re-reads the token file once,
// and the token file is re-read every minute (bound tokens rotate).
// Exceptions from cpprestsdk are caught here. Thread-safe: calls may come from
// several threads (the token is under a mutex; each watch has its own
// connection).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/result.h"
#include "controller/kube/kube_config.h"

namespace web::http::client {
class http_client;
class http_client_config;
}  // namespace web::http::client

namespace pgvigil::kube {

struct ApiReply {
  int code = 0;
  web::json::value body;  // the object, list or Status (null when not JSON)
  std::string text;
  int retryAfterSeconds = -1;  // the Retry-After header, -1 when absent
  bool ok() const { return code >= 200 && code < 300; }
  std::string reason() const;   // a Status's reason ("Conflict", "AlreadyExists", ...)
  std::string message() const;  // a Status's message, or the text
  std::string Describe() const; // "HTTP 409 Conflict: ..."
};

struct ClientOptions {
  std::chrono::milliseconds timeout{10000};
  int maxAttempts = 6;  // per call, for 429/503
  // No retry whose wait would end later than this after the call started
  // (the last attempt may still take `timeout`).
  std::chrono::milliseconds callDeadline{20000};
  std::chrono::milliseconds tokenRefresh{60000};
  // Injectable for tests: how to wait, and the clock the token refresh follows.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<double()> jitter;  // in [0, 1)
  // Sent as User-Agent on every request when set (the API server's audit log
  // names it; the controller puts its elector identity in it).
  std::string userAgent;
};

// The wait before retry `attempt` (1-based): Retry-After when given (capped
// at 30 s), else 0.5 s x 2^(attempt-1) capped at 30 s, scaled into [50%, 100%].
std::chrono::milliseconds RetryDelay(int attempt, int retry_after_seconds, double jitter);

// "/api/v1/namespaces/db/pods/demo-0", "/apis/apps/v1/namespaces/db/statefulsets".
std::string ResourcePath(const std::string& group, const std::string& version, const std::string& plural,
                         const std::string& ns, const std::string& name = "", const std::string& sub = "");
std::string QueryEscape(const std::string& s);
// DeleteOptions (KUBERNETES.md §7 #8) whose preconditions make a DELETE apply
// only to the object as read: another uid (deleted and made again) or another
// resourceVersion (changed since) is 409 Conflict. grace < 0: not sent.
web::json::value DeleteOptionsFor(const std::string& uid, const std::string& resource_version,
                                  int grace_period_seconds = -1);

struct WatchEvent {
  std::string type;  // ADDED MODIFIED DELETED BOOKMARK ERROR
  web::json::value object;
};

enum class WatchEnd { kClosed, kGone, kStopped, kBroken, kHttpError };

struct WatchResult {
  WatchEnd end = WatchEnd::kClosed;
  std::string resourceVersion;  // the newest seen (events and bookmarks)
  ApiReply reply;               // kHttpError: the answer instead of a stream
  std::string error;            // kBroken: what broke
};

class KubeClient {
 public:
  explicit KubeClient(KubeConfig config, ClientOptions options = {});
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  const KubeConfig& config() const { return config_; }

  Result<ApiReply> Call(const std::string& method, const std::string& path_and_query, const std::string& body = "",
                        const std::string& content_type = "application/json");
  Result<ApiReply> Get(const std::string& path) { return Call("GET", path); }
  Result<ApiReply> Create(const std::string& collection, const web::json::value& object);
  // PUT; the object's metadata.resourceVersion makes it compare-and-swap.
  Result<ApiReply> Replace(const std::string& path, const web::json::value& object);
  Result<ApiReply> MergePatch(const std::string& path, const web::json::value& patch);
  Result<ApiReply> JsonPatch(const std::string& path, const web::json::value& operations);
  Result<ApiReply> Apply(const std::string& path, const web::json::value& object, const std::string& field_manager,
                         bool force = true);
  // options: DeleteOptions (preconditions, gracePeriodSeconds, propagationPolicy) or null.
  Result<ApiReply> Delete(const std::string& path, const web::json::value& options = web::json::value::null());

  // Every page of a list (limit/continue). query: "labelSelector=...&..." or "".
  struct ListResult {
    std::vector<web::json::value> items;
    std::string resourceVersion;
  };
  Result<ListResult> List(const std::string& collection, const std::string& query = "", size_t page = 500);

  // One watch request from `resource_version` ("" = the current state as ADDED
  // events). `on_event` returns false to stop. Bookmarks are asked for and move
  // the resourceVersion; a 410 (HTTP or ERROR event) ends with kGone; a stream
  // silent for `idle` ends with kBroken.
  WatchResult Watch(const std::string& collection, const std::string& query, const std::string& resource_version,
                    int timeout_seconds, std::chrono::milliseconds idle,
                    const std::function<bool(const WatchEvent&)>& on_event);

 private:
  std::string Token();
  bool RereadToken();
  web::http::client::http_client_config BaseConfig(std::chrono::milliseconds timeout) const;
  Result<ApiReply> SendOnce(const std::string& method, const std::string& path, const std::string& body,
                            const std::string& content_type);

  KubeConfig config_;
  ClientOptions options_;
  std::mutex mu_;  // guards config_.token, tokenReadAt_
  std::chrono::steady_clock::time_point tokenReadAt_;
  std::unique_ptr<web::http::client::http_client> http_;
};

}  // namespace pgvigil::kube
