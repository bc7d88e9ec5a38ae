// The controller's durable state as the JSON document stored in the watchdog's
// cluster-state register (at most 1024 bytes there, so keys are short) and back.
// Pure. A document of another format version is refused, never half-read.
#pragma once

#include <cpprest/json.h>

#include "common/result.h"
#include "controller/plan/cluster_state.h"

namespace pgvigil {

constexpr int kStateFormatVersion = 1;

web::json::value EncodeClusterState(const plan::ClusterState& s);
// A null document (register never written) decodes to an empty state.
Result<plan::ClusterState> DecodeClusterState(const web::json::value& doc);

}  // namespace pgvigil
