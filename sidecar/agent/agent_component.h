// The node agent: REST API (status, probes, metrics, node operations), the
// health checker and term fencing. Owns its threads; Start() once, Stop() once.
#pragma once

#include <memory>
#include <vector>

#include "sidecar/component.h"

namespace pgvigil {

// parts: the other components (may include this one once pushed), whose Summary()
// appears in GET /v1/status. The vector must outlive the agent.
std::unique_ptr<Component> MakeAgentComponent(SidecarContext& ctx,
                                              std::vector<std::unique_ptr<Component>>* parts);

}  // namespace pgvigil
