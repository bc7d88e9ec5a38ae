// A manually fenced primary (fenced_primary.h), as a table of observations.
#include "controller/kube/fenced_primary.h"

#include <gtest/gtest.h>

namespace pgvigil::kube {
namespace {

using plan::NodeObservation;
using plan::Operation;
using plan::OperationKind;
using plan::OperationState;
using S = FencedPrimaryStep;

TEST(FencedPrimaryTest, Table) {
  NodeObservation running;
  running.name = "demo-0";
  running.sidecarReachable = running.postgresRunning = running.pgReachable = true;
  NodeObservation stopped = running;
  stopped.postgresRunning = stopped.pgReachable = false;
  NodeObservation stopping = running;
  stopping.operation = Operation{"op1", OperationKind::kStop, OperationState::kRunning, "stop", 0, ""};
  NodeObservation starting = stopped;
  starting.operation = Operation{"op2", OperationKind::kStart, OperationState::kRunning, "start", 0, ""};
  NodeObservation start_failed = stopped;
  start_failed.operation = Operation{"op2", OperationKind::kStart, OperationState::kFailed, "", 0, "no"};
  NodeObservation started_not_answering = stopped;
  started_not_answering.postgresRunning = true;
  started_not_answering.operation = Operation{"op2", OperationKind::kStart, OperationState::kSucceeded, "", 100, ""};
  NodeObservation standby = running;
  standby.inRecovery = true;
  NodeObservation gone;
  gone.name = "demo-0";
  struct Case {
    const char* name;
    bool fenced, stoppedByUs;
    const NodeObservation* node;
    S want;
  };
  const Case cases[] = {
      {"not fenced, not stopped by us", false, false, &running, S::kNone},
      {"not fenced, down, not ours: the planner's", false, false, &stopped, S::kNone},
      {"fenced and running: stop", true, false, &running, S::kStop},
      {"fenced, stop running: hold", true, true, &stopping, S::kHold},
      {"fenced and stopped: hold", true, true, &stopped, S::kHold},
      {"fenced, unobserved: hold", true, true, nullptr, S::kHold},
      {"fenced, sidecar gone: hold", true, true, &gone, S::kHold},
      {"unfenced, stopped by us: start", false, true, &stopped, S::kStart},
      {"unfenced, starting: wait", false, true, &starting, S::kWait},
      {"unfenced, started, not answering yet: wait", false, true, &started_not_answering, S::kWait},
      {"unfenced, start failed: release", false, true, &start_failed, S::kRelease},
      {"unfenced, answers as primary: release", false, true, &running, S::kRelease},
      {"unfenced, sidecar gone: release", false, true, &gone, S::kRelease},
      {"unfenced, not observed: release", false, true, nullptr, S::kRelease},
      {"unfenced, answers as a standby: wait", false, true, &standby, S::kWait},
  };
  // Back as the primary while the health checks still see it down: released
  // now, the round would fail it over (found by kube_vigilctl_e2e, session 18).
  {
    std::string why;
    FencedPrimaryInputs in{false, true, &running};
    in.seenDownByMajority = true;
    EXPECT_EQ(DecideFencedPrimary(in, &why), S::kWait) << why;
    EXPECT_NE(why.find("waiting for the health checks"), std::string::npos) << why;
    in.node = &gone;  // its sidecar gone: the planner's, as before
    EXPECT_EQ(DecideFencedPrimary(in, &why), S::kRelease) << why;
  }
  for (const auto& c : cases) {
    std::string why;
    EXPECT_EQ(DecideFencedPrimary({c.fenced, c.stoppedByUs, c.node}, &why), c.want)
        << c.name << ": got " << ToString(DecideFencedPrimary({c.fenced, c.stoppedByUs, c.node}, &why)) << " ("
        << why << ")";
    if (c.want != S::kNone) {
      EXPECT_FALSE(why.empty()) << c.name;
    }
  }
}

}  // namespace
}  // namespace pgvigil::kube
