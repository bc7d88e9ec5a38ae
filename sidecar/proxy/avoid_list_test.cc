#include "sidecar/proxy/avoid_list.h"

#include <gtest/gtest.h>

namespace pgvigil::proxy {
namespace {

using std::chrono::seconds;

TEST(AvoidListTest, AvoidedUntilItsTimeThenPrunedToEmpty) {
  const auto t0 = AvoidList::Clock::time_point{} + seconds(100);
  AvoidList a;
  EXPECT_TRUE(a.empty());
  EXPECT_FALSE(a.Avoided("n1", t0));
  a.Avoid("n1", t0 + seconds(5));
  a.Avoid("n2", t0 + seconds(10));
  struct Row {
    int at;
    bool n1, n2;
    size_t left_after_prune;
  } rows[] = {{0, true, true, 2}, {4, true, true, 2}, {5, false, true, 1}, {9, false, true, 1}, {10, false, false, 0}};
  for (const Row& r : rows) {
    const auto now = t0 + seconds(r.at);
    EXPECT_EQ(a.Avoided("n1", now), r.n1) << "at +" << r.at << " s";
    EXPECT_EQ(a.Avoided("n2", now), r.n2) << "at +" << r.at << " s";
    EXPECT_FALSE(a.Avoided("n3", now));
    a.Prune(now);
    EXPECT_EQ(a.size(), r.left_after_prune) << "at +" << r.at << " s";
  }
  // Back on the fast path once the last avoidance ran out.
  EXPECT_TRUE(a.empty());
}

TEST(AvoidListTest, ALaterFailureExtendsTheTime) {
  const auto t0 = AvoidList::Clock::time_point{} + seconds(100);
  AvoidList a;
  a.Avoid("n1", t0 + seconds(5));
  a.Avoid("n1", t0 + seconds(8));
  a.Prune(t0 + seconds(6));
  EXPECT_TRUE(a.Avoided("n1", t0 + seconds(6)));
  EXPECT_EQ(a.size(), 1u);
}

}  // namespace
}  // namespace pgvigil::proxy
