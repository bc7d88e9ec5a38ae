// STUB (owned by the node agent work, issue 5): replace with the REST server + agent.
#pragma once
#include <memory>
#include <vector>
#include "sidecar/component.h"
namespace pgvigil {
// parts: the other components, for their summaries in GET /v1/status.
std::unique_ptr<Component> MakeAgentComponent(SidecarContext& ctx,
                                              std::vector<std::unique_ptr<Component>>* parts);
}
