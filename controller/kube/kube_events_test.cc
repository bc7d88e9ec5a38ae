// EventLimiter and EventReason (pure): repeats within the window dropped, a
// burst then one per refill interval, keys forgotten after the window.
#include <gtest/gtest.h>

#include "controller/kube/kube_events.h"

namespace pgvigil::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(EventLimiter, RepeatsAreDroppedAndABurstIsFollowedByTheRefillRate) {
  EventLimiter l(3, seconds(6), seconds(60));
  const auto t0 = EventLimiter::Clock::time_point{} + seconds(1000);
  EXPECT_TRUE(l.Allow("Promote|demo-1", t0));
  EXPECT_FALSE(l.Allow("Promote|demo-1", t0 + seconds(1))) << "the same event within the window";
  EXPECT_TRUE(l.Allow("Fence|demo-0", t0 + seconds(1)));
  EXPECT_TRUE(l.Allow("WriteState|v2", t0 + seconds(1)));
  EXPECT_FALSE(l.Allow("WriteState|v3", t0 + seconds(1))) << "the burst of 3 is spent";
  EXPECT_FALSE(l.Allow("WriteState|v3", t0 + seconds(5)));
  EXPECT_TRUE(l.Allow("WriteState|v3", t0 + seconds(7))) << "one token back after 6 s";
  EXPECT_FALSE(l.Allow("WriteState|v4", t0 + seconds(8)));
  EXPECT_TRUE(l.Allow("Promote|demo-1", t0 + seconds(61))) << "the window is over";
  EXPECT_EQ(l.dropped(), 4);
}

TEST(EventReason, ActionKindsBecomeCamelCase) {
  EXPECT_EQ(EventReason("promote", true), "Promote");
  EXPECT_EQ(EventReason("write-state", true), "WriteState");
  EXPECT_EQ(EventReason("set-synchronous-standbys", false), "SetSynchronousStandbysFailed");
  EXPECT_EQ(EventReason("", true), "Decision");
}

}  // namespace
}  // namespace pgvigil::kube
