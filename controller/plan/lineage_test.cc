#include "controller/plan/lineage.h"

#include <gtest/gtest.h>

#include "controller/plan/planner.h"

namespace pgvigil::plan {
namespace {

const std::vector<TimelineSwitch> kHistory = {{1, 0x3000000}, {2, 0x5000060}};

TEST(Lineage, SameTimelineCanFollow) {
  EXPECT_EQ(CheckLineage(3, 0x9000000, 3, kHistory, nullptr), Lineage::kCanFollow);
}

TEST(Lineage, OlderTimelineUpToTheSwitchPointCanFollow) {
  EXPECT_EQ(CheckLineage(2, 0x5000060, 3, kHistory, nullptr), Lineage::kCanFollow);
  EXPECT_EQ(CheckLineage(1, 0x2FFFFFF, 3, kHistory, nullptr), Lineage::kCanFollow);
}

TEST(Lineage, PastTheSwitchPointDiverged) {
  std::string why;
  EXPECT_EQ(CheckLineage(2, 0x5000061, 3, kHistory, &why), Lineage::kDiverged);
  EXPECT_EQ(why, "timeline 2 reaches 0/5000061, past the primary's switch point 0/5000060");
}

TEST(Lineage, NewerTimelineOrOneOutsideTheHistoryDiverged) {
  EXPECT_EQ(CheckLineage(4, 0x100, 3, kHistory, nullptr), Lineage::kDiverged);
  EXPECT_EQ(CheckLineage(2, 0x100, 3, {{1, 0x3000000}}, nullptr), Lineage::kDiverged);
}

TEST(Lineage, NoHistoryUnknown) {
  EXPECT_EQ(CheckLineage(1, 0x100, 2, {}, nullptr), Lineage::kUnknown);
}

TEST(Lineage, FormatLsnLikePostgres) {
  EXPECT_EQ(FormatLsn(0), "0/0");
  EXPECT_EQ(FormatLsn(0x16B374D48ull), "1/6B374D48");
}

TEST(SynchronousStandbyNames, Forms) {
  EXPECT_EQ(SynchronousStandbyNames({}, 1), "");
  EXPECT_EQ(SynchronousStandbyNames({"b"}, 1), "FIRST 1 (\"b\")");
  EXPECT_EQ(SynchronousStandbyNames({"b", "c"}, 1), "ANY 1 (\"b\", \"c\")");
  EXPECT_EQ(SynchronousStandbyNames({"b", "c"}, 2), "FIRST 2 (\"b\", \"c\")");
}

}  // namespace
}  // namespace pgvigil::plan

namespace pgvigil::plan {
namespace {

TEST(ActionDescribe, OneLineWithTheReason) {
  Action a;
  a.kind = ActionKind::kPublishRouting;
  a.generation = 7;
  a.primary = "b";
  a.standbys = {{"a", 1}, {"c", 0}};
  a.reason = "failover done";
  EXPECT_EQ(a.Describe(), "publish-routing gen 7 primary=b standbys=[a:1,c:0]: failover done");
  Action r;
  r.kind = ActionKind::kRebuild;
  r.node = "a";
  r.upstream = "b";
  r.reason = "fenced";
  EXPECT_EQ(r.Describe(), "rebuild a from b (rewind-or-basebackup): fenced");
  Action e;
  e.reason = "primary a is down";
  EXPECT_EQ(e.Describe(), "event: primary a is down");
}

TEST(ClusterStateNames, SortedSetHelpers) {
  std::vector<std::string> names;
  AddName(&names, "c");
  AddName(&names, "a");
  AddName(&names, "c");
  EXPECT_EQ(names, (std::vector<std::string>{"a", "c"}));
  RemoveName(&names, "a");
  EXPECT_EQ(names, std::vector<std::string>{"c"});
  EXPECT_TRUE(HasName(names, "c"));
  EXPECT_FALSE(HasName(names, "a"));
}

}  // namespace
}  // namespace pgvigil::plan
