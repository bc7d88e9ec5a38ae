// Test fixtures for the planner: a small world (spec, observation, durable
// state, inputs) that starts as a healthy three-node cluster, edits that model
// failures, a one-line rendering of a plan's actions for exact comparison, and
// a toy executor that applies a plan's effects to the world so multi-step
// plans (failover, switchover, sync changes) can be driven call after call.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>

#include "controller/plan/planner.h"

namespace pgvigil::plan::testing {

constexpr TimeMs kNow = 1'000'000;
constexpr Lsn kMB = 1 << 20;

struct World {
  ClusterSpec spec;
  Observation obs;
  ClusterState state;
  PlanInputs in;

  NodeObservation& N(const std::string& name);
  NodeSpec& S(const std::string& name);
  Plan Run() const { return MakePlan(spec, obs, state, in); }

  // Failure models (consensus: every live member but the node's own sees it down).
  void Crash(const std::string& name);   // host gone: PostgreSQL and sidecar unreachable
  void PgDown(const std::string& name);  // PostgreSQL stopped, sidecar answers
  void SeenDownBy(const std::string& name, int members);
  void AddNode(const std::string& name);  // to the spec (not observed)
};

// a = primary (timeline 1, LSN 100MB), b and c streaming standbys fully caught
// up; watchdog leader a with quorum, three live members; state recorded and
// routing generation 5 everywhere.
World Healthy3();
// Same with sync mode: ssn `ANY 1 ("b", "c")` in effect and recorded.
World HealthySync3(int count = 1);

// "fence a | write-state | publish-routing -:b,c | stop a | promote b".
std::string Render(const Plan& plan);
std::string Render(const Action& a);

// Applies the plan's effects as a perfect actor and agent would.
void Apply(World& w, const Plan& plan);

Operation Op(OperationKind kind, OperationState state);

// One row of a scenario table: edit the base world, plan, compare.
struct Scenario {
  const char* name;
  std::function<void(World&)> setup;
  std::string actions;  // Render(plan)
  Phase phase;
  Outcome outcome;
  std::function<void(const World&, const Plan&)> check = nullptr;
};
void PrintTo(const Scenario& s, std::ostream* os);
// Runs one row against `base` with gtest expectations (and every action has a reason).
void RunScenario(const Scenario& sc, World base);
inline std::string ScenarioName(const ::testing::TestParamInfo<Scenario>& info) {
  return info.param.name;
}

inline constexpr Phase H = Phase::kHealthy, F = Phase::kFailingOver, S = Phase::kSwitchover,
                       R = Phase::kRecovering, D = Phase::kDegraded, Q = Phase::kNoQuorum;
inline constexpr Outcome DONE = Outcome::kDone, AGAIN = Outcome::kRequeueAfter,
                         OPWAIT = Outcome::kWaitForOperation;

}  // namespace pgvigil::plan::testing
