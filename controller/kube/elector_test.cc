// The Lease elector's I/O against kube-fake (the API-server test double, not
// Kubernetes), with short durations: two electors and one winner; a takeover
// only after the winner stopped renewing for the lease duration; a paused
// leader that stops acting by its renew deadline, never at the same time as
// its successor, and steps down when it resumes; the epoch growing across
// takeovers and above every status.term known.
#include <gtest/gtest.h>

#include <thread>

#include "controller/kube/elector.h"
#include "controller/kube/kube_fake_env.h"
#include "controller/kube/kube_lease.h"

namespace pgvigil::kube {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class ElectorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.ok()) << env_.error(); }

  std::unique_ptr<LeaseElector> Make(const std::string& pod) {
    clients_.push_back(env_.Client());
    ElectorSettings s;
    s.ns = "pgvigil-system";
    s.identity = ElectorIdentity(pod);
    s.leaseDuration = milliseconds(1500);
    s.renewDeadline = milliseconds(1000);
    s.retryPeriod = milliseconds(200);
    return std::make_unique<LeaseElector>(clients_.back().get(), s);
  }
  Lease Read() {
    auto r = GetLease(reader_.get(), "pgvigil-system", "pgvigil-controller");
    EXPECT_TRUE(r.ok() && r->reply.ok()) << (r.ok() ? r->reply.Describe() : r.error());
    return r.ok() ? r->lease : Lease{};
  }
  // Waits until `pred` or `limit`; meanwhile fails the test whenever both act
  // (a and b the same: just waits).
  template <typename P>
  bool WaitWhileSafe(P pred, LeaseElector& a, LeaseElector& b, milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (&a != &b) {
        EXPECT_FALSE(a.MayAct() && b.MayAct()) << "two controllers acting at once";
      }
      if (pred()) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return pred();
  }

  testing_util::KubeFakeEnv env_;
  std::vector<std::unique_ptr<KubeClient>> clients_;
  std::unique_ptr<KubeClient> reader_ = env_.ok() ? env_.Client() : nullptr;
};

TEST_F(ElectorTest, OfTwoElectorsOneWins) {
  auto a = Make("ctl-a"), b = Make("ctl-b");
  a->Start();
  b->Start();
  ASSERT_TRUE(WaitWhileSafe([&] { return a->MayAct() || b->MayAct(); }, *a, *b, milliseconds(5000)));
  // Still exactly one after several renewals.
  WaitWhileSafe([] { return false; }, *a, *b, milliseconds(1000));
  LeaseElector& winner = a->MayAct() ? *a : *b;
  LeaseElector& loser = a->MayAct() ? *b : *a;
  EXPECT_EQ(loser.role(), ElectorRole::kCandidate);
  Lease l = Read();
  EXPECT_EQ(l.holderIdentity, winner.identity());
  EXPECT_EQ(l.annotations[kEpochAnnotation], "1");
  EXPECT_EQ(winner.ActingTerm(), 1u);
  EXPECT_EQ(loser.ActingTerm(), 0u);
  EXPECT_TRUE(winner.StillActing(1));
  EXPECT_FALSE(winner.StillActing(2));
}

TEST_F(ElectorTest, TheLoserTakesOverOnlyAfterTheWinnerStopsRenewing) {
  auto a = Make("ctl-a");
  a->Start();
  ASSERT_TRUE(WaitWhileSafe([&] { return a->MayAct(); }, *a, *a, milliseconds(5000)));
  auto b = Make("ctl-b");
  b->Start();
  // While a renews, b never takes over (several lease durations).
  WaitWhileSafe([] { return false; }, *a, *b, milliseconds(4000));
  EXPECT_TRUE(a->MayAct());
  EXPECT_FALSE(b->MayAct());
  const int transitions = Read().leaseTransitions;
  a->Stop(false);  // a crash: no release
  const auto stopped = Clock::now();
  ASSERT_TRUE(WaitWhileSafe([&] { return b->MayAct(); }, *a, *b, milliseconds(6000)));
  // Not before the record stayed unchanged for the lease duration (1.5 s),
  // timed from a's last renewal, which a sent up to a retry period (plus the
  // call's own time) before it stopped: so well after a's acting ended, at
  // the latest its renew deadline (1 s) after it stopped.
  EXPECT_GE(Clock::now() - stopped, milliseconds(1000));
  Lease l = Read();
  EXPECT_EQ(l.holderIdentity, b->identity());
  EXPECT_EQ(l.annotations[kEpochAnnotation], "2");
  EXPECT_EQ(l.leaseTransitions, transitions + 1);
  EXPECT_EQ(b->ActingTerm(), 2u);
}

