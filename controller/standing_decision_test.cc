// StandingDecision: one line per change of a standing decision, a reminder
// every `remind`, one when it ends; never a line per round.
#include "controller/standing_decision.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(StandingDecision, Table) {
  struct Row {
    int atSeconds;
    const char* reason;
    StandingDecision::Say say;
  };
  using S = StandingDecision::Say;
  const Row rows[] = {
      {0, "", S::kNothing},               // nothing stands
      {1, "primary fenced", S::kStarted},  // logged once
      {2, "primary fenced", S::kNothing},  // every round after: silent
      {3, "primary fenced", S::kNothing},
      {60, "primary fenced", S::kNothing},
      {301, "primary fenced", S::kReminder},  // 5 min after it was said
      {302, "primary fenced", S::kNothing},
      {310, "unfenced: waiting for its start", S::kChanged},  // a new reason at once
      {311, "unfenced: waiting for its start", S::kNothing},
      {312, "", S::kEnded},  // once
      {313, "", S::kNothing},
      {314, "primary fenced", S::kStarted},  // again: a new decision
  };
  StandingDecision d(seconds(300));
  const auto t0 = StandingDecision::Clock::time_point{} + seconds(1000);
  for (const auto& r : rows) {
    EXPECT_EQ(ToString(d.Update(r.reason, t0 + seconds(r.atSeconds))), std::string(ToString(r.say)))
        << "at " << r.atSeconds << " s: " << r.reason;
  }
}

TEST(StandingDecision, OneLineForAnHourOfRoundsEverySecond) {
  StandingDecision d;  // reminder every 5 minutes
  const auto t0 = StandingDecision::Clock::time_point{} + seconds(1);
  int said = 0;
  for (int s = 0; s < 3600; ++s)
    if (d.Update("the primary demo-0 is fenced", t0 + seconds(s)) != StandingDecision::Say::kNothing) ++said;
  EXPECT_EQ(said, 12);  // started, then 11 reminders
  EXPECT_EQ(d.For(t0 + seconds(3600)), milliseconds(3600 * 1000));
  EXPECT_EQ(d.Update("", t0 + seconds(3601)), StandingDecision::Say::kEnded);
  EXPECT_EQ(d.reason(), "the primary demo-0 is fenced");
}

}  // namespace
}  // namespace pgvigil
