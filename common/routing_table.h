// The routing table the controller publishes to every sidecar's proxy and reads
// back: PUT /v1/proxy/routing (RoutingPublish) and its 200 answer and GET
// /v1/proxy/routing (RoutingTable). One contract for both sides: the controller
// (controller/act/actuator.cc) writes the request with ToJson, the agent
// (sidecar/agent/peer_handlers.cc) answers with ToJson of the table in effect,
// and the controller (kube/kube_actuator.cc) reads it with RoutingTableFromJson.
//
// GET /v1/proxy/routing, PUT answer: {"generation", "primary" ("" none),
//                                     "nodes": [{"name", "host", "port", "weight", "up"}]}
// PUT /v1/proxy/routing:             the same with "term"
//
// The PUT request is checked strictly by the agent (sidecar/agent/peer_requests.cc:
// refused with the field at fault, never read with defaults). Decoding the table
// is tolerant (common/json_fields.h): a missing or null field is its default
// below, a field of another type is its default and is named in `notes`; only a
// body that is not an object or has no "generation" is refused. Pure.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil {

struct RouteNode {
  std::string name;
  std::string host;
  int port = 5432;
  int weight = 1;   // load-balance weight; 0 = never balanced
  bool up = true;   // false: routed nowhere
};
inline bool operator==(const RouteNode& a, const RouteNode& b) {
  return a.name == b.name && a.host == b.host && a.port == b.port && a.weight == b.weight && a.up == b.up;
}
inline bool operator!=(const RouteNode& a, const RouteNode& b) { return !(a == b); }

// What the controller publishes. `primary` is a node name; empty means no
// confirmed primary: writes fail closed. Generations only move forward.
struct RoutingTable {
  uint64_t generation = 0;
  std::string primary;
  std::vector<RouteNode> nodes;  // primary and standbys
};
bool operator==(const RoutingTable& a, const RoutingTable& b);

// PUT /v1/proxy/routing: the table under the controller's term.
struct RoutingPublish {
  uint64_t term = 0;
  RoutingTable table;
};

web::json::value ToJson(const RoutingTable& t);
web::json::value ToJson(const RoutingPublish& p);

Result<RoutingTable> RoutingTableFromJson(const web::json::value& v, std::vector<std::string>* notes = nullptr);

}  // namespace pgvigil
