#include "sidecar/health_view.h"

namespace pgvigil {

const char* ToString(BackendRole r) {
  switch (r) {
    case BackendRole::kPrimary: return "primary";
    case BackendRole::kStandby: return "standby";
    default: return "unknown";
  }
}

void HealthView::Update(const BackendHealth& h) {
  std::vector<Listener> notify;
  std::vector<BackendHealth> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    bool changed = true;
    bool found = false;
    for (auto& b : backends_) {
      if (b.node == h.node) {
        changed = b.up != h.up || b.role != h.role;
        b = h;
        found = true;
        break;
      }
    }
    if (!found) backends_.push_back(h);
    if (changed && !listeners_.empty()) {
      notify = listeners_;
      snapshot = backends_;
    }
  }
  for (auto& l : notify) l(snapshot);
}

void HealthView::Remove(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  for (auto it = backends_.begin(); it != backends_.end(); ++it) {
    if (it->node == node) {
      backends_.erase(it);
      return;
    }
  }
}

std::vector<BackendHealth> HealthView::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return backends_;
}

bool HealthView::Get(const std::string& node, BackendHealth* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& b : backends_) {
    if (b.node == node) {
      *out = b;
      return true;
    }
  }
  return false;
}

uint64_t HealthView::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void HealthView::Subscribe(Listener l) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(std::move(l));
}

void HealthView::SetCheckRequester(std::function<void()> requester) {
  std::lock_guard<std::mutex> lock(mu_);
  requester_ = std::move(requester);
}

void HealthView::RequestCheck() {
  std::function<void()> r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!requester_) return;
    r = requester_;
  }
  r();
}

void HealthView::SetHostsLost(std::set<std::string> nodes) {
  std::lock_guard<std::mutex> lock(mu_);
  hostsLost_ = std::move(nodes);
}

bool HealthView::HostLost(const std::string& node) const {
  std::lock_guard<std::mutex> lock(mu_);
  return hostsLost_.count(node) > 0;
}

}  // namespace pgvigil
