#include "controller/standing_decision.h"

namespace pgvigil {

StandingDecision::Say StandingDecision::Update(const std::string& reason, Clock::time_point now) {
  if (reason.empty()) {
    if (!standing_) return Say::kNothing;
    standing_ = false;  // reason_ keeps the one that ended, for the caller's log
    return Say::kEnded;
  }
  if (!standing_) {
    standing_ = true;
    reason_ = reason;
    since_ = said_ = now;
    return Say::kStarted;
  }
  if (reason != reason_) {
    reason_ = reason;
    said_ = now;
    return Say::kChanged;
  }
  if (now - said_ >= remind_) {
    said_ = now;
    return Say::kReminder;
  }
  return Say::kNothing;
}

const char* ToString(StandingDecision::Say s) {
  switch (s) {
    case StandingDecision::Say::kNothing: return "nothing";
    case StandingDecision::Say::kStarted: return "started";
    case StandingDecision::Say::kChanged: return "changed";
    case StandingDecision::Say::kReminder: return "reminder";
    case StandingDecision::Say::kEnded: return "ended";
  }
  return "?";
}

}  // namespace pgvigil
