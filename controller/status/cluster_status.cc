#include "controller/status/cluster_status.h"

#include <algorithm>
#include <sstream>

#include "common/pool_nodes_doc.h"

namespace pgvigil {

namespace {

using web::json::value;

std::string Str(const value& o, const char* k) {
  return o.has_field(k) && o.at(k).is_string() ? o.at(k).as_string() : std::string();
}
int64_t Int(const value& o, const char* k, int64_t def = 0) {
  return o.has_field(k) && o.at(k).is_number() ? o.at(k).as_number().to_int64() : def;
}
double Num(const value& o, const char* k, double def) {
  return o.has_field(k) && o.at(k).is_number() ? o.at(k).as_double() : def;
}
bool Bool(const value& o, const char* k) {
  return o.has_field(k) && o.at(k).is_boolean() && o.at(k).as_bool();
}
value Array(const value& o, const char* k) {
  return o.has_field(k) && o.at(k).is_array() ? o.at(k) : value::array();
}

value NodeJson(const NodeStatus& n) {
  value v = value::object();
  v["name"] = value::string(n.name);
  v["host"] = value::string(n.host);
  v["port"] = value::number(n.port);
  v["role"] = value::string(n.role);
  v["pgRole"] = value::string(n.pgRole);
  v["state"] = value::string(n.state);
  v["pgStatus"] = value::string(n.pgStatus);
  v["weight"] = value::number(n.weight);
  v["selectCount"] = value::number(n.selectCount);
  v["loadBalanceNode"] = value::boolean(n.loadBalanceNode);
  v["lagBytes"] = value::number(n.lagBytes);
  v["replicationState"] = value::string(n.replicationState);
  v["replicationSyncState"] = value::string(n.replicationSyncState);
  v["upstream"] = value::string(n.upstream);
  v["timeline"] = value::number(n.timeline);
  if (!n.lsn.empty()) v["lsn"] = value::string(n.lsn);
  v["lastStatusChange"] = value::string(n.lastStatusChange);
  if (!n.pendingRestart.empty()) {
    std::vector<value> names;
    for (const auto& p : n.pendingRestart) names.push_back(value::string(p));
    v["pendingRestart"] = value::array(std::move(names));
  }
  if (!n.parameterProblems.empty()) {
    std::vector<value> lines;
    for (const auto& p : n.parameterProblems) lines.push_back(value::string(p));
    v["parameterProblems"] = value::array(std::move(lines));
  }
  return v;
}

NodeStatus NodeFrom(const value& v) {
  NodeStatus n;
  n.name = Str(v, "name");
  n.host = Str(v, "host");
  n.port = static_cast<int>(Int(v, "port"));
  n.role = Str(v, "role");
  n.pgRole = Str(v, "pgRole");
  n.state = Str(v, "state");
  n.pgStatus = Str(v, "pgStatus");
  n.weight = static_cast<int>(Int(v, "weight"));
  n.selectCount = static_cast<uint64_t>(Int(v, "selectCount"));
  n.loadBalanceNode = Bool(v, "loadBalanceNode");
  n.lagBytes = Int(v, "lagBytes", -1);
  n.replicationState = Str(v, "replicationState");
  n.replicationSyncState = Str(v, "replicationSyncState");
  n.upstream = Str(v, "upstream");
  n.timeline = static_cast<uint64_t>(Int(v, "timeline"));
  n.lsn = Str(v, "lsn");
  n.lastStatusChange = Str(v, "lastStatusChange");
  if (v.has_array_field("pendingRestart"))
    for (const auto& p : v.at("pendingRestart").as_array())
      if (p.is_string()) n.pendingRestart.push_back(p.as_string());
  if (v.has_array_field("parameterProblems"))
    for (const auto& p : v.at("parameterProblems").as_array())
      if (p.is_string()) n.parameterProblems.push_back(p.as_string());
  return n;
}

// Left-aligned columns separated by " | ", psql style.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    w[c] = header[c].size();
    for (const auto& r : rows) w[c] = std::max(w[c], r[c].size());
  }
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) {
      out << (c ? " | " : " ") << cells[c];
      if (c + 1 < cells.size()) out << std::string(w[c] - cells[c].size(), ' ');
    }
    out << "\n";
  };
  line(header);
  for (size_t c = 0; c < header.size(); ++c) out << (c ? "-+-" : "-") << std::string(w[c], '-');
  out << "-\n";
  for (const auto& r : rows) line(r);
  out << "(" << rows.size() << " row" << (rows.size() == 1 ? "" : "s") << ")\n";
  return out.str();
}

}  // namespace

