#include "controller/kube/list_watch.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

namespace pgvigil::kube {

using web::json::value;

std::string ListWatch::Key(const value& obj) {
  const value& m = obj.at("metadata");
  std::string ns = m.has_string_field("namespace") ? m.at("namespace").as_string() : "";
  return ns + "/" + (m.has_string_field("name") ? m.at("name").as_string() : "");
}

void ListWatch::Run(const std::atomic<bool>& stop,
                    const std::function<void(const Cache&, const std::string&)>& on_change) {
  bool need_list = true, relisting = false;
  int failures = 0;
  auto back_off = [&] {
    ++failures;
    const auto d = std::min(RetryDelay(failures, -1, 0.5), options_.maxBackOff);
    for (auto waited = std::chrono::milliseconds(0); waited < d && !stop; waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  while (!stop) {
    if (need_list) {
      auto list = client_->List(collection_, options_.query);
      if (!list.ok()) {
        back_off();
        continue;
      }
      ++lists_;
      cache_.clear();
      for (const auto& item : list->items) cache_[Key(item)] = item;
      rv_ = list->resourceVersion;
      need_list = false;
      if (relisting) spdlog::info("{}: relisted after 410 Gone: {} object(s) at resourceVersion {}", collection_,
                                  cache_.size(), rv_);
      relisting = false;
      on_change(cache_, "LIST");
    }
    ++watches_;
    WatchResult w = client_->Watch(collection_, options_.query, rv_, options_.timeoutSeconds, options_.idle,
                                   [&](const WatchEvent& e) {
                                     if (e.type == "DELETED") cache_.erase(Key(e.object));
                                     else cache_[Key(e.object)] = e.object;
                                     on_change(cache_, e.type);
                                     return !stop.load();
                                   });
    if (!w.resourceVersion.empty()) rv_ = w.resourceVersion;
    switch (w.end) {
      case WatchEnd::kGone:
        ++gone_;
        spdlog::info("{}: watch from resourceVersion {} ended with 410 Gone (history compacted): relisting",
                     collection_, rv_);
        need_list = true;
        relisting = true;
        break;
      case WatchEnd::kClosed:
      case WatchEnd::kStopped:
        failures = 0;
        break;
      case WatchEnd::kBroken:
      case WatchEnd::kHttpError:
        back_off();
        break;
    }
  }
}

}  // namespace pgvigil::kube
