#include "sidecar/proxy/routing_check.h"

namespace pgvigil::proxy {

Status CheckRoutingAgainstSpec(const ClusterSpec& spec, const RoutingTable& table) {
  for (size_t i = 0; i < table.nodes.size(); ++i) {
    const RouteNode& n = table.nodes[i];
    const std::string field = "nodes[" + std::to_string(i) + "]";
    const NodeSpec* s = spec.FindNode(n.name);
    if (!s) return Status::Error(field + ".name: '" + n.name + "' is not a node of the cluster spec");
    if (n.host != s->host)
      return Status::Error(field + ".host: '" + n.host + "' is not node '" + n.name + "''s host in the spec ('" +
                           s->host + "')");
    if (n.port != spec.PgPort(*s))
      return Status::Error(field + ".port: " + std::to_string(n.port) + " is not node '" + n.name +
                           "''s PostgreSQL port in the spec (" + std::to_string(spec.PgPort(*s)) + ")");
  }
  return Status::Ok();
}

RoutingTable KeepMembers(const ClusterSpec& spec, const RoutingTable& table, std::vector<std::string>* dropped) {
  RoutingTable out = table;
  out.nodes.clear();
  for (const RouteNode& n : table.nodes) {
    const NodeSpec* s = spec.FindNode(n.name);
    if (s && s->host == n.host && spec.PgPort(*s) == n.port) {
      out.nodes.push_back(n);
    } else {
      dropped->push_back(n.name);
      if (n.name == out.primary) out.primary.clear();
    }
  }
  return out;
}

}  // namespace pgvigil::proxy
