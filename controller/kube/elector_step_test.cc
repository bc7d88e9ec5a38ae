// The Lease election's pure steps (elector_step.h): scripts of (time, the call
// the core must ask for, what that call brought back) and what must hold
// after each step. Nothing on the wire.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "controller/kube/elector_step.h"

namespace pgvigil::kube {
namespace {

using Kind = ElectorCall::Kind;
using Code = LeaseOutcome::Code;

ElectorSettings Settings() {
  ElectorSettings s;
  s.ns = "pgvigil-system";
  s.identity = "ctl-a-1f2e";
  return s;  // 15 s lease, 10 s renew deadline, 2 s retry
}

Lease Record(const std::string& holder, const std::string& rv, uint64_t epoch, int transitions = 3,
             const std::string& renew = "2026-12-05T10:00:00.000000Z") {
  Lease l;
  l.ns = "pgvigil-system";
  l.name = "pgvigil-controller";
  l.holderIdentity = holder;
  l.leaseDurationSeconds = 15;
  l.renewTime = renew;
  l.leaseTransitions = transitions;
  l.resourceVersion = rv;
  l.annotations[kEpochAnnotation] = std::to_string(epoch);
  return l;
}

// One step: at `now` the core must ask for `expect`; when it is a call, it is
// answered at now + `latency` with `code` (and `lease`, or the call's own body
// with `rv` when lease is empty). Then role and MayAct(answer time) are checked.
struct Step {
  int64_t now;
  Kind expect;
  Code code = Code::kOk;
  std::optional<Lease> lease;
  ElectorRole role = ElectorRole::kCandidate;
  bool mayAct = false;
  int64_t latency = 0;
  std::string rv = "";
};

// Runs a script; returns the calls made (for body checks).
std::vector<ElectorCall> Drive(ElectorCore* core, const std::vector<Step>& steps) {
  std::vector<ElectorCall> calls;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + " at " + std::to_string(s.now));
    ElectorCall c = core->Next(s.now, "2026-12-05T10:00:01.000000Z");
    EXPECT_EQ(ToString(c.kind), std::string(ToString(s.expect)));
    calls.push_back(c);
    const int64_t answered = s.now + s.latency;
    if (c.kind != Kind::kWait) {
      LeaseOutcome out;
      out.code = s.code;
      if (s.code == Code::kOk) {
        out.lease = s.lease ? *s.lease : c.lease;
        if (!s.lease) out.lease.resourceVersion = s.rv.empty() ? std::to_string(100 + i) : s.rv;
      }
      core->OnOutcome(c, out, s.now, answered);
    }
    EXPECT_EQ(ToString(core->role()), std::string(ToString(s.role)));
    EXPECT_EQ(core->MayAct(answered), s.mayAct);
  }
  return calls;
}

TEST(ElectorStep, EpochAnnotationParsing) {
  struct Case {
    const char* text;
    uint64_t epoch;
  } cases[] = {{"", 0}, {"abc", 0}, {"12", 12}, {"-1", 0}, {"1e3", 0}, {"99999999999999999999", 0}, {"007", 7}};
  for (const auto& c : cases) {
    Lease l;
    l.annotations[kEpochAnnotation] = c.text;
    EXPECT_EQ(LeaseEpoch(l), c.epoch) << c.text;
  }
  EXPECT_EQ(LeaseEpoch(Lease{}), 0u);
}

