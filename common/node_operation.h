// The sidecar's 202 answer to a node operation (POST /v1/node/promote|stop|
// start|restart|follow|rebuild|init): {"id", "operation": SidecarOperation}.
// The agent (sidecar/agent/agent_component.cc) writes it; the controller
// (controller/act/actuator.cc, kube/kube_actuator.cc) reads the id and then
// polls GET /v1/node/operations/ID, a SidecarOperation (common/sidecar_status.h).
// Decoding is tolerant (common/json_fields.h): missing or null is the default
// (no id: the operation cannot be followed), another type is the default and
// is named in `notes`. Pure.
#pragma once

#include <cpprest/json.h>

#include <string>
#include <vector>

#include "common/sidecar_status.h"

namespace pgvigil {

struct NodeOperationStarted {
  std::string id;
  SidecarOperation operation;
};

web::json::value ToJson(const NodeOperationStarted& s);
NodeOperationStarted NodeOperationStartedFromJson(const web::json::value& v,
                                                  std::vector<std::string>* notes = nullptr);
bool operator==(const NodeOperationStarted& a, const NodeOperationStarted& b);

}  // namespace pgvigil
