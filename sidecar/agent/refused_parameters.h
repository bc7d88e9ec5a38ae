// What keeps a refused postgres.parameters value away from the next start.
//
// When a push's parameters do not take (PostgreSQL would not accept them by
// pg_settings, or refused them at reload), the sidecar keeps its stored spec
// copy at the settings that took and writes STATE/refused-parameters.json:
// {"generation": G (the push that failed), "held": H (the generation held
// before and after it), "parameters": {name: the refused value}}. The spec
// file the pod reads at start (NAME-config in Kubernetes) may still carry the
// value; at start the sidecar sets it aside (SetAsideRefused), logging it,
// so PostgreSQL starts with the last settings that took, and holds H, so the
// controller's next push of G is tried rather than answered `stale`. The
// record goes once a push's parameters take.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "sidecar/agent/spec_update.h"

namespace pgvigil {

struct RefusedParameters {
  uint64_t generation = 0;
  uint64_t held = 0;
  std::map<std::string, std::string> parameters;
};

std::string RefusedParametersPath(const std::string& state_dir);
Status SaveRefusedParameters(const std::string& state_dir, const RefusedParameters& r);
// Nothing to do when there is none.
Status ClearRefusedParameters(const std::string& state_dir);
// nullopt when there is none; an error when it does not read.
Result<std::optional<RefusedParameters>> LoadRefusedParameters(const std::string& state_dir);

// Pure. The settings of `start` that hold a refused value are set aside: the
// parameters become the stored copy's (the last set that took; without one,
// those settings are dropped), any refused value left there dropped too, and
// the generation goes down to the one held before the failed push. Returns
// "name='value'" of each set aside (empty: `start` unchanged); each is also
// added to start->setAside with its reason.
std::vector<std::string> SetAsideRefused(StartSpec* start, const RefusedParameters& refused,
                                         const std::optional<StoredSpec>& stored);

// At start (sidecar main): the newer of the spec file and the stored copy
// (ChooseStartSpec; the file when the copy names another cluster or not
// `node`), refused values set aside; each step logged.
StartSpec ResolveStartSpec(const ClusterSpec& file_spec, uint64_t file_generation, const std::string& file_path,
                           const std::string& state_dir, const std::string& node);

}  // namespace pgvigil
