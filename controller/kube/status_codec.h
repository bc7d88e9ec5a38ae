// plan::ClusterState in the PostgresCluster status (KUBERNETES.md §3): what
// the watchdog register holds on VMs, in readable fields beside the summary
// fields other writers own (phase, conditions, ...). Pure.
//
//   term, stateFormat (1), stateVersion, currentPrimary, targetPrimary,
//   timeline, routingGeneration, routedPrimary, routedStandbys,
//   routedWeights, synchronousStandbys, synchronousCount, syncShrinkLsn,
//   fenced, detached, switchoverBackoffUntilMs,
//   transition {kind: Failover|Switchover, from, to,
//               step: Fencing|Paused|Stopping|Promoting, startedAtMs, stopLsn}
//
// `startedAtMs` and `switchoverBackoffUntilMs` are the planner's monotonic
// milliseconds, exactly as the register keeps them (not wall-clock times).
// A status of another stateFormat is refused, never half-read.
//
// Beside the state, and not part of it: fencedPrimary, the primary the acting
// controller stopped for the manual fence (fenced_primary.h), written by CAS
// under the term like the state, so that a new leader starts it again in place
// once it is unfenced instead of failing it over. "" (absent): none.
#pragma once

#include <cstdint>
#include <string>

#include <cpprest/json.h>

#include "common/result.h"
#include "controller/plan/cluster_state.h"

namespace pgvigil::kube {

inline constexpr int kStatusStateFormat = 1;

struct StatusState {
  uint64_t term = 0;  // status.term: the newest term made durable here (0: none)
  plan::ClusterState state;
  std::string fencedPrimary;  // status.fencedPrimary ("" when absent)
};

// Writes the state's fields and `term` into `status` (an object, or null for
// a new one), leaving every other field as it is.
void EncodeStatusState(const plan::ClusterState& state, uint64_t term, web::json::value* status);

// status.fencedPrimary = primary; "" removes the field.
void EncodeFencedPrimary(const std::string& primary, web::json::value* status);

// Reads them back. A status without stateFormat holds no state yet (an empty
// state, with its term if set). Errors name the field: "status.fenced[1]: not a string".
Result<StatusState> DecodeStatusState(const web::json::value& status);

}  // namespace pgvigil::kube
