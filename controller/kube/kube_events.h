// Kubernetes Events for the controller's decisions (KUBERNETES.md §3, §7:
// events.k8s.io/v1, a CamelCase reason and a note), rate-limited so a loop
// retrying the same failing step does not flood the API server:
//  - EventLimiter (pure, clock passed in): the same reason+note again within
//    the repeat window is dropped; beyond that a token bucket (burst, then one
//    per refill interval) per cluster.
//  - EventReason: the planner's action kinds as CamelCase reasons.
// The poster itself is KubeActuator's (it knows the custom resource's uid).
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace pgvigil::kube {

class EventLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  EventLimiter(int burst = 10, std::chrono::milliseconds refill = std::chrono::seconds(6),
               std::chrono::milliseconds repeat = std::chrono::seconds(60))
      : burst_(burst), refill_(refill), repeat_(repeat), tokens_(burst) {}
  // Whether an event with this key (reason + note) may be sent at `now`.
  bool Allow(const std::string& key, Clock::time_point now);
  int dropped() const { return dropped_; }

 private:
  const int burst_;
  const std::chrono::milliseconds refill_, repeat_;
  double tokens_;
  Clock::time_point last_{};
  bool started_ = false;
  std::map<std::string, Clock::time_point> sent_;  // key -> when last sent
  int dropped_ = 0;
};

// "promote" -> "Promote", "write_state" or "write-state" -> "WriteState";
// a failed action gets "Failed" appended ("PromoteFailed").
std::string EventReason(const std::string& action, bool ok);

}  // namespace pgvigil::kube
