// Rows of `SHOW pool_nodes` (Pgpool-II 4.3 columns) from the routing snapshot,
// health view and select counters, and their wire encoding. Pure apart from
// reading the thread-safe counters.
#pragma once

#include <string>
#include <vector>

#include "sidecar/proxy/proxy_api.h"
#include "sidecar/proxy/proxy_shared.h"

namespace pgvigil::proxy {

// lb_node: the node this session balances reads to ("" for none).
std::vector<PoolNodeRow> BuildPoolNodes(const ProxyShared& shared, const EffectiveRouting& r,
                                        const std::string& lb_node);
// RowDescription + DataRows + CommandComplete("SHOW").
void EncodePoolNodes(const std::vector<PoolNodeRow>& rows, std::string* out);

}  // namespace pgvigil::proxy
