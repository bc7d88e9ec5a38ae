// List + watch of one collection kept in a cache by name, as a controller's
// informer does: list (paged), watch from the list's resourceVersion,
// bookmarks move it, a timed-out or dropped watch resumes from it, a 410 Gone
// (HTTP or ERROR event) relists, other failures back off (0.375 s doubling,
// at most maxBackOff: the cache is what the controller acts on, so a change
// made right after an API-server outage must not wait for a long back-off).
// Run() blocks until `stop`; the handlers run on its thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>

#include "controller/kube/kube_client.h"

namespace pgvigil::kube {

struct ListWatchOptions {
  std::string query;         // "labelSelector=...": selectors, escaped
  int timeoutSeconds = 300;  // per watch request
  std::chrono::milliseconds idle{20000};  // 2 bookmark intervals of the API server
  // The longest wait between two failed attempts. One list or watch request
  // every 1.5 s while the API server is down is no load; 30 s (the calls'
  // back-off) kept a spec change made after a 30 s outage out of the status
  // for 17-19 s.
  std::chrono::milliseconds maxBackOff{1500};
};

class ListWatch {
 public:
  using Cache = std::map<std::string, web::json::value>;  // "namespace/name" -> object
  ListWatch(KubeClient* client, std::string collection, ListWatchOptions options = {})
      : client_(client), collection_(std::move(collection)), options_(std::move(options)) {}

  // on_change(cache, event type or "LIST") after every change of the cache.
  void Run(const std::atomic<bool>& stop, const std::function<void(const Cache&, const std::string&)>& on_change);

  // Counters, for tests and metrics (read after Run or from on_change).
  int lists() const { return lists_; }
  int relistsAfterGone() const { return gone_; }
  int watches() const { return watches_; }
  const std::string& resourceVersion() const { return rv_; }

 private:
  static std::string Key(const web::json::value& obj);
  KubeClient* client_;
  std::string collection_;
  ListWatchOptions options_;
  Cache cache_;
  std::string rv_;
  std::atomic<int> lists_{0}, gone_{0}, watches_{0};
};

}  // namespace pgvigil::kube
