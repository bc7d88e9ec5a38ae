// PUT /v1/node/spec (KUBERNETES.md §4.3): the acting controller hands a sidecar
// the cluster spec it should run, under its term. One contract for both sides:
// the controller encodes the request and decodes the reply, the sidecar agent
// decodes the request and encodes the reply.
//
// Request  {"term": N, "generation": G, "spec": <the spec as SpecToJson writes it>}
// Reply    {"generation": G', "outcome": "applied"|"unchanged"|"stale"|"restartRequired"|"failed",
//           "restartRequired": bool, "field": "<first differing path>", "reason": "...",
//           "pendingRestart": ["<name>", ...] (only when not empty)}
//   applied         - only spec.nodes and/or spec.postgres.parameters differed:
//                     the membership is in use now, pgvigil.conf rewritten and
//                     PostgreSQL reloaded; pendingRestart names the settings
//                     PostgreSQL says wait for a restart (pg_settings.pending_restart);
//   unchanged       - the same spec (a newer generation is still recorded);
//   stale           - G is not newer than the generation this sidecar holds: nothing
//                     happens (not an error, a push may be repeated);
//   restartRequired - something besides spec.nodes and spec.postgres.parameters
//                     differs (`field` names the first such path), or the members
//                     by more than one: persisted, taken into use at the next start;
//   failed          - the new postgres.parameters did not take: the reload failed
//                     or PostgreSQL refused a setting (`field` names the first,
//                     "spec.postgres.parameters.work_mem"; `reason` has PostgreSQL's
//                     words). pgvigil.conf and the server are put back as they were
//                     and G' stays the generation held before, so the same push,
//                     sent again, is tried again (the controller does, with backoff).
//                     A push whose parameters PostgreSQL would not take by its
//                     pg_settings (an unknown name, 12XB, a value out of range)
//                     is answered `failed` before anything is stored or applied.
// G' is the generation the sidecar holds after the request.
// With "check": true the sidecar only checks the spec's postgres.parameters
// against its running server's pg_settings (sidecar/agent/parameter_check.h)
// and stores and applies nothing: `applied` when PostgreSQL would take them,
// `failed` naming the first it would not; HTTP 503 when it cannot look (its
// PostgreSQL is not running). The controller asks this before it writes
// NAME-config (kube_actuator_spec.cc).
// Generations: the controller's are (term << 24) + a per-term counter (KubeSpecGeneration),
// so a newer controller's are above any older one's; a spec file may carry its
// own as the metadata annotation pgvigil.io/spec-generation (SpecFileGeneration).
// Pure; thread-safe (no state).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/result.h"
#include "common/spec.h"
#include "common/spec_parser.h"

namespace pgvigil {

constexpr const char* kSpecGenerationAnnotation = "pgvigil.io/spec-generation";

struct NodeSpecPush {
  uint64_t term = 0;
  uint64_t generation = 0;
  ClusterSpec spec;
  bool check = false;  // only check the parameters (see above)
};

enum class SpecPushOutcome { kApplied, kUnchanged, kStale, kRestartRequired, kFailed };
const char* ToString(SpecPushOutcome o);

struct NodeSpecPushReply {
  uint64_t generation = 0;
  SpecPushOutcome outcome = SpecPushOutcome::kUnchanged;
  std::string field;   // kRestartRequired: the first differing path ("spec.proxy.port")
  std::string reason;  // one line for the log
  // kApplied with new postgres.parameters: what PostgreSQL reports waiting for a
  // restart after the reload (the pod's rolling restart takes them into use).
  std::vector<std::string> pendingRestart;
  bool restartRequired() const { return outcome == SpecPushOutcome::kRestartRequired; }
  bool failed() const { return outcome == SpecPushOutcome::kFailed; }
};

// A request body problem: the field at fault ("term", "spec.nodes[2].port") and why.
struct SpecPushError {
  std::string field;
  std::string reason;
};

web::json::value EncodeSpecPush(const NodeSpecPush& push);
// The spec is parsed and validated as a spec file is (secret files are not
// checked here: that is the caller's, with its own options).
Result<NodeSpecPush> DecodeSpecPush(const std::string& body, SpecPushError* error,
                                    const SpecParseOptions& options = {});

web::json::value EncodeSpecPushReply(const NodeSpecPushReply& reply);
Result<NodeSpecPushReply> DecodeSpecPushReply(const web::json::value& body);

// The first path ("spec.proxy.port", "metadata.name") where `a` and `b` differ,
// the subtrees at `paths` ("spec.nodes", "spec.postgres.parameters") left out;
// "" when they differ only there, or not at all.
std::string FirstDifferenceBesides(const ClusterSpec& a, const ClusterSpec& b, const std::set<std::string>& paths);
// FirstDifferenceBesides(a, b, {"spec.nodes"}).
std::string FirstDifferenceBesidesNodes(const ClusterSpec& a, const ClusterSpec& b);

// The generation a spec file's text carries (metadata.annotations
// pgvigil.io/spec-generation, a string of digits); 0 when it carries none or the
// text does not parse.
uint64_t SpecFileGeneration(const std::string& yaml_text);
// The spec file text with that annotation (SpecToYaml plus the annotation).
std::string SpecToYamlWithGeneration(const ClusterSpec& spec, uint64_t generation);

// The controller's generation for a spec rendered under `term`, the `count`-th
// change of this controller process (count < 2^24).
inline uint64_t KubeSpecGeneration(uint64_t term, uint64_t count) {
  return (term << 24) + (count & 0xFFFFFF);
}

}  // namespace pgvigil
