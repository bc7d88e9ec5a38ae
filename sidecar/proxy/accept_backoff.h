// What the accept loop does after accept() fails: pure, no clock or socket
// inside (the caller passes the time), so it is table-tested. With the
// descriptors used up (EMFILE/ENFILE) the pending connection stays in the
// listen queue and accept() would fail again at once: the loop waits, from
// 50 ms doubling to 1 s, and warns once per minute at most, with the number of
// failures since the last warning. A success resets the delay and reports the
// recovery once. One instance per acceptor; not thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace pgvigil::proxy {

class AcceptBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFirst{50};
  static constexpr std::chrono::milliseconds kMax{1000};
  static constexpr std::chrono::seconds kWarnEvery{60};

  struct Step {
    std::chrono::milliseconds wait{0};  // before the next accept
    bool warn = false;                  // log a warning now
    uint64_t failuresSinceWarn = 0;     // for that warning (this failure included)
  };

  // After a failed accept(). resource: the failure was for lack of descriptors
  // or memory (waits and doubles); otherwise the next accept runs at once.
  Step Failed(Clock::time_point now, bool resource) {
    Step s;
    ++failures_;
    ++sinceWarn_;
    if (resource) {
      delay_ = delay_.count() == 0 ? kFirst : std::min(kMax, delay_ * 2);
      s.wait = delay_;
    }
    if (!warned_ || now - warnedAt_ >= kWarnEvery) {
      s.warn = true;
      warnedThisRun_ = true;
      s.failuresSinceWarn = sinceWarn_;
      warned_ = true;
      warnedAt_ = now;
      sinceWarn_ = 0;
    }
    return s;
  }
  // After a successful accept(): true once after a run of failures that was
  // warned about (log the recovery); lastRunFailures() tells how many.
  bool Succeeded() {
    delay_ = std::chrono::milliseconds(0);
    if (failures_ == 0) return false;
    recovered_ = failures_;
    failures_ = 0;
    bool report = warnedThisRun_;
    warnedThisRun_ = false;
    return report;
  }
  uint64_t lastRunFailures() const { return recovered_; }

 private:
  std::chrono::milliseconds delay_{0};
  uint64_t failures_ = 0, sinceWarn_ = 0, recovered_ = 0;
  bool warned_ = false, warnedThisRun_ = false;
  Clock::time_point warnedAt_{};
};

}  // namespace pgvigil::proxy
