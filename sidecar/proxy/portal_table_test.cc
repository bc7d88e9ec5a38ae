// PortalTable: the unnamed slot behaves as a named portal does.
#include "sidecar/proxy/portal_table.h"

#include <gtest/gtest.h>

namespace pgvigil::proxy {
namespace {

enum class Side { kNone, kPrimary, kStandby };

TEST(PortalTableTest, UnnamedAndNamedAlike) {
  for (std::string name : {"", "p1"}) {
    PortalTable<Side> t;
    EXPECT_EQ(t.Find(name), nullptr) << name;
    EXPECT_FALSE(t.Mirrored(name)) << name;
    t.Bind(name, Side::kStandby, false);
    ASSERT_NE(t.Find(name), nullptr) << name;
    EXPECT_EQ(*t.Find(name), Side::kStandby) << name;
    t.Bind(name, Side::kPrimary, true);  // bound again: the last one counts
    EXPECT_EQ(*t.Find(name), Side::kPrimary) << name;
    EXPECT_TRUE(t.Mirrored(name)) << name;
    EXPECT_EQ(t.Find(name == "" ? "p1" : ""), nullptr) << name;  // the other kind untouched
    t.DropOn(Side::kStandby);
    EXPECT_NE(t.Find(name), nullptr) << name;
    t.DropOn(Side::kPrimary);  // forgets where, not that it was mirrored
    EXPECT_EQ(t.Find(name), nullptr) << name;
    EXPECT_TRUE(t.Mirrored(name)) << name;
    t.Bind(name, Side::kPrimary, false);
    EXPECT_FALSE(t.Mirrored(name)) << name;
    t.Close(name);
    EXPECT_EQ(t.Find(name), nullptr) << name;
    t.Bind(name, Side::kStandby, true);
    t.Clear();
    EXPECT_EQ(t.Find(name), nullptr) << name;
    EXPECT_FALSE(t.Mirrored(name)) << name;
  }
}

TEST(PortalTableTest, ManyNamedOnBothSides) {
  PortalTable<Side> t;
  for (int i = 0; i < 20; ++i) t.Bind("p" + std::to_string(i), i % 2 ? Side::kPrimary : Side::kStandby, i % 3 == 0);
  t.Bind("", Side::kStandby, false);
  t.DropOn(Side::kStandby);
  EXPECT_EQ(t.Find(""), nullptr);
  for (int i = 0; i < 20; ++i) {
    std::string n = "p" + std::to_string(i);
    EXPECT_EQ(t.Find(n) != nullptr, i % 2 == 1) << n;
    EXPECT_EQ(t.Mirrored(n), i % 3 == 0) << n;
  }
  t.Close("p1");
  EXPECT_EQ(t.Find("p1"), nullptr);
  EXPECT_NE(t.Find("p3"), nullptr);
}

}  // namespace
}  // namespace pgvigil::proxy
