// Rows of `SHOW pool_nodes` (Pgpool-II 4.3 columns) from the routing snapshot,
// health view and select counters, and their wire encoding. Pure apart from
// reading the thread-safe counters. replication_state and replication_sync_state
// are, as in Pgpool-II, the state and sync_state the primary's
// pg_stat_replication gives a standby (the health checker's last look at the
// primary: "streaming", "catchup", ...); empty for the primary, for a standby
// that is down or that the primary does not report, and when the primary is down.
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
