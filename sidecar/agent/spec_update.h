// PUT /v1/node/spec on the sidecar (KUBERNETES.md §4.3; the body types are
// common/node_spec_push.h): what a pushed spec does to this node, and where the
// accepted copy is kept.
//
// DecideSpecUpdate (pure), in order:
//  1. generation not above the one held: stale, nothing happens (200);
//  2. this node is not among the pushed nodes: refused (409 not_a_member), nothing
//     persisted. A node is never removed from under itself: the controller
//     takes a pod out of the membership and then deletes it, and a spec without
//     this node could not start it again;
//  3. anything besides spec.nodes differs from the spec running here:
//     restartRequired naming the first differing path, persisted (the next start
//     takes it), nothing applied live;
//  4. spec.nodes differ in more than the last member (added or removed) or in
//     member names and order: restartRequired, field "spec.nodes". The watchdog
//     changes its membership live one member at a time only (watchdog README,
//     "Membership changes"): majorities of N and N+1 members overlap;
//  5. otherwise: applied (the members are replaced live) or unchanged; both
//     persisted with the new generation.
// Validation (the spec file validator) happened while decoding the request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/node_spec_push.h"
#include "common/result.h"
#include "common/spec.h"
#include "sidecar/live_membership.h"

namespace pgvigil {

struct SpecUpdateDecision {
  int status = 200;               // 200, or 409 when refused
  std::string refusal;            // 409: the "reason" code ("not_a_member")
  NodeSpecPushReply reply;        // 200: the body
  bool persist = false;           // store the pushed spec and its generation
  bool applyNodes = false;        // replace the live membership with the pushed nodes
};

// running: the start-up spec with the members now; held: the generation held.
SpecUpdateDecision DecideSpecUpdate(const ClusterSpec& running, uint64_t held, const NodeSpecPush& push,
                                    const std::string& self);

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
};
StartSpec ChooseStartSpec(const ClusterSpec& file_spec, uint64_t file_generation,
                          const std::optional<StoredSpec>& stored);

}  // namespace pgvigil
