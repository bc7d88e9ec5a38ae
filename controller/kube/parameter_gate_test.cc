// DecideParameterGate (parameter_gate.h) as a table: a generation whose
// postgres.parameters changed is taken into use only with a passing (or
// impossible) check; refused or not yet checked, nothing of it is used.
#include "controller/kube/parameter_gate.h"

#include <gtest/gtest.h>

namespace pgvigil::kube {
namespace {

using Kind = ParameterGateDecision::Kind;
using Outcome = ParameterVerdict::Outcome;

ParameterVerdict Verdict(int64_t generation, Outcome o, std::string detail = "", std::string node = "demo-0") {
  ParameterVerdict v;
  v.generation = generation;
  v.outcome = o;
  v.detail = std::move(detail);
  v.node = std::move(node);
  return v;
}

TEST(ParameterGate, Table) {
  struct Case {
    const char* name;
    bool running, changed;
    int64_t statusAccepted;
    std::optional<ParameterVerdict> verdict;
    Kind want;
    const char* reasonHas;
  };
  const std::string bad = "spec.postgres.parameters.work_mem: value '-5' is outside the valid range";
  const Case cases[] = {
      {"TheFirstSpecOfThisProcessIsTakenAsIs", false, true, -1, std::nullopt, Kind::kAccept, "nothing of this cluster"},
      {"UnchangedParametersNeedNoCheck", true, false, 2, std::nullopt, Kind::kAccept, "as in the spec in force"},
      {"ChangedParametersWaitForTheCheck", true, true, 2, std::nullopt, Kind::kPending, "waiting for the acting"},
      {"AVerdictOnAnotherGenerationDoesNotCount", true, true, 2, Verdict(2, Outcome::kPassed), Kind::kPending,
       "waiting"},
      {"AnOlderRefusalDoesNotRefuseANewGeneration", true, true, 2, Verdict(3, Outcome::kRefused, bad), Kind::kPending,
       "waiting"},
      {"PassedIsAccepted", true, true, 2, Verdict(4, Outcome::kPassed, "would be taken"), Kind::kAccept,
       "checked (checked by demo-0)"},
      {"UncheckedIsAcceptedAsBefore", true, true, 2, Verdict(4, Outcome::kUnchecked, "none reachable", ""),
       Kind::kAccept, "taken unchecked"},
      {"RefusedIsHeld", true, true, 2, Verdict(4, Outcome::kRefused, bad), Kind::kRefuse,
       "refused (checked by demo-0): spec.postgres.parameters.work_mem"},
      {"TheStatusShowsItAcceptedByTheActingController", true, true, 4, std::nullopt, Kind::kAccept,
       "status.acceptedGeneration 4"},
      {"TheStatusShowsANewerOneAccepted", true, true, 5, std::nullopt, Kind::kAccept, "acceptedGeneration 5"},
      {"TheStatusShowsAnOlderOneAccepted", true, true, 3, std::nullopt, Kind::kPending, "waiting"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ParameterGateInputs in;
    in.generation = 4;
    in.running = c.running;
    in.parametersChanged = c.changed;
    in.statusAccepted = c.statusAccepted;
    in.verdict = c.verdict;
    const ParameterGateDecision d = DecideParameterGate(in);
    EXPECT_STREQ(ToString(d.kind), ToString(c.want)) << d.reason;
    EXPECT_NE(d.reason.find(c.reasonHas), std::string::npos) << d.reason;
    EXPECT_EQ(d.reason.rfind("generation 4: ", 0), 0u) << d.reason;
  }
}

}  // namespace
}  // namespace pgvigil::kube
