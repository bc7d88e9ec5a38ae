// A node operation (POST /v1/node/promote|stop|start|restart|follow|rebuild|init)
// and the term calls (POST /v1/node/term, /v1/proxy/pause, /v1/proxy/resume):
// the requests the controller writes (controller/act/actuator.cc,
// kube/kube_actuator.cc) with ToJson, and the agent checks strictly
// (sidecar/agent/op_request.cc: 400 with the field at fault, a field the
// operation does not take refused, never read with defaults) into these types.
//
// The sidecar's 202 answer to a node operation: {"id", "operation": SidecarOperation}.
// The agent (sidecar/agent/agent_component.cc) writes it; the controller
// (controller/act/actuator.cc, kube/kube_actuator.cc) reads the id and then
// polls GET /v1/node/operations/ID, a SidecarOperation (common/sidecar_status.h).
// Decoding is tolerant (common/json_fields.h): missing or null is the default
// (no id: the operation cannot be followed), another type is the default and
// is named in `notes`. Pure.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/sidecar_status.h"

namespace pgvigil {

// POST /v1/node/<op>: {"term"} and, per operation, the fields set (an unset
// field is not written; the agent's defaults apply).
struct NodeOperationRequest {
  uint64_t term = 0;
  std::optional<bool> fenced;          // stop, restart, follow, rebuild: the caller fenced this node in term
  std::optional<std::string> mode;     // stop, restart: "fast" (the default) | "immediate"
  std::optional<std::string> primary;  // follow, rebuild (required there): the upstream's spec name
  std::optional<std::string> slot;     // follow, rebuild: primary_slot_name
  std::optional<std::string> method;   // rebuild: "auto" (the default) | "rewind" | "basebackup"
  std::optional<std::string> maxRate;  // rebuild: a size a second, 32kB..1GB ("50MB")
};
// A request with the term only (start, promote, init; the others add their fields).
inline NodeOperationRequest NodeOperationRequestInTerm(uint64_t term) {
  NodeOperationRequest r;
  r.term = term;
  return r;
}

// POST /v1/node/term, /v1/proxy/pause, /v1/proxy/resume: {"term"}.
struct TermRequest {
  uint64_t term = 0;
};

web::json::value ToJson(const NodeOperationRequest& r);
web::json::value ToJson(const TermRequest& r);
bool operator==(const NodeOperationRequest& a, const NodeOperationRequest& b);

struct NodeOperationStarted {
  std::string id;
  SidecarOperation operation;
};

web::json::value ToJson(const NodeOperationStarted& s);
NodeOperationStarted NodeOperationStartedFromJson(const web::json::value& v,
                                                  std::vector<std::string>* notes = nullptr);
bool operator==(const NodeOperationStarted& a, const NodeOperationStarted& b);

}  // namespace pgvigil
