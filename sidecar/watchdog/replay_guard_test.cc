#include "sidecar/watchdog/replay_guard.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace watchdog {
namespace {

TEST(ReplayGuard, AcceptsEachSequenceOnce) {
  ReplayGuard g(3);
  EXPECT_EQ(g.Check(1, 100), DropReason::kNone);
  EXPECT_EQ(g.Check(1, 100), DropReason::kReplayed);
  EXPECT_EQ(g.Check(1, 101), DropReason::kNone);
  EXPECT_EQ(g.Check(1, 101), DropReason::kReplayed);
}

TEST(ReplayGuard, ToleratesReorderingInsideTheWindow) {
  ReplayGuard g(3);
  EXPECT_EQ(g.Check(0, 10), DropReason::kNone);
  EXPECT_EQ(g.Check(0, 13), DropReason::kNone);
  EXPECT_EQ(g.Check(0, 12), DropReason::kNone);
  EXPECT_EQ(g.Check(0, 11), DropReason::kNone);
  EXPECT_EQ(g.Check(0, 12), DropReason::kReplayed);
  EXPECT_EQ(g.Check(0, 10 + 200), DropReason::kNone);
  EXPECT_EQ(g.Check(0, 13), DropReason::kStale);
  EXPECT_EQ(g.Check(0, 210 - 63), DropReason::kNone);
  EXPECT_EQ(g.Check(0, 210 - 64), DropReason::kStale);
}

TEST(ReplayGuard, SendersAreIndependent) {
  ReplayGuard g(3);
  EXPECT_EQ(g.Check(0, 5), DropReason::kNone);
  EXPECT_EQ(g.Check(2, 5), DropReason::kNone);
  EXPECT_EQ(g.Check(3, 5), DropReason::kUnknownMember);
}

TEST(ReplayGuard, ARestartedSenderWithANewIncarnationIsAccepted) {
  ReplayGuard g(2);
  SequenceCounter first(1);
  uint64_t a = first.Next(), b = first.Next();
  EXPECT_EQ(g.Check(1, a), DropReason::kNone);
  EXPECT_EQ(g.Check(1, b), DropReason::kNone);
  SequenceCounter second(2);
  EXPECT_EQ(g.Check(1, second.Next()), DropReason::kNone);
  EXPECT_EQ(g.Check(1, b), DropReason::kStale);  // the old incarnation replayed
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil
