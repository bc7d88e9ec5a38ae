// KUBERNETES.md §6 (i), as the kube actuator re-checks it just before it sends
// a failover's `promote` (pure; the I/O is in kube_actuator.cc): a majority of
// the members reports the old primary down, so its write lease has run out.
//
// Where the facts come from. The planner's Observation in Kubernetes mode holds
// a consensus built by the controller itself (StandaloneHealthView: its own
// libpq look plus each reachable sidecar's health checks) and no write leases
// (`writeLeasesKnown` false), so the planner does not wait for the lease there.
// The members' own view is the watchdog's: GET /v1/watchdog of the sidecar that
// is LEADER gives, per backend, how many live members see it down (their
// health votes), and per member `writeLeaseOver`: the leader has heard nothing
// from it for deadTime. The actuator reads that view again just before the
// promote and hands it here.
//
// Why both: a member's lease is renewed by any majority's confirmations
// (sidecar/watchdog/contact_lease.h). The leader's `writeLeaseOver` says the
// leader stopped confirming; a majority seeing the primary down says the other
// members that could still confirm cannot reach it either (the residual
// assumption of contact_lease.h: a host whose heartbeats reach a member answers
// its health checks). A primary whose sidecar answers may still hold a lease
// (its heartbeats go on); then the old primary's own sidecar reporting its
// PostgreSQL stopped (the planner's immediate stop before the promote) stands
// in for the lease: a fenced stop is not undone without a newer term.
#pragma once

#include <optional>
#include <string>

#include "controller/plan/observation.h"

namespace pgvigil::kube {

struct PrimaryDownInputs {
  std::string old;         // the failover's old primary
  size_t members = 0;      // the cluster's instances (watchdog members)
  // The watchdog view of the sidecar that is LEADER, read just now; none when
  // no reachable sidecar leads.
  std::optional<plan::WatchdogView> leaderView;
  // The old primary's sidecar answered just now and its PostgreSQL does not run.
  bool oldStopped = false;
};

struct PromoteDecision {
  bool allow = false;
  std::string reason;  // why it may go, or why it is held back
};

PromoteDecision CheckPrimaryDown(const PrimaryDownInputs& in);

}  // namespace pgvigil::kube