web::json::value ToJson(const ClusterStatus& s) {
  value v = value::object();
  v["cluster"] = value::string(s.cluster);
  v["phase"] = value::string(s.phase);
  v["primary"] = value::string(s.primary);
  v["timeline"] = value::number(s.timeline);
  v["routingGeneration"] = value::number(s.routingGeneration);
  v["term"] = value::number(s.term);
  v["controller"] = value::string(s.controller);
  v["acting"] = value::boolean(s.acting);
  v["summary"] = value::string(s.summary);
  value sync = value::array(s.synchronousStandbys.size());
  for (size_t i = 0; i < s.synchronousStandbys.size(); ++i)
    sync[i] = value::string(s.synchronousStandbys[i]);
  v["synchronousStandbys"] = sync;
  v["synchronousCount"] = value::number(s.synchronousCount);
  value nodes = value::array(s.nodes.size());
  for (size_t i = 0; i < s.nodes.size(); ++i) nodes[i] = NodeJson(s.nodes[i]);
  v["nodes"] = nodes;
  value wd = value::object();
  wd["enabled"] = value::boolean(s.watchdogEnabled);
  wd["leader"] = value::string(s.watchdogLeader);
  wd["quorum"] = value::boolean(s.watchdogQuorum);
  wd["vipAddress"] = value::string(s.vipAddress);
  wd["vipHolder"] = value::string(s.vipHolder);
  value members = value::array(s.watchdogMembers.size());
  for (size_t i = 0; i < s.watchdogMembers.size(); ++i) {
    value m = value::object();
    m["name"] = value::string(s.watchdogMembers[i].name);
    m["address"] = value::string(s.watchdogMembers[i].address);
    m["state"] = value::string(s.watchdogMembers[i].state);
    members[i] = m;
  }
  wd["members"] = members;
  v["watchdog"] = wd;
  value ops = value::array(s.operations.size());
  for (size_t i = 0; i < s.operations.size(); ++i) {
    const auto& o = s.operations[i];
    value j = value::object();
    j["node"] = value::string(o.node);
    j["id"] = value::string(o.id);
    j["type"] = value::string(o.type);
    j["state"] = value::string(o.state);
    j["step"] = value::string(o.step);
    j["percent"] = value::number(o.percent);
    j["error"] = value::string(o.error);
    ops[i] = j;
  }
  v["operations"] = ops;
  value events = value::array(s.events.size());
  for (size_t i = 0; i < s.events.size(); ++i) {
    const auto& e = s.events[i];
    value j = value::object();
    j["time"] = value::string(e.time);
    j["action"] = value::string(e.action);
    j["node"] = value::string(e.node);
    j["reason"] = value::string(e.reason);
    events[i] = j;
  }
  v["events"] = events;
  return v;
}

void AddSpecFacts(const ClusterSpec& spec, ClusterStatus* s) {
  s->watchdogEnabled = spec.watchdog.enabled;
  s->vipAddress = spec.vip.address;
  if (!spec.watchdog.enabled) s->vipHolder.clear();
}

void AddWatchdogDetail(const WatchdogDetail& d, ClusterStatus* s) {
  s->vipHolder = d.vip.holder;
  s->watchdogMembers.clear();
  for (const auto& m : d.members) {
    std::string address = m.host;
    if (m.heartbeatPort > 0) address += ":" + std::to_string(m.heartbeatPort);
    s->watchdogMembers.push_back({m.name, address, m.state});
  }
}

void AddProxySelectCounts(const std::vector<web::json::value>& bodies, ClusterStatus* s) {
  for (auto& n : s->nodes) n.selectCount = 0;
  for (const auto& b : bodies) {
    for (const PoolNodeRow& row : PoolNodesFromJson(b, nullptr)) {
      uint64_t count = 0;
      try {
        count = row.selectCnt.empty() ? 0 : std::stoull(row.selectCnt);
      } catch (const std::exception&) {
        continue;
      }
      for (auto& n : s->nodes)
        if (n.host == row.hostname && std::to_string(n.port) == row.port) n.selectCount += count;
    }
  }
}