TEST(ElectorStep, MissingLeaseIsCreatedWithAnEpochAboveEveryKnownTerm) {
  ElectorCore core(Settings());
  core.NoteTerm(7);
  auto calls = Drive(&core, {
                              {0, Kind::kGet, Code::kNotFound},
                              {0, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                          });
  const Lease& body = calls[1].lease;
  EXPECT_EQ(body.holderIdentity, "ctl-a-1f2e");
  EXPECT_EQ(body.leaseDurationSeconds, 15);
  EXPECT_EQ(body.leaseTransitions, 0);
  EXPECT_EQ(body.annotations.at(kEpochAnnotation), "8");
  EXPECT_EQ(body.acquireTime, "2026-12-05T10:00:01.000000Z");
  EXPECT_EQ(core.epoch(), 8u);
}

TEST(ElectorStep, CreateLosingTheRaceReadsTheWinnersLease) {
  ElectorCore core(Settings());
  Drive(&core, {
                 {0, Kind::kGet, Code::kNotFound},
                 {0, Kind::kCreate, Code::kConflict},  // 409 AlreadyExists
                 {5, Kind::kGet, Code::kOk, Record("ctl-b", "41", 3)},
                 {6, Kind::kWait},
                 {2005, Kind::kGet, Code::kOk, Record("ctl-b", "41", 3)},
             });
  EXPECT_EQ(core.known().holderIdentity, "ctl-b");
}

TEST(ElectorStep, CandidateTakesOverOnlyAfterTheRecordStaysUnchangedForTheLeaseDuration) {
  ElectorCore core(Settings());
  core.NoteTerm(4);  // a cluster's status.term: above the Lease's epoch 3
  auto calls = Drive(&core, {
                              {0, Kind::kGet, Code::kOk, Record("ctl-b", "50", 3)},
                              // the holder renews at 2 s: the timer restarts at 4000
                              {2000, Kind::kGet, Code::kOk, Record("ctl-b", "51", 3, 3, "t2")},
                              {4000, Kind::kGet, Code::kOk, Record("ctl-b", "51", 3, 3, "t2")},
                              {16000, Kind::kGet, Code::kOk, Record("ctl-b", "51", 3, 3, "t2")},  // 14 s
                              {17000, Kind::kWait},
                              {18000, Kind::kGet, Code::kOk, Record("ctl-b", "51", 3, 3, "t2")},  // 16 s
                              {18000, Kind::kAcquire, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                          });
  const Lease& body = calls.back().lease;
  EXPECT_EQ(body.resourceVersion, "51");  // the CAS precondition: the record read
  EXPECT_EQ(body.holderIdentity, "ctl-a-1f2e");
  EXPECT_EQ(body.leaseTransitions, 4);
  EXPECT_EQ(body.annotations.at(kEpochAnnotation), "5");  // max(3, 4) + 1
  EXPECT_EQ(core.epoch(), 5u);
}

TEST(ElectorStep, TheExpiryTimerStartsWhenTheChangeArrivesNotWhenTheReadWasSent) {
  ElectorCore core(Settings());
  Drive(&core, {
                 {0, Kind::kGet, Code::kOk, Record("ctl-b", "60", 9), ElectorRole::kCandidate, false, 1500},
                 {3500, Kind::kGet, Code::kOk, Record("ctl-b", "60", 9)},
                 {15500, Kind::kGet, Code::kOk, Record("ctl-b", "60", 9)},  // 14 s after 1500
                 {17500, Kind::kGet, Code::kOk, Record("ctl-b", "60", 9)},
                 {17500, Kind::kAcquire, Code::kConflict},  // lost: someone wrote meanwhile
                 {17600, Kind::kGet, Code::kOk, Record("ctl-c", "61", 10)},
                 {17600, Kind::kWait},
             });
  EXPECT_EQ(core.role(), ElectorRole::kCandidate);
}

TEST(ElectorStep, AReleasedLeaseIsTakenAtOnce) {
  ElectorCore core(Settings());
  Lease released = Record("", "70", 12);
  released.leaseDurationSeconds = 1;
  auto calls = Drive(&core, {
                              {0, Kind::kGet, Code::kOk, released},
                              {0, Kind::kAcquire, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                          });
  EXPECT_EQ(calls[1].lease.annotations.at(kEpochAnnotation), "13");
}

TEST(ElectorStep, LeaderActsOnlyUntilTheRenewDeadlineAfterItSentItsLastSuccessfulRenewal) {
  ElectorCore core(Settings());
  Drive(&core, {
                 {0, Kind::kGet, Code::kNotFound},
                 {0, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                 {1000, Kind::kWait, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                 // sent at 2000, answered 3 s later: the deadline counts from 2000
                 {2000, Kind::kRenew, Code::kOk, std::nullopt, ElectorRole::kLeader, true, 3000},
                 {5000, Kind::kRenew, Code::kFailed, std::nullopt, ElectorRole::kLeader, true},
                 {5500, Kind::kRenew, Code::kFailed, std::nullopt, ElectorRole::kLeader, true, 6499},
                 // 11999 - 2000 < 10000; at 12499 it has lapsed
                 {12499, Kind::kRenew, Code::kFailed, std::nullopt, ElectorRole::kLeader, false},
                 // a renewal that still succeeds (nobody took over: the CAS held) resumes acting
                 {12999, Kind::kRenew, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
             });
  EXPECT_TRUE(core.MayAct(22998));
  EXPECT_FALSE(core.MayAct(22999));
}

TEST(ElectorStep, RenewConflictReadsAndStopsWhenAnotherHolds) {
  ElectorCore core(Settings());
  auto calls = Drive(&core, {
                              {0, Kind::kGet, Code::kNotFound},
                              {0, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true, 0, "80"},
                              {2000, Kind::kRenew, Code::kConflict, std::nullopt, ElectorRole::kLeader, true},
                              {2000, Kind::kGet, Code::kOk, Record("ctl-b", "90", 2), ElectorRole::kCandidate},
                          });
  EXPECT_EQ(calls[2].lease.resourceVersion, "80");
  EXPECT_EQ(core.epoch(), 0u);
}

TEST(ElectorStep, RenewConflictOnOurOwnRecordRenewsOnTheNewVersion) {
  ElectorCore core(Settings());
  Lease ours = Record("ctl-a-1f2e", "95", 1);
  auto calls = Drive(&core, {
                              {0, Kind::kGet, Code::kNotFound},
                              {0, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true, 0, "94"},
                              {2000, Kind::kRenew, Code::kConflict, std::nullopt, ElectorRole::kLeader, true},
                              {2000, Kind::kGet, Code::kOk, ours, ElectorRole::kLeader, true},
                              {2000, Kind::kRenew, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                          });
  EXPECT_EQ(calls[4].lease.resourceVersion, "95");
}

TEST(ElectorStep, DeposedLeaderStopsAtOnceAndCampaignsAboveTheNewerTerm) {
  ElectorCore core(Settings());
  Drive(&core, {
                 {0, Kind::kGet, Code::kNotFound},
                 {0, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true, 0, "10"},
             });
  EXPECT_EQ(core.epoch(), 1u);
  EXPECT_NE(core.Deposed(6, 100), "");
  EXPECT_FALSE(core.MayAct(100));
  EXPECT_EQ(core.role(), ElectorRole::kCandidate);
  // Our own stale record must still expire before we take it again, above 6.
  auto calls = Drive(&core, {
                              {2100, Kind::kGet, Code::kOk, Record("ctl-a-1f2e", "10", 1)},
                              {17100, Kind::kGet, Code::kOk, Record("ctl-a-1f2e", "10", 1)},
                              {17100, Kind::kAcquire, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                          });
  EXPECT_EQ(calls.back().lease.annotations.at(kEpochAnnotation), "7");
}

TEST(ElectorStep, ALeaderRaisesItsEpochByItsNextRenewalWhenAsked) {
  ElectorCore core(Settings());
  Drive(&core, {
                 {0, Kind::kGet, Code::kNotFound},
                 {0, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true, 0, "20"},
             });
  ASSERT_EQ(core.epoch(), 1u);
  EXPECT_EQ(core.RaiseEpochAbove(0, 500), "") << "already above 0";
  // An instance fenced itself in term 1: raise above 1, at once (not at 2000).
  EXPECT_NE(core.RaiseEpochAbove(1, 500), "");
  EXPECT_EQ(core.RaiseEpochAbove(1, 600), "") << "asked once";
  auto calls = Drive(&core, {
                              {600, Kind::kRenew, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                          });
  EXPECT_EQ(calls[0].lease.annotations.at(kEpochAnnotation), "2");
  EXPECT_EQ(calls[0].lease.resourceVersion, "20");  // the same CAS as every renewal
  EXPECT_EQ(core.epoch(), 2u);
  // The next renewal keeps it.
  calls = Drive(&core, {{2600, Kind::kRenew, Code::kOk, std::nullopt, ElectorRole::kLeader, true}});
  EXPECT_EQ(calls[0].lease.annotations.at(kEpochAnnotation), "2");
  EXPECT_EQ(core.epoch(), 2u);
}

TEST(ElectorStep, ARaiseAlsoGoesAboveEveryStatusTermSeenAndSurvivesALostReply) {
  ElectorCore core(Settings());
  Drive(&core, {
                 {0, Kind::kGet, Code::kNotFound},
                 {0, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true, 0, "30"},
             });
  core.NoteTerm(4);
  EXPECT_NE(core.RaiseEpochAbove(1, 100), "");
  // The raising renewal went through but its reply was lost; the next one
  // meets 409 and reads our own record with epoch 5: adopted, not a loss.
  Lease raised = Record("ctl-a-1f2e", "31", 5);
  auto calls = Drive(&core, {
                              {100, Kind::kRenew, Code::kFailed, std::nullopt, ElectorRole::kLeader, true},
                              {600, Kind::kRenew, Code::kConflict, std::nullopt, ElectorRole::kLeader, true},
                              {600, Kind::kGet, Code::kOk, raised, ElectorRole::kLeader, true},
                          });
  EXPECT_EQ(calls[0].lease.annotations.at(kEpochAnnotation), "5");  // max(1, 4, 1) + 1
  EXPECT_EQ(core.epoch(), 5u);
  // A candidate is not asked: only a leader raises its own epoch.
  ElectorCore other(Settings());
  EXPECT_EQ(other.RaiseEpochAbove(3, 0), "");
  EXPECT_EQ(other.epoch(), 0u);
}

TEST(ElectorStep, ReleaseKeepsTheEpochAndStops) {
  ElectorCore core(Settings());
  Drive(&core, {
                 {0, Kind::kGet, Code::kOk, Record("", "5", 41)},
                 {0, Kind::kAcquire, Code::kOk, std::nullopt, ElectorRole::kLeader, true, 0, "6"},
             });
  ElectorCall r = core.Release("2026-12-05T10:00:09.000000Z");
  EXPECT_EQ(r.kind, Kind::kRelease);
  EXPECT_EQ(r.lease.holderIdentity, "");
  EXPECT_EQ(r.lease.leaseDurationSeconds, 1);
  EXPECT_EQ(r.lease.resourceVersion, "6");
  EXPECT_EQ(r.lease.annotations.at(kEpochAnnotation), "42");
  EXPECT_EQ(core.role(), ElectorRole::kStopped);
  EXPECT_FALSE(core.MayAct(1));
  EXPECT_EQ(core.Next(5000, "").kind, Kind::kWait);
  // A candidate has nothing to release.
  ElectorCore idle(Settings());
  EXPECT_EQ(idle.Release("").kind, Kind::kWait);
}

TEST(ElectorStep, DeletedLeaseWhileLeadingStopsAndRecreates) {
  ElectorCore core(Settings());
  Drive(&core, {
                 {0, Kind::kGet, Code::kNotFound},
                 {0, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
                 {2000, Kind::kRenew, Code::kNotFound, std::nullopt, ElectorRole::kCandidate, false},
                 {2000, Kind::kCreate, Code::kOk, std::nullopt, ElectorRole::kLeader, true},
             });
  EXPECT_EQ(core.epoch(), 2u);  // above the epoch it held before
}

}  // namespace
}  // namespace pgvigil::kube
