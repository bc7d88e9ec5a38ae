#include "sidecar/proxy/accept_backoff.h"

#include <gtest/gtest.h>

namespace pgvigil::proxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(AcceptBackoffTest, DescriptorExhaustionWaitsDoublingAndWarnsOnce) {
  AcceptBackoff b;
  auto t = AcceptBackoff::Clock::time_point{} + seconds(1000);
  struct Row {
    milliseconds wait;
    bool warn;
  } rows[] = {{milliseconds(50), true},   {milliseconds(100), false}, {milliseconds(200), false},
              {milliseconds(400), false}, {milliseconds(800), false}, {milliseconds(1000), false},
              {milliseconds(1000), false}};
  for (const auto& r : rows) {
    auto s = b.Failed(t, true);
    EXPECT_EQ(s.wait, r.wait);
    EXPECT_EQ(s.warn, r.warn);
    t += s.wait;
  }
  // A minute later: one more warning, counting every failure since the first.
  auto s = b.Failed(t + seconds(60), true);
  EXPECT_TRUE(s.warn);
  EXPECT_EQ(s.failuresSinceWarn, 7u);
  EXPECT_TRUE(b.Succeeded());  // recovery reported once
  EXPECT_EQ(b.lastRunFailures(), 8u);
  EXPECT_FALSE(b.Succeeded());
  // The delay starts over; within the minute no new warning (and so no recovery line).
  s = b.Failed(t + seconds(61), true);
  EXPECT_EQ(s.wait, milliseconds(50));
  EXPECT_FALSE(s.warn);
  EXPECT_FALSE(b.Succeeded());
}

TEST(AcceptBackoffTest, OtherErrorsRetryAtOnce) {
  AcceptBackoff b;
  auto t = AcceptBackoff::Clock::time_point{} + seconds(5);
  auto s = b.Failed(t, false);
  EXPECT_EQ(s.wait, milliseconds(0));
  EXPECT_TRUE(s.warn);
  s = b.Failed(t, false);
  EXPECT_FALSE(s.warn);
}

}  // namespace
}  // namespace pgvigil::proxy
