#include "common/pool_nodes_doc.h"

#include "common/json_fields.h"

namespace pgvigil {

using web::json::value;

namespace {

// Each column once: its JSON name and the row's field.
template <typename Row, typename F>
void EachColumn(Row& r, F f) {
  f("node_id", r.nodeId);
  f("hostname", r.hostname);
  f("port", r.port);
  f("status", r.status);
  f("pg_status", r.pgStatus);
  f("lb_weight", r.lbWeight);
  f("role", r.role);
  f("pg_role", r.pgRole);
  f("select_cnt", r.selectCnt);
  f("load_balance_node", r.loadBalanceNode);
  f("replication_delay", r.replicationDelay);
  f("replication_state", r.replicationState);
  f("replication_sync_state", r.replicationSyncState);
  f("last_status_change", r.lastStatusChange);
}

}  // namespace

bool operator==(const PoolNodeRow& a, const PoolNodeRow& b) {
  auto columns = [](const PoolNodeRow& r) {
    std::vector<std::string> c;
    EachColumn(r, [&c](const char*, const std::string& s) { c.push_back(s); });
    return c;
  };
  return columns(a) == columns(b);
}

value ToJson(const std::vector<PoolNodeRow>& rows) {
  value arr = value::array(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    value o = value::object();
    EachColumn(rows[i], [&o](const char* key, const std::string& s) { o[key] = value::string(s); });
    arr[i] = o;
  }
  value v = value::object();
  v["nodes"] = arr;
  return v;
}

std::vector<PoolNodeRow> PoolNodesFromJson(const value& v, std::vector<std::string>* notes) {
  std::vector<PoolNodeRow> rows;
  JsonFieldReader body(v, "pool_nodes", notes);
  body.Each("nodes", [&](const value& item, const std::string& path) {
    if (!json_fields::IsEntry(item, path, notes)) return;
    JsonFieldReader f(item, path, notes);
    PoolNodeRow r;
    EachColumn(r, [&f](const char* key, std::string& s) { f.Str(key, &s); });
    rows.push_back(std::move(r));
  });
  return rows;
}

}  // namespace pgvigil
