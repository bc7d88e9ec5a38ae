// The controller's durable state as the cluster-state document of
// common/cluster_state_doc.h (stored in the watchdog's cluster-state register,
// read there by every proxy's write fence) and back. Pure. A document of another
// format version, or with a field of another type, is refused, never half-read.
#pragma once

#include <cpprest/json.h>

#include "common/cluster_state_doc.h"
#include "common/result.h"
#include "controller/plan/cluster_state.h"

namespace pgvigil {

ClusterStateDoc ToClusterStateDoc(const plan::ClusterState& s);
web::json::value EncodeClusterState(const plan::ClusterState& s);
// A null document (register never written) decodes to an empty state.
Result<plan::ClusterState> DecodeClusterState(const web::json::value& doc);

}  // namespace pgvigil
