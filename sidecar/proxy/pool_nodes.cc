#include "sidecar/proxy/pool_nodes.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy {

namespace {
std::string FormatTime(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}
const char* RoleName(BackendRole r) {
  return r == BackendRole::kPrimary ? "primary" : r == BackendRole::kStandby ? "standby" : "unknown";
}
}  // namespace

std::vector<PoolNodeRow> BuildPoolNodes(const ProxyShared& shared, const EffectiveRouting& r,
                                        const std::string& lb_node) {
  std::vector<PoolNodeRow> rows;
  long total = 0;
  for (const auto& n : r.nodes) total += n.node.weight > 0 ? n.node.weight : 0;
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    const EffectiveNode& n = r.nodes[i];
    PoolNodeRow row;
    row.nodeId = std::to_string(i);
    row.hostname = n.node.host;
    row.port = std::to_string(n.node.port);
    row.status = n.up ? "up" : "down";
    row.pgStatus = !n.healthKnown ? "unknown" : n.up ? "up" : "down";
    char w[32];
    std::snprintf(w, sizeof w, "%.6f", total > 0 ? double(std::max(n.node.weight, 0)) / double(total) : 0.0);
    row.lbWeight = w;
    row.role = int(i) == r.primary ? "primary" : "standby";
    row.pgRole = n.healthKnown ? RoleName(n.healthRole) : "unknown";
    row.selectCnt = std::to_string(shared.SelectCount(n.node.name));
    row.loadBalanceNode = n.node.name == lb_node ? "true" : "false";
    row.replicationDelay = std::to_string(int(i) == r.primary ? 0 : n.lagBytes);
    const bool standby_up = int(i) != r.primary && n.healthKnown && n.up && n.healthRole == BackendRole::kStandby;
    // As Pgpool-II: what the primary's pg_stat_replication says of this standby.
    row.replicationState = standby_up ? n.walState : "";
    row.replicationSyncState = standby_up ? n.syncState : "";
    row.lastStatusChange =
        FormatTime(n.lastChange.time_since_epoch().count() != 0 ? n.lastChange : shared.startTime);
    rows.push_back(std::move(row));
  }
  return rows;
}

void EncodePoolNodes(const std::vector<PoolNodeRow>& rows, std::string* out) {
  AppendRowDescription(out, {"node_id", "hostname", "port", "status", "pg_status", "lb_weight", "role",
                             "pg_role", "select_cnt", "load_balance_node", "replication_delay",
                             "replication_state", "replication_sync_state", "last_status_change"});
  for (const auto& r : rows)
    AppendDataRow(out, {r.nodeId, r.hostname, r.port, r.status, r.pgStatus, r.lbWeight, r.role, r.pgRole,
                        r.selectCnt, r.loadBalanceNode, r.replicationDelay, r.replicationState,
                        r.replicationSyncState, r.lastStatusChange});
  AppendCommandComplete(out, "SHOW");
}

}  // namespace pgvigil::proxy
