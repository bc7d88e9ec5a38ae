// The REST half of the controller's observation: each node's sidecar
// (GET /v1/status) and the watchdog as seen by the local sidecar
// (GET /v1/watchdog). The JSON shapes are documented and decoded in
// common/sidecar_status.h and common/watchdog_detail.h. The parsers are
// pure and tested on fixtures; the fetch functions block (bounded by the client's
// timeout).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <cpprest/json.h>

#include "common/rest_client.h"
#include "common/watchdog_detail.h"
#include "controller/plan/observation.h"

namespace pgvigil {

// Fills the sidecar fields of `out` from a /v1/status body (SidecarStatusFromJson:
// fields of another type read as their defaults, logged at debug). Returns "" or
// a reason.
std::string ApplySidecarStatus(const web::json::value& status, plan::TimeMs now,
                               plan::NodeObservation* out);
// GET /v1/watchdog (common/watchdog_detail.h) decoded, fields of another type
// read as their defaults and logged at debug with `from` (the sidecar asked);
// none (logged) for a body that is no watchdog detail.
std::optional<WatchdogDetail> DecodeWatchdogDetail(const web::json::value& detail,
                                                   const std::string& from);
// A /v1/watchdog body as the planner's WatchdogView (register excluded); a body
// that is no watchdog detail gives an empty view (no leader, no quorum).
plan::WatchdogView WatchdogViewOf(const WatchdogDetail& detail, plan::TimeMs now);
plan::WatchdogView ParseWatchdogView(const web::json::value& detail, plan::TimeMs now);
// What one member's /v1/watchdog body says of member `about`: how long ago it
// last heard it (`members[].lastHeardMs`; none when null: never since its
// start) and how many live members it counts seeing `about`'s PostgreSQL down
// (`backends[].down`). reported is false when the body has no entry for
// `about` or its entry no lastHeardMs field, or one of another type (then
// nothing may be concluded).
struct MemberHeard {
  bool reported = false;
  std::optional<int64_t> lastHeardMs;
  int seeDown = -1;  // -1: not reported
};
MemberHeard MemberHeardOf(const WatchdogDetail& detail, const std::string& about);
MemberHeard ParseMemberHeard(const web::json::value& detail, const std::string& about);

// Standalone mode (no watchdog): a consensus health view from the health checks
// of every reachable sidecar plus the controller's own libpq observation, one
// vote each. A backend counts as down by consensus only when a majority of
// these observers sees it down, so one sidecar's network trouble alone cannot
// cause a failover.
plan::WatchdogView StandaloneHealthView(const plan::Observation& obs, plan::TimeMs now);

// GET /v1/status; on failure marks the sidecar unreachable and returns the reason.
std::string ObserveSidecar(RestClient& client, plan::TimeMs now, plan::NodeObservation* out);

}  // namespace pgvigil
