// PUT /v1/node/spec on the sidecar (KUBERNETES.md §4.3; the body types are
// common/node_spec_push.h): what a pushed spec does to this node, and where the
// accepted copy is kept.
//
// CompareSpecs (pure): what a pushed spec changes against the running one and
// what of it can be taken into use live: spec.nodes one member at a time
// (below), spec.postgres.parameters by rewriting pgvigil.conf and reloading
// PostgreSQL (postgres_parameters.h; a restart-only setting then waits in
// pg_settings.pending_restart for the pod's rolling restart); nothing else.
//
// DecideSpecUpdate (pure), in order:
//  1. generation not above the one held: stale, nothing happens (200);
//  2. this node is not among the pushed nodes: refused (409 not_a_member), nothing
//     persisted. A node is never removed from under itself: the controller
//     takes a pod out of the membership and then deletes it, and a spec without
//     this node could not start it again;
//  3. anything besides spec.nodes and spec.postgres.parameters differs from the
//     spec running here: restartRequired naming the first differing path,
//     persisted (the next start takes it), nothing applied live;
//  4. spec.nodes differ in more than the last member (added or removed) or in
//     member names and order: restartRequired, field "spec.nodes", nothing
//     applied live. The watchdog changes its membership live one member at a
//     time only (watchdog README, "Membership changes"): majorities of N and
//     N+1 members overlap;
//  5. otherwise: applied (the members replaced live, and/or the parameters
//     written and reloaded) or unchanged; both persisted with the new generation.
// Validation (the spec file validator) happened while decoding the request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/node_spec_push.h"
#include "common/result.h"
#include "common/spec.h"
#include "sidecar/agent/parameter_check.h"
#include "sidecar/live_membership.h"

namespace pgvigil {

struct SpecUpdateDecision {
  int status = 200;               // 200, or 409 when refused
  std::string refusal;            // 409: the reason code (refusal::kNotAMember, common/agent_refusal.h)
  NodeSpecPushReply reply;        // 200: the body
  bool persist = false;           // store the pushed spec and its generation
  bool applyNodes = false;        // replace the live membership with the pushed nodes
  bool applyParameters = false;   // write the pushed postgres.parameters to pgvigil.conf and reload
};

struct SpecChange {
  // The first differing path besides spec.nodes and spec.postgres.parameters
  // ("spec.proxy.port"); "" when none.
  std::string other;
  bool nodes = false;      // spec.nodes differ
  bool nodesLive = false;  // ... by the last member only, or in hosts, ports or weights
  // Names added, changed or removed in spec.postgres.parameters, sorted.
  std::vector<std::string> parameters;
  bool any() const { return !other.empty() || nodes || !parameters.empty(); }
  // Everything that differs can be taken into use without a restart.
  bool live() const { return other.empty() && (!nodes || nodesLive); }
};
SpecChange CompareSpecs(const ClusterSpec& running, const ClusterSpec& pushed);

// running: the start-up spec with the members and parameters in use now; held:
// the generation held.
SpecUpdateDecision DecideSpecUpdate(const ClusterSpec& running, uint64_t held, const NodeSpecPush& push,
                                    const std::string& self);

// What applying a push's postgres.parameters came to on this node: the
// reload's error ("" when it reloaded or the server was not running), the
// settings PostgreSQL refused from pgvigil.conf (name, its error) and those
// waiting for a restart.
struct ParameterResult {
  std::string reloadError;
  std::vector<std::pair<std::string, std::string>> refused;
  std::vector<std::string> pendingRestart;
  bool failed() const { return !reloadError.empty() || !refused.empty(); }
};
// The reply of an applied push once its parameters were tried (pure): failed
// when the reload failed or PostgreSQL refused a setting (field: the first
// refused setting's path, else spec.postgres.parameters; the generation back
// to `held`, so the same push sent again is tried again); otherwise applied,
// naming what waits for a restart.
void FinishParameterReply(const ParameterResult& result, uint64_t held, NodeSpecPushReply* reply);

// Whether `next` differs from `current` by adding or removing the last member
// only (the others' names and order kept; hosts, ports and weights may change).
bool OneMemberAtTheEnd(const NodeList& current, const NodeList& next);

// The copy kept in the state directory (STATE/spec.json: {"generation", "spec"}).
struct StoredSpec {
  uint64_t generation = 0;
  ClusterSpec spec;
};
std::string StoredSpecPath(const std::string& state_dir);
Status SaveStoredSpec(const std::string& state_dir, const StoredSpec& s);
// nullopt when there is none; an error when it is there and does not read or
// validate (the caller says so and starts from its file).
Result<std::optional<StoredSpec>> LoadStoredSpec(const std::string& state_dir, const SpecParseOptions& options = {});

// At start: the newer of the spec file (its generation: SpecFileGeneration) and
// the stored copy, by generation; the file on a tie. Pure.
struct StartSpec {
  ClusterSpec spec;
  uint64_t generation = 0;
  bool fromStore = false;
  // postgres.parameters of the chosen spec left out of this start (refused
  // by PostgreSQL in an earlier push, or by PostgreSQL reading them before
  // the start), with the value and why: the sidecar's status shows them
  // (postgres.parameters.setAside) until a spec's parameters take.
  std::vector<ParameterProblem> setAside;
};
StartSpec ChooseStartSpec(const ClusterSpec& file_spec, uint64_t file_generation,
                          const std::optional<StoredSpec>& stored);

}  // namespace pgvigil
