// A decision that stands round after round (a reconcile round held back, the
// cluster state unreadable) is logged when it starts or its reason changes,
// as a reminder every `remind` while it stands, and once when it ends: so
// every decision is logged with its reason, without a line per round (a
// primary fenced by hand held the rounds and logged one every second). Pure:
// the caller passes the clock and does the logging. Not thread-safe.
#pragma once

#include <chrono>
#include <string>

namespace pgvigil {

class StandingDecision {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Say { kNothing, kStarted, kChanged, kReminder, kEnded };

  explicit StandingDecision(std::chrono::milliseconds remind = std::chrono::minutes(5)) : remind_(remind) {}

  // This round's reason ("" = the decision does not stand this round).
  Say Update(const std::string& reason, Clock::time_point now);
  // The reason in force ("" when none); after kEnded, the one that ended.
  const std::string& reason() const { return reason_; }
  // How long the decision has stood (since kStarted, not reset by kChanged).
  std::chrono::milliseconds For(Clock::time_point now) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - since_);
  }

 private:
  const std::chrono::milliseconds remind_;
  bool standing_ = false;
  std::string reason_;
  Clock::time_point since_, said_;
};

const char* ToString(StandingDecision::Say s);

}  // namespace pgvigil
