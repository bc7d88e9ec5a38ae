// Builds the watchdog's JSON views (GET /v1/watchdog, the status summary) from
// the election state machine. Pure: reads the machine at a given time.
#pragma once

#include <cstdint>

#include <cpprest/json.h>

#include "common/spec.h"
#include "sidecar/watchdog/election.h"
#include "sidecar/watchdog/watchdog_api.h"

namespace pgvigil {
namespace watchdog {

// See WatchdogApi::Detail for the shape.
web::json::value BuildDetail(const ClusterSpec& spec, const Election& e, int64_t now,
                             uint64_t durable_version);
// GET /v1/status component summary: {"state","term","leader","quorum","vipHeld",
//   "members":{NAME: STATE}}.
web::json::value BuildSummary(const ClusterSpec& spec, const Election& e, int64_t now);
WatchdogApi::Leadership BuildLeadership(const ClusterSpec& spec, const Election& e, int64_t now);
std::vector<WatchdogApi::BackendVerdict> BuildVerdicts(const ClusterSpec& spec, const Election& e,
                                                       int64_t now);
// The register document as JSON (null when empty or not JSON).
web::json::value ParseRegisterDoc(const std::string& doc);

}  // namespace watchdog
}  // namespace pgvigil
