#include "common/routing_table.h"

#include <tuple>

#include "common/json_fields.h"

namespace pgvigil {

using web::json::value;

bool operator==(const RoutingTable& a, const RoutingTable& b) {
  return std::tie(a.generation, a.primary, a.nodes) == std::tie(b.generation, b.primary, b.nodes);
}

value ToJson(const RoutingTable& t) {
  auto v = value::object();
  v["generation"] = value::number(t.generation);
  v["primary"] = value::string(t.primary);
  auto nodes = value::array(t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    auto n = value::object();
    n["name"] = value::string(t.nodes[i].name);
    n["host"] = value::string(t.nodes[i].host);
    n["port"] = value::number(t.nodes[i].port);
    n["weight"] = value::number(t.nodes[i].weight);
    n["up"] = value::boolean(t.nodes[i].up);
    nodes[i] = n;
  }
  v["nodes"] = nodes;
  return v;
}

value ToJson(const RoutingPublish& p) {
  value v = ToJson(p.table);
  v["term"] = value::number(p.term);
  return v;
}

Result<RoutingTable> RoutingTableFromJson(const value& v, std::vector<std::string>* notes) {
  if (!v.is_object() || !v.has_field("generation"))
    return Result<RoutingTable>::Error("routing table has no 'generation'");
  JsonFieldReader r(v, "", notes);
  RoutingTable t;
  r.U64("generation", &t.generation);
  r.Str("primary", &t.primary);
  r.Each("nodes", [&](const value& item, const std::string& path) {
    if (!json_fields::IsEntry(item, path, notes)) return;
    JsonFieldReader x(item, path, notes);
    RouteNode n;
    x.Str("name", &n.name);
    x.Str("host", &n.host);
    x.Int("port", &n.port);
    x.Int("weight", &n.weight);
    x.Bool("up", &n.up);
    t.nodes.push_back(n);
  });
  return t;
}

}  // namespace pgvigil
