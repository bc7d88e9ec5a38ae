// GET /v1/proxy/pool_nodes: the rows of a sidecar proxy's `SHOW pool_nodes`
// (Pgpool-II 4.3 columns, every value as text, as the SQL command shows them),
//   {"nodes": [{"node_id", "hostname", "port", "status", "pg_status",
//               "lb_weight", "role", "pg_role", "select_cnt", "load_balance_node",
//               "replication_delay", "replication_state", "replication_sync_state",
//               "last_status_change"}, ...]}.
// The proxy builds the rows (sidecar/proxy/pool_nodes.cc), the agent writes
// them with ToJson (sidecar/agent/peer_handlers.cc); the controller reads them
// to sum select_cnt over the proxies (controller/status/cluster_status.cc) and
// the e2e checker to see where a proxy sends writes. Reading is tolerant
// (common/json_fields.h): a missing or null field is "", a field of another
// type is "" and named in `notes`, a row that is not an object is left out
// (noted), a body with no "nodes" list has no rows. Pure.
#pragma once

#include <cpprest/json.h>

#include <string>
#include <vector>

namespace pgvigil {

struct PoolNodeRow {
  std::string nodeId, hostname, port, status, pgStatus, lbWeight, role, pgRole, selectCnt,
      loadBalanceNode, replicationDelay, replicationState, replicationSyncState, lastStatusChange;
};
bool operator==(const PoolNodeRow& a, const PoolNodeRow& b);

web::json::value ToJson(const std::vector<PoolNodeRow>& rows);
std::vector<PoolNodeRow> PoolNodesFromJson(const web::json::value& v, std::vector<std::string>* notes);

}  // namespace pgvigil
