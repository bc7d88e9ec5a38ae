#include "controller/kube/parameter_gate.h"

namespace pgvigil::kube {

const char* ToString(ParameterVerdict::Outcome o) {
  switch (o) {
    case ParameterVerdict::Outcome::kPassed: return "passed";
    case ParameterVerdict::Outcome::kUnchecked: return "unchecked";
    case ParameterVerdict::Outcome::kRefused: return "refused";
  }
  return "?";
}

const char* ToString(ParameterGateDecision::Kind k) {
  switch (k) {
    case ParameterGateDecision::Kind::kAccept: return "accept";
    case ParameterGateDecision::Kind::kPending: return "pending";
    case ParameterGateDecision::Kind::kRefuse: return "refuse";
  }
  return "?";
}

ParameterGateDecision DecideParameterGate(const ParameterGateInputs& in) {
  using Kind = ParameterGateDecision::Kind;
  using Outcome = ParameterVerdict::Outcome;
  const std::string g = "generation " + std::to_string(in.generation);
  if (!in.running) return {Kind::kAccept, g + ": nothing of this cluster runs here yet to check postgres.parameters against"};
  if (!in.parametersChanged) return {Kind::kAccept, g + ": postgres.parameters as in the spec in force"};
  if (in.statusAccepted >= in.generation)
    return {Kind::kAccept, g + ": status.acceptedGeneration " + std::to_string(in.statusAccepted) +
                               " shows the acting controller accepted it"};
  if (in.verdict && in.verdict->generation == in.generation) {
    const ParameterVerdict& v = *in.verdict;
    const std::string by = v.node.empty() ? "" : " (checked by " + v.node + ")";
    switch (v.outcome) {
      case Outcome::kPassed:
        return {Kind::kAccept, g + ": postgres.parameters checked" + by + ": " + v.detail};
      case Outcome::kUnchecked:
        return {Kind::kAccept, g + ": no sidecar could check postgres.parameters, taken unchecked (the sidecars "
                                   "refuse what their PostgreSQL would not take): " + v.detail};
      case Outcome::kRefused:
        return {Kind::kRefuse, g + ": postgres.parameters refused" + by + ": " + v.detail};
    }
  }
  return {Kind::kPending, g + ": postgres.parameters changed; waiting for the acting controller to have a sidecar "
                              "check them (nothing of this generation is used until then)"};
}

}  // namespace pgvigil::kube