void UpdateStatusMetrics(const ClusterStatus& s, MetricsRegistry& m) {
  m.GetGauge("pgvigil_controller_acting", "1 when this controller acts (leader), 0 read-only")
      .Set(s.acting ? 1 : 0);
  m.GetGauge("pgvigil_controller_term", "the term this controller acts (or would act) in")
      .Set(static_cast<double>(s.term));
  m.GetGauge("pgvigil_cluster_timeline", "the primary's timeline").Set(static_cast<double>(s.timeline));
  m.GetGauge("pgvigil_cluster_routing_generation", "the routing generation last published")
      .Set(static_cast<double>(s.routingGeneration));
  for (const char* phase : {"Healthy", "Failing over", "Switchover in progress", "Recovering",
                            "Degraded", "No quorum"})
    m.GetGauge("pgvigil_cluster_phase", "1 for the cluster's current phase",
               std::string("phase=\"") + phase + "\"")
        .Set(s.phase == phase ? 1 : 0);
  if (!s.phase.empty())
    m.GetGauge("pgvigil_cluster_phase", "1 for the cluster's current phase", "phase=\"" + s.phase + "\"")
        .Set(1);
  int running = 0;
  for (const auto& o : s.operations) running += o.state == "running" ? 1 : 0;
  m.GetGauge("pgvigil_cluster_operations_running", "node operations (rebuild, follow, ...) running")
      .Set(running);
  for (const auto& n : s.nodes) {
    std::string l = "node=\"" + n.name + "\"";
    m.GetGauge("pgvigil_node_up", "1 when the controller reaches the node over libpq", l)
        .Set(n.pgStatus == "up" ? 1 : 0);
    m.GetGauge("pgvigil_node_primary", "1 for the cluster's primary", l).Set(n.name == s.primary ? 1 : 0);
    m.GetGauge("pgvigil_node_streaming", "1 when the primary shows the node streaming", l)
        .Set(n.replicationState == "streaming" ? 1 : 0);
    m.GetGauge("pgvigil_node_detached", "1 when the node is detached from routing", l)
        .Set(n.state == "detached" ? 1 : 0);
    m.GetGauge("pgvigil_node_fenced", "1 when the node is fenced", l).Set(n.state == "fenced" ? 1 : 0);
    m.GetGauge("pgvigil_node_lag_bytes", "replay lag behind the primary in bytes, -1 unknown", l)
        .Set(static_cast<double>(n.lagBytes));
    m.GetGauge("pgvigil_node_select_count", "SELECTs the proxies balanced to the node", l)
        .Set(static_cast<double>(n.selectCount));
  }
}

Result<ClusterStatus> ClusterStatusFromJson(const web::json::value& v) {
  if (!v.is_object() || !v.has_field("phase") || !v.has_field("nodes"))
    return Result<ClusterStatus>::Error("not a pgvigil cluster status (no phase/nodes)");
  ClusterStatus s;
  s.cluster = Str(v, "cluster");
  s.phase = Str(v, "phase");
  s.primary = Str(v, "primary");
  s.timeline = static_cast<uint64_t>(Int(v, "timeline"));
  s.routingGeneration = static_cast<uint64_t>(Int(v, "routingGeneration"));
  s.term = static_cast<uint64_t>(Int(v, "term"));
  s.controller = Str(v, "controller");
  s.acting = Bool(v, "acting");
  s.summary = Str(v, "summary");
  const value sync = Array(v, "synchronousStandbys");
  for (const auto& n : sync.as_array())
    if (n.is_string()) s.synchronousStandbys.push_back(n.as_string());
  s.synchronousCount = static_cast<int>(Int(v, "synchronousCount"));
  // Array() returns a copy: keep it alive while iterating.
  const value nodes = Array(v, "nodes");
  for (const auto& n : nodes.as_array()) s.nodes.push_back(NodeFrom(n));
  if (v.has_field("watchdog") && v.at("watchdog").is_object()) {
    const value& wd = v.at("watchdog");
    s.watchdogEnabled = !(wd.has_field("enabled") && wd.at("enabled").is_boolean() &&
                          !wd.at("enabled").as_bool());
    s.watchdogLeader = Str(wd, "leader");
    s.watchdogQuorum = Bool(wd, "quorum");
    s.vipAddress = Str(wd, "vipAddress");
    s.vipHolder = Str(wd, "vipHolder");
    const value members = Array(wd, "members");
    for (const auto& m : members.as_array())
      s.watchdogMembers.push_back({Str(m, "name"), Str(m, "address"), Str(m, "state")});
  }
  const value ops = Array(v, "operations");
  for (const auto& o : ops.as_array())
    s.operations.push_back({Str(o, "node"), Str(o, "id"), Str(o, "type"), Str(o, "state"),
                            Str(o, "step"), Num(o, "percent", -1), Str(o, "error")});
  const value events = Array(v, "events");
  for (const auto& e : events.as_array())
    s.events.push_back({Str(e, "time"), Str(e, "action"), Str(e, "node"), Str(e, "reason")});
  return s;
}

