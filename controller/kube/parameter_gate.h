// Whether a generation of a PostgresCluster that the converter and validator
// accepted is taken into use, as far as its postgres.parameters go
// (KUBERNETES.md §3: a bad custom resource changes nothing in the running
// cluster). A generation whose parameters differ from the spec in force is
// checked first by a sidecar against its PostgreSQL's pg_settings
// (KubeActuator::CheckCandidate, in the acting controller's next round); until
// the verdict it is neither accepted nor refused, and nothing of it moves: not
// the members or replicas (kube_scale.h), not the owned objects the rollout
// follows (kube_rollout.h), not status.acceptedGeneration, not the spec the
// planner and requests act on. Refused, it is held exactly like a generation
// the converter refused, until a newer generation replaces it.
// Pure; thread-safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgvigil::kube {

// The acting controller's check of one generation's postgres.parameters.
struct ParameterVerdict {
  enum class Outcome {
    kPassed,     // a sidecar found PostgreSQL would take them (or they equal the spec in force)
    kUnchecked,  // no sidecar could check (none running, older sidecars): applied unchecked
    kRefused,    // a sidecar found PostgreSQL would refuse one
  };
  int64_t generation = 0;
  Outcome outcome = Outcome::kPassed;
  std::string node;    // the sidecar that answered ("" for none)
  std::string detail;  // kRefused: "spec.postgres.parameters.work_mem: <why>"; else what was found
};
const char* ToString(ParameterVerdict::Outcome o);

struct ParameterGateInputs {
  int64_t generation = 0;
  // A Reconciler runs an accepted spec already: false for the first
  // generation this process accepts (there is nothing running to check against).
  bool running = false;
  // The generation's postgres.parameters differ from the spec in force.
  bool parametersChanged = false;
  // status.acceptedGeneration as the resource shows it (-1: absent): written
  // only by the acting controller, after its own acceptance.
  int64_t statusAccepted = -1;
  // The actuator's verdict on this generation, when it has one.
  std::optional<ParameterVerdict> verdict;
};

struct ParameterGateDecision {
  enum class Kind {
    kAccept,   // taken into use
    kPending,  // waiting for the acting controller's check; nothing moves
    kRefuse,   // held: the spec in force stays
  } kind = Kind::kPending;
  std::string reason;  // logged with the decision
};
const char* ToString(ParameterGateDecision::Kind k);

// In this order: the first spec of this process is taken as is; unchanged
// parameters need no check; a generation the status shows accepted (by the
// acting controller, maybe another one) is followed; then the verdict: passed
// or unchecked accept, refused refuses; without one it is pending.
ParameterGateDecision DecideParameterGate(const ParameterGateInputs& in);

}  // namespace pgvigil::kube
