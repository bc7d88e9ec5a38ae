// The bodies of the sidecar's /v1/watchdog/register: the cluster-state register
// of the watchdog, written by the controller beside the watchdog leader
// (controller/vm_leadership.cc, kube/register_mirror.cc) and read back by
// anyone. One contract for both sides: the agent (sidecar/agent/peer_handlers.cc)
// answers with these types, the controller writes its request with them.
//
// GET /v1/watchdog/register   200 {"term", "version", "durable", "doc" (any JSON; null: none)}
// PUT /v1/watchdog/register   {"term", "doc": {...}, "timeoutMs" (optional, 1..60000)}
//                             200 {"version"}
//
// Decoding the replies is tolerant, as for common/watchdog_detail.h (see
// common/json_fields.h): a missing or null field is its default, a field of
// another type is its default and is named in `notes`; only a body that is not
// an object or has no "version" is refused. The PUT request is checked by the
// agent (sidecar/agent/peer_requests.cc), strictly: a request is refused with
// the field at fault (400), never read with defaults. Pure; no state.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil {

// GET /v1/watchdog/register: the register as stored on one member. durable:
// known (on the leader) to be stored by a majority.
struct WatchdogRegisterValue {
  uint64_t term = 0;
  uint64_t version = 0;
  web::json::value doc;  // null until first written
  bool durable = false;
};

// PUT /v1/watchdog/register: store `doc` as the next version under `term`
// (leader with quorum only), waiting at most timeoutMs (absent: the agent's 5000).
struct WatchdogRegisterWrite {
  uint64_t term = 0;
  web::json::value doc;  // a JSON object
  std::optional<uint64_t> timeoutMs;
};

// The 200 answer to a PUT: the version a majority stored.
struct WatchdogRegisterWritten {
  uint64_t version = 0;
};

web::json::value ToJson(const WatchdogRegisterValue& r);
web::json::value ToJson(const WatchdogRegisterWrite& w);
web::json::value ToJson(const WatchdogRegisterWritten& w);

Result<WatchdogRegisterValue> WatchdogRegisterValueFromJson(const web::json::value& v,
                                                            std::vector<std::string>* notes = nullptr);
Result<WatchdogRegisterWritten> WatchdogRegisterWrittenFromJson(const web::json::value& v,
                                                                std::vector<std::string>* notes = nullptr);

bool operator==(const WatchdogRegisterValue& a, const WatchdogRegisterValue& b);
bool operator==(const WatchdogRegisterWrite& a, const WatchdogRegisterWrite& b);
bool operator==(const WatchdogRegisterWritten& a, const WatchdogRegisterWritten& b);

}  // namespace pgvigil
