#include "e2e/tools/e2e_logic.h"

#include <gtest/gtest.h>

namespace pgvigil::e2e {
namespace {

TEST(E2eGapTracker, KeepsGapsOverThresholdAndTheLongest) {
  GapTracker g(200);
  EXPECT_FALSE(g.longest());
  g.Ack(1000);
  EXPECT_FALSE(g.longest());
  g.Ack(1010);
  g.Ack(1300);   // 290 > 200
  g.Ack(1500);   // 200: not over
  g.Ack(4000);   // 2500
  ASSERT_EQ(g.gaps().size(), 2u);
  EXPECT_EQ(g.gaps()[0].startMs, 1010);
  EXPECT_EQ(g.gaps()[0].endMs, 1300);
  EXPECT_EQ(g.gaps()[1].lengthMs(), 2500);
  ASSERT_TRUE(g.longest());
  EXPECT_EQ(g.longest()->startMs, 1500);
  EXPECT_EQ(*g.firstAckMs(), 1000);
  EXPECT_EQ(*g.lastAckMs(), 4000);
}

TEST(E2eAckLine, Parses) {
  AckRecord r;
  EXPECT_TRUE(ParseAckLine("12 1000 1005", &r));
  EXPECT_EQ(r.id, 12);
  EXPECT_EQ(r.sentMs, 1000);
  EXPECT_EQ(r.ackMs, 1005);
  EXPECT_TRUE(ParseAckLine("7", &r));
  EXPECT_EQ(r.id, 7);
  EXPECT_FALSE(ParseAckLine("", &r));
  EXPECT_FALSE(ParseAckLine("12 1000", &r));      // torn line
  EXPECT_FALSE(ParseAckLine("12 1000 10x", &r));
  EXPECT_FALSE(ParseAckLine("x", &r));
  EXPECT_FALSE(ParseAckLine("1 2 3 4", &r));
}

TEST(E2eLoss, NoneWhenAllPresent) {
  std::vector<AckRecord> acks = {{1, 0, 10}, {2, 0, 20}, {3, 0, 30}};
  LossReport r = ComputeLoss(acks, {1, 2, 3, 4});
  EXPECT_EQ(r.acked, 3);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.unackedPresent, 1);
  EXPECT_TRUE(r.lostRanges.empty());
}

TEST(E2eLoss, RangesOfConsecutiveLostIds) {
  std::vector<AckRecord> acks = {{1, 0, 10}, {2, 0, 20}, {3, 0, 30}, {5, 0, 50}, {6, 0, 60}, {9, 0, 90}};
  LossReport r = ComputeLoss(acks, {1, 5});
  EXPECT_EQ(r.lost, 4);
  ASSERT_EQ(r.lostRanges.size(), 3u);
  EXPECT_EQ(r.lostRanges[0].first, 2);
  EXPECT_EQ(r.lostRanges[0].last, 3);
  EXPECT_EQ(r.lostRanges[0].firstAckMs, 20);
  EXPECT_EQ(r.lostRanges[0].lastAckMs, 30);
  EXPECT_EQ(r.lostRanges[1].first, 6);
  EXPECT_EQ(r.lostRanges[2].first, 9);
}

TEST(E2eLoss, FirstAckAfter) {
  std::vector<AckRecord> acks = {{1, 0, 10}, {2, 0, 20}, {4, 0, 45}};
  EXPECT_EQ(FirstAckAfter(acks, 15)->id, 2);
  EXPECT_EQ(FirstAckAfter(acks, 20)->id, 2);
  EXPECT_EQ(FirstAckAfter(acks, 21)->id, 4);
  EXPECT_FALSE(FirstAckAfter(acks, 46));
}

TEST(E2eNodeArg, Parses) {
  NodeAddr n;
  std::string err;
  ASSERT_TRUE(ParseNodeArg("server1=10.77.0.11:5432", &n, &err)) << err;
  EXPECT_EQ(n.name, "server1");
  EXPECT_EQ(n.host, "10.77.0.11");
  EXPECT_EQ(n.pgPort, 5432);
  EXPECT_EQ(n.restPort, 9898);
  ASSERT_TRUE(ParseNodeArg("a=127.0.0.1:6000:7000", &n, &err));
  EXPECT_EQ(n.restPort, 7000);
  ASSERT_TRUE(ParseNodeArg("a=127.0.0.1", &n, &err));
  EXPECT_EQ(n.pgPort, 5432);
  EXPECT_FALSE(ParseNodeArg("127.0.0.1:5432", &n, &err));
  EXPECT_FALSE(ParseNodeArg("a=h:0", &n, &err));
  EXPECT_FALSE(ParseNodeArg("a=h:70000", &n, &err));
  EXPECT_FALSE(ParseNodeArg("a=h:5432:x", &n, &err));
  EXPECT_FALSE(ParseNodeArg("a=:5432", &n, &err));
}

NodeView V(const std::string& name, Tri w, const std::string& routed, int64_t obs = 1,
           bool reachable = true) {
  NodeView v;
  v.name = name;
  v.writable = w;
  v.pgObsId = obs;
  v.proxyReachable = reachable;
  v.routedPrimary = routed;
  return v;
}

TEST(E2eSplitBrain, HealthyClusterHasNone) {
  Snapshot s{0, {V("a", Tri::kYes, "a"), V("b", Tri::kNo, "a"), V("c", Tri::kNo, "a")}};
  EXPECT_TRUE(RoutedWritablePrimaries(s).empty());
  EXPECT_EQ(WritableNodes(s), std::vector<std::string>{"a"});
}

TEST(E2eSplitBrain, TwoWritableButOnlyOneRoutedIsNotAViolation) {
  // The old primary is back and writable but every reachable proxy names b.
  Snapshot s{0, {V("a", Tri::kYes, "b"), V("b", Tri::kYes, "b"), V("c", Tri::kNo, "b")}};
  EXPECT_TRUE(RoutedWritablePrimaries(s).empty());
  EXPECT_EQ(WritableNodes(s).size(), 2u);
}

TEST(E2eSplitBrain, TwoWritableEachRoutedByAProxyIsAViolation) {
  Snapshot s{0, {V("a", Tri::kYes, "a"), V("b", Tri::kYes, "b"), V("c", Tri::kNo, "b")}};
  EXPECT_EQ(RoutedWritablePrimaries(s), (std::vector<std::string>{"a", "b"}));
}

TEST(E2eSplitBrain, UnreachableProxyDoesNotCount) {
  // a's own proxy names a, but nobody can reach it (host cut off).
  Snapshot s{0, {V("a", Tri::kYes, "a", 1, false), V("b", Tri::kYes, "b"), V("c", Tri::kNo, "b")}};
  EXPECT_TRUE(RoutedWritablePrimaries(s).empty());
}

TEST(E2eSplitBrain, UnknownWritabilityDoesNotCount) {
  Snapshot s{0, {V("a", Tri::kUnknown, "a"), V("b", Tri::kYes, "b"), V("c", Tri::kNo, "a")}};
  EXPECT_TRUE(RoutedWritablePrimaries(s).empty());
}

TEST(E2eSplitBrain, ConfirmedOnlyWhenBothReprobed) {
  SplitBrainDetector d;
  auto snap = [](int64_t at, int64_t obsA, int64_t obsB) {
    return Snapshot{at, {V("a", Tri::kYes, "a", obsA), V("b", Tri::kYes, "b", obsB)}};
  };
  EXPECT_TRUE(d.Feed(snap(100, 5, 7)));
  EXPECT_TRUE(d.Feed(snap(200, 6, 7)));  // b not probed again yet
  d.Finish();
  ASSERT_EQ(d.episodes().size(), 1u);
  EXPECT_FALSE(d.episodes()[0].confirmed);
  EXPECT_EQ(d.episodes()[0].samples, 2);
  EXPECT_EQ(d.confirmedCount(), 0);

  SplitBrainDetector d2;
  d2.Feed(snap(100, 5, 7));
  d2.Feed(snap(200, 6, 8));
  d2.Feed(Snapshot{300, {V("a", Tri::kNo, "b", 7), V("b", Tri::kYes, "b", 9)}});
  ASSERT_EQ(d2.episodes().size(), 1u);
  EXPECT_TRUE(d2.episodes()[0].confirmed);
  EXPECT_EQ(d2.episodes()[0].firstMs, 100);
  EXPECT_EQ(d2.episodes()[0].lastMs, 200);
  EXPECT_EQ(d2.confirmedCount(), 1);
}

TEST(E2eSplitBrain, DifferentPairStartsANewEpisode) {
  SplitBrainDetector d;
  d.Feed(Snapshot{1, {V("a", Tri::kYes, "a"), V("b", Tri::kYes, "b"), V("c", Tri::kNo, "b")}});
  d.Feed(Snapshot{2, {V("a", Tri::kNo, "c"), V("b", Tri::kYes, "b"), V("c", Tri::kYes, "c")}});
  d.Finish();
  ASSERT_EQ(d.episodes().size(), 2u);
  EXPECT_EQ(d.episodes()[1].nodes, (std::vector<std::string>{"b", "c"}));
}

TEST(E2eVip, TwoHoldersInOneListingIsAViolation) {
  VipDetector v;
  EXPECT_FALSE(v.Feed(1, {"server1"}));
  EXPECT_FALSE(v.Feed(2, {}));
  EXPECT_FALSE(v.Feed(3, {"server2", "server2"}));  // duplicates are one holder
  EXPECT_TRUE(v.Feed(4, {"server2", "server1"}));
  EXPECT_TRUE(v.Feed(5, {"server1", "server2"}));
  EXPECT_FALSE(v.Feed(6, {"server1"}));
  v.Finish();
  ASSERT_EQ(v.episodes().size(), 1u);
  EXPECT_EQ(v.episodes()[0].samples, 2);
  EXPECT_EQ(v.episodes()[0].firstMs, 4);
  EXPECT_EQ(v.episodes()[0].lastMs, 5);
  EXPECT_EQ(v.samples(), 6);
}

TEST(E2eFormat, Ms) {
  EXPECT_EQ(FormatMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatMs(1790000000123), "2026-09-21T14:13:20.123Z");
}

}  // namespace
}  // namespace pgvigil::e2e
