// Node-agent operation requests (POST /v1/node/<op>): the parsed, validated
// form of a JSON body. Pure: no I/O. See rest_routes.h for the wire format.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/node_operation.h"
#include "common/result.h"

namespace pgvigil {

enum class OpKind { kPromote, kStop, kStart, kRestart, kFollow, kRebuild, kInit };
const char* ToString(OpKind k);

enum class RebuildMethod { kAuto, kRewind, kBasebackup };
const char* ToString(RebuildMethod m);

struct OpRequest {
  OpKind kind = OpKind::kPromote;
  uint64_t term = 0;
  bool fenced = false;              // caller fenced this node in `term`
  std::string mode = "fast";        // stop/restart: fast | immediate
  std::string primary;              // follow/rebuild: spec node name of the upstream
  std::string slot;                 // follow/rebuild: primary_slot_name (optional)
  RebuildMethod method = RebuildMethod::kAuto;  // rebuild
  uint64_t maxRateBytes = 0;        // rebuild: pg_basebackup --max-rate (0: unlimited)
};

// A validation failure naming the field at fault ("body" for unparsable JSON).
struct RequestError {
  std::string field;
  std::string reason;
};

// Reads `body` for operation `op` ("promote", "stop", ...) into the request of
// common/node_operation.h, strictly: a JSON object, only the fields `op` takes
// (typos must not silently change behaviour), each of its type, "term" required
// and in range, "primary" required for follow and rebuild. Values are not
// checked here. On failure *error names the field ("path": unknown operation).
bool ReadNodeOperationRequest(const std::string& op, const std::string& body, NodeOperationRequest* out,
                              RequestError* error);

// ReadNodeOperationRequest, then the values: mode, method, slot and maxRate of
// their forms; `known_node` says whether a node name exists in the spec (and is
// not this node). On failure *error is set.
bool ParseOpRequest(const std::string& op, const std::string& body,
                    const std::function<bool(const std::string&)>& known_node, OpRequest* out,
                    RequestError* error);

// Parses {"term": N} (POST /v1/node/term, /v1/proxy/pause, /v1/proxy/resume).
bool ParseTermRequest(const std::string& body, TermRequest* out, RequestError* error);

}  // namespace pgvigil
