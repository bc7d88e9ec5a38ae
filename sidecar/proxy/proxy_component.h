// The sidecar's PostgreSQL proxy: Component (lifecycle, summary) and ProxyApi
// (routing table, pause, pool_nodes). MakeProxyComponent also sets ctx.proxy.
#pragma once

#include <memory>

#include "sidecar/component.h"

namespace pgvigil {

std::unique_ptr<Component> MakeProxyComponent(SidecarContext& ctx);

}  // namespace pgvigil
