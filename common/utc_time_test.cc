#include "common/utc_time.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(UtcTime, IsoTimeToTheSecondAndEmptyForNever) {
  using std::chrono::system_clock;
  EXPECT_EQ(IsoTime(system_clock::time_point{}), "");
  EXPECT_EQ(IsoTime(system_clock::from_time_t(1)), "1970-01-01T00:00:01Z");
  // 2026-12-06T17:00:00Z, and the milliseconds after it cut.
  const auto t = system_clock::from_time_t(1796576400);
  EXPECT_EQ(IsoTime(t), "2026-12-06T17:00:00Z");
  EXPECT_EQ(IsoTime(t + std::chrono::milliseconds(999)), "2026-12-06T17:00:00Z");
}

}  // namespace
}  // namespace pgvigil
