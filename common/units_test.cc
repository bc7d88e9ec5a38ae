// Durations and sizes as written in a spec, and their canonical forms.
#include "common/units.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace pgvigil {
namespace {

TEST(ParseDurationTest, AcceptsEveryUnit) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  for (const Case& c : std::vector<Case>{{"500ms", 500},
                                         {"0ms", 0},
                                         {"5s", 5000},
                                         {"2m", 120000},
                                         {"5min", 300000},
                                         {"1h", 3600000},
                                         {"24h", 86400000},
                                         {"30", 30000},  // a bare number is seconds
                                         {"0", 0},
                                         {" 5s ", 5000},  // YAML may leave surrounding spaces
                                         {"007s", 7000},
                                         {"9223372036854775807ms", std::numeric_limits<int64_t>::max()}}) {
    SCOPED_TRACE(c.text);
    auto d = ParseDuration(c.text);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->count(), c.ms);
  }
}

TEST(ParseDurationTest, RejectsNegativeGarbageSpacesAndOverflow) {
  for (const char* text : {"", " ", "-5s", "+5s", "s", "ms", "abc", "5x", "5S", "5 s", "5s 1", "1.5s", "5s5",
                           "1e3", "0x10", "5sec",
                           "99999999999999999999",    // does not fit 64 bits
                           "9223372036854775808ms",   // one past the largest millisecond count
                           "18446744073709551615s",   // fits 64 bits, overflows as milliseconds
                           "3000000000000000h"}) {
    EXPECT_FALSE(ParseDuration(text).has_value()) << "'" << text << "'";
  }
}

TEST(ParseSizeTest, AcceptsEveryUnit) {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  for (const Case& c : std::vector<Case>{{"0", 0},
                                         {"100", 100},  // a bare number is bytes
                                         {"100B", 100},
                                         {"512kB", 512ull << 10},
                                         {"512KB", 512ull << 10},
                                         {"512KiB", 512ull << 10},
                                         {"16MB", 16ull << 20},
                                         {"16MiB", 16ull << 20},
                                         {"1GB", 1ull << 30},
                                         {"2TB", 2ull << 40},
                                         {"18446744073709551615", std::numeric_limits<uint64_t>::max()}}) {
    SCOPED_TRACE(c.text);
    auto v = ParseSize(c.text);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, c.bytes);
  }
}

TEST(ParseSizeTest, RejectsNegativeGarbageSpacesAndOverflow) {
  for (const char* text : {"", "-1", "-1MB", "MB", "16 MB", "16mb", "16M", "1.5GB", "2PB", "16MBs", "ten",
                           "18446744073709551616",  // 2^64
                           "17179869184TB"}) {      // 2^34 TB = 2^74 bytes
    EXPECT_FALSE(ParseSize(text).has_value()) << "'" << text << "'";
  }
}

TEST(FormatDurationTest, ShortestExactForm) {
  EXPECT_EQ(FormatDuration(Millis(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(Millis(1)), "1ms");
  EXPECT_EQ(FormatDuration(Millis(0)), "0s");
  EXPECT_EQ(FormatDuration(Millis(5000)), "5s");
  EXPECT_EQ(FormatDuration(Millis(90000)), "90s");
  EXPECT_EQ(FormatDuration(Millis(120000)), "2m");
  EXPECT_EQ(FormatDuration(Millis(5400000)), "90m");
  EXPECT_EQ(FormatDuration(Millis(3600000)), "1h");
  EXPECT_EQ(FormatDuration(Millis(86400000)), "24h");
}

TEST(FormatDurationTest, ParsesBackToTheSameValue) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{250}, int64_t{999}, int64_t{1000}, int64_t{1001},
                     int64_t{59999}, int64_t{60000}, int64_t{61000}, int64_t{3599999}, int64_t{3600000},
                     int64_t{7200000}, int64_t{86400000} * 365,
                     std::numeric_limits<int64_t>::max()}) {
    std::string text = FormatDuration(Millis(ms));
    auto back = ParseDuration(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(back->count(), ms) << text;
  }
}

TEST(FormatSizeTest, LargestExactUnit) {
  EXPECT_EQ(FormatSize(0), "0");
  EXPECT_EQ(FormatSize(1000), "1000");
  EXPECT_EQ(FormatSize(1536), "1536");
  EXPECT_EQ(FormatSize(2048), "2kB");
  EXPECT_EQ(FormatSize(16ull << 20), "16MB");
  EXPECT_EQ(FormatSize(1536ull << 20), "1536MB");
  EXPECT_EQ(FormatSize(3ull << 30), "3GB");
  EXPECT_EQ(FormatSize(1ull << 40), "1TB");
}

TEST(FormatSizeTest, ParsesBackToTheSameValue) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{1023}, uint64_t{1024}, uint64_t{1025},
                     uint64_t{10} << 20, (uint64_t{1} << 30) + 1, uint64_t{5} << 40, uint64_t{1} << 63,
                     std::numeric_limits<uint64_t>::max()}) {
    std::string text = FormatSize(v);
    auto back = ParseSize(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, v) << text;
  }
}

}  // namespace
}  // namespace pgvigil