std::string RenderPoolNodes(const ClusterStatus& s) {
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const auto& n = s.nodes[i];
    rows.push_back({std::to_string(i), n.host, std::to_string(n.port), n.state, n.pgStatus,
                    std::to_string(n.weight), n.role, n.pgRole, std::to_string(n.selectCount),
                    n.loadBalanceNode ? "true" : "false",
                    n.lagBytes < 0 ? "" : std::to_string(n.lagBytes), n.replicationState,
                    n.replicationSyncState, n.lastStatusChange});
  }
  return Table({"node_id", "hostname", "port", "status", "pg_status", "lb_weight", "role",
                "pg_role", "select_cnt", "load_balance_node", "replication_delay",
                "replication_state", "replication_sync_state", "last_status_change"},
               rows);
}

std::string RenderStatusTable(const ClusterStatus& s) {
  std::ostringstream out;
  out << "cluster:    " << s.cluster << "\n"
      << "phase:      " << s.phase << "\n"
      << "primary:    " << (s.primary.empty() ? "(none)" : s.primary) << " (timeline "
      << s.timeline << ", routing generation " << s.routingGeneration << ")\n"
      << "controller: " << (s.controller.empty() ? "(none acting)" : s.controller) << ", term "
      << s.term << "\n"
      << "watchdog:   ";
  if (!s.watchdogEnabled) {
    out << "disabled (standalone controller)";
  } else {
    out << "leader " << (s.watchdogLeader.empty() ? "(none)" : s.watchdogLeader)
        << (s.watchdogQuorum ? ", quorum" : ", NO QUORUM");
  }
  if (s.vipAddress.empty())
    out << ", no VIP configured";
  else
    out << ", VIP " << s.vipAddress << " on " << (s.vipHolder.empty() ? "(nobody)" : s.vipHolder);
  out << "\n";
  if (!s.synchronousStandbys.empty()) {
    out << "synchronous: " << s.synchronousCount << " of";
    for (size_t i = 0; i < s.synchronousStandbys.size(); ++i)
      out << (i ? ", " : " ") << s.synchronousStandbys[i];
    out << " (recorded)\n";
  }
  if (!s.summary.empty()) out << "summary:    " << s.summary << "\n";
  out << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : s.nodes) {
    rows.push_back({n.name, n.host + ":" + std::to_string(n.port), n.role, n.state,
                    n.pgStatus, n.lagBytes < 0 ? "" : std::to_string(n.lagBytes),
                    std::to_string(n.weight), std::to_string(n.selectCount), n.upstream,
                    std::to_string(n.timeline)});
  }
  out << Table({"node", "address", "role", "state", "pg_status", "lag_bytes", "weight",
                "select_cnt", "upstream", "timeline"},
               rows);
  bool problems_header = false;
  for (const auto& n : s.nodes)
    for (const auto& p : n.parameterProblems) {
      if (!problems_header) out << "\npostgres.parameters not in use:\n";
      problems_header = true;
      out << "  " << n.name << " " << p << "\n";
    }
  if (!s.watchdogMembers.empty()) {
    out << "\nwatchdog members:\n";
    for (const auto& m : s.watchdogMembers)
      out << "  " << m.name << " " << m.address << " " << m.state << "\n";
  }
  if (!s.operations.empty()) {
    out << "\noperations:\n";
    for (const auto& o : s.operations) {
      out << "  " << o.node << " " << o.type << " " << o.state << " " << o.step;
      if (o.percent >= 0) out << " " << static_cast<int>(o.percent) << "%";
      if (!o.error.empty()) out << " error: " << o.error;
      out << "\n";
    }
  }
  if (!s.events.empty()) {
    out << "\nrecent events:\n";
    size_t from = s.events.size() > 10 ? s.events.size() - 10 : 0;
    for (size_t i = from; i < s.events.size(); ++i) {
      const auto& e = s.events[i];
      out << "  " << e.time << " " << e.action << " " << e.node << ": " << e.reason << "\n";
    }
  }
  return out.str();
}

}  // namespace pgvigil
