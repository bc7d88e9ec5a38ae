// Builds the watchdog's views (GET /v1/watchdog, the status summary; their
// contract is common/watchdog_detail.h) from the election state machine. Pure:
// reads the machine at a given time. The write leases, the peers' addresses and
// vip.conflict are the service's to add (watchdog_service.cc).
#pragma once

#include <cstdint>

#include <cpprest/json.h>

#include "common/spec.h"
#include "common/watchdog_detail.h"
#include "sidecar/watchdog/election.h"
#include "sidecar/watchdog/watchdog_api.h"

namespace pgvigil {
namespace watchdog {

WatchdogDetail BuildDetail(const ClusterSpec& spec, const Election& e, int64_t now,
                           uint64_t durable_version);
// state, term, leader, quorum, vipHeld: what both documents open with.
WatchdogStanding BuildStanding(const ClusterSpec& spec, const Election& e, int64_t now);
// components.watchdog of GET /v1/status.
WatchdogSummary BuildSummary(const ClusterSpec& spec, const Election& e, int64_t now);
WatchdogApi::Leadership BuildLeadership(const ClusterSpec& spec, const Election& e, int64_t now);
std::vector<WatchdogApi::BackendVerdict> BuildVerdicts(const ClusterSpec& spec, const Election& e,
                                                       int64_t now);
// The register document as JSON (null when empty or not JSON).
web::json::value ParseRegisterDoc(const std::string& doc);

}  // namespace watchdog
}  // namespace pgvigil
