#include "controller/kube/kube_events.h"

#include <algorithm>
#include <cctype>

namespace pgvigil::kube {

bool EventLimiter::Allow(const std::string& key, Clock::time_point now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (now > last_) {
    tokens_ = std::min<double>(burst_, tokens_ + std::chrono::duration<double>(now - last_) /
                                                     std::chrono::duration<double>(refill_));
    last_ = now;
  }
  // Forget keys past the repeat window (bounded memory).
  for (auto it = sent_.begin(); it != sent_.end();)
    it = now - it->second >= repeat_ ? sent_.erase(it) : std::next(it);
  if (sent_.count(key) || tokens_ < 1.0) {
    ++dropped_;
    return false;
  }
  tokens_ -= 1.0;
  sent_[key] = now;
  return true;
}

std::string EventReason(const std::string& action, bool ok) {
  std::string out;
  bool upper = true;
  for (char c : action) {
    if (c == '_' || c == '-' || c == ' ') {
      upper = true;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c))) continue;
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  if (out.empty()) out = "Decision";
  return ok ? out : out + "Failed";
}

}  // namespace pgvigil::kube
