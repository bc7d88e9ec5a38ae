// Node-agent operation requests (POST /v1/node/<op>): the parsed, validated
// form of a JSON body. Pure: no I/O. See rest_routes.h for the wire format.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

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

// Parses `body` for operation `op` ("promote", "stop", ...). Unknown fields are
// rejected (typos must not silently change behaviour). `known_node` says whether a
// node name exists in the spec (and is not this node). On failure *error is set.
bool ParseOpRequest(const std::string& op, const std::string& body,
                    const std::function<bool(const std::string&)>& known_node, OpRequest* out,
                    RequestError* error);

// Parses {"term": N} (POST /v1/node/term).
bool ParseTermRequest(const std::string& body, uint64_t* term, RequestError* error);

}  // namespace pgvigil
