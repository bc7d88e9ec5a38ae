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

}  // namespace pgvigil::proxy