TEST_F(ElectorTest, APausedLeaderStopsActingByItsRenewDeadlineAndStepsDownWhenItResumes) {
  auto a = Make("ctl-a");
  a->Start();
  ASSERT_TRUE(WaitWhileSafe([&] { return a->MayAct(); }, *a, *a, milliseconds(5000)));
  auto b = Make("ctl-b");
  b->Start();
  std::this_thread::sleep_for(milliseconds(500));
  a->PauseForTest(true);  // as SIGSTOP: no more calls
  const auto paused = Clock::now();
  ASSERT_TRUE(WaitWhileSafe([&] { return !a->MayAct(); }, *a, *b, milliseconds(3000)));
  // The deadline counts from its last renewal, sent before the pause, so
  // acting lapses at most 1 s after it; the rest is this poll's scheduling.
  EXPECT_LE(Clock::now() - paused, milliseconds(1000 + 500));
  ASSERT_TRUE(WaitWhileSafe([&] { return b->MayAct(); }, *a, *b, milliseconds(6000)));
  EXPECT_EQ(b->ActingTerm(), 2u);
  a->PauseForTest(false);  // resumes: its renewal meets 409, it reads b's Lease
  ASSERT_TRUE(WaitWhileSafe([&] { return a->role() == ElectorRole::kCandidate; }, *a, *b, milliseconds(3000)));
  WaitWhileSafe([] { return false; }, *a, *b, milliseconds(1000));
  EXPECT_FALSE(a->MayAct());
  EXPECT_TRUE(b->MayAct());
  EXPECT_EQ(Read().holderIdentity, b->identity());
}

TEST_F(ElectorTest, TheEpochGrowsAcrossTakeoversAndAboveEveryKnownTerm) {
  auto a = Make("ctl-a");
  a->Start();
  ASSERT_TRUE(WaitWhileSafe([&] { return a->MayAct(); }, *a, *a, milliseconds(5000)));
  EXPECT_EQ(a->ActingTerm(), 1u);
  auto b = Make("ctl-b");
  b->Start();
  std::this_thread::sleep_for(milliseconds(300));
  a->Stop(true);  // a release: b takes it at its next poll, no lease duration to wait
  const auto released = Clock::now();
  ASSERT_TRUE(WaitWhileSafe([&] { return b->MayAct(); }, *a, *b, milliseconds(3000)));
  EXPECT_LT(Clock::now() - released, milliseconds(1500));
  EXPECT_EQ(b->ActingTerm(), 2u);
  // c knows a cluster whose status.term is 10 (written by a leader whose
  // Lease epoch was since lost): its epoch goes above it.
  auto c = Make("ctl-c");
  c->NoteTerm(10);
  c->Start();
  b->Stop(true);
  ASSERT_TRUE(WaitWhileSafe([&] { return c->MayAct(); }, *b, *c, milliseconds(3000)));
  EXPECT_EQ(c->ActingTerm(), 11u);
  Lease l = Read();
  EXPECT_EQ(l.annotations[kEpochAnnotation], "11");
  // A deposed leader stops at once and campaigns above the newer term.
  c->Deposed(20);
  EXPECT_FALSE(c->MayAct());
  ASSERT_TRUE(WaitWhileSafe([&] { return c->MayAct(); }, *c, *c, milliseconds(5000)));
  EXPECT_EQ(c->ActingTerm(), 21u);
}

}  // namespace
}  // namespace pgvigil::kube
