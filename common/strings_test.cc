#include "common/strings.h"

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(Join, ItemsInOrderWithTheSeparatorBetween) {
  EXPECT_EQ(Join(std::vector<std::string>{}), "");
  EXPECT_EQ(Join(std::vector<std::string>{"a"}), "a");
  EXPECT_EQ(Join(std::vector<std::string>{"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(Join(std::vector<std::string>{"x", "y"}, "\n"), "x\ny");
  // An empty item keeps its separators (the old `out.empty() ? "" : ", "` idiom dropped one).
  EXPECT_EQ(Join(std::vector<std::string>{"", "b"}), ", b");
  EXPECT_EQ(Join(std::set<std::string>{"b", "a"}), "a, b");
  EXPECT_EQ(Join(std::vector<std::string_view>{"p", "q"}, "|"), "p|q");
}

}  // namespace
}  // namespace pgvigil
