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
//
// Without a leader. When the crashed pod was the watchdog leader, no member
// leads until an election ends (about deadTime), and the leader's view above
// cannot be had. Each member's own view (GET /v1/watchdog, its `members[]`)
// says how long ago it last heard the old primary (`lastHeardMs`, null:
// never since it started). A member that has heard nothing from it for more
// than deadTime confirms none of its datagrams sent within its lease window
// (contact_lease.h: a confirmation follows a receipt, and W < deadTime scaled
// by the clock bound, less the margin M), so its confirmations no longer hold
// the old primary's lease. The lease needs the confirmations of majority - 1
// other members; once N - majority + 1 members other than the old primary
// report it silent for more than deadTime, at most majority - 2 can still
// confirm, and its lease is over. A majority must still see its PostgreSQL
// down (the `down` votes of the old primary's entry in some member's
// `backends[]`): a sidecar that died alone leaves no fencer behind, and its
// PostgreSQL, still answering health checks, must not be failed over. The
// crashed pod's sidecar, restarted at once by the kubelet, is heard again
// before deadTime passes; then, as with a leader, its report that its
// PostgreSQL is stopped (a primary's data directory waits for the controller)
// stands in for the lease, with a majority seeing it down in their own views.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
  // Each reachable member's own watchdog view, read just now: how long ago it
  // last heard `old` (none: never since it started). Members other than `old`.
  struct Heard {
    std::string member;
    std::optional<int64_t> lastHeardMs;
    int seeDown = -1;  // live members that see `old` down, as this member counts them; -1 unknown
  };
  std::vector<Heard> heard;
  int64_t deadTimeMs = 0;  // the spec's watchdog.deadTime
};

struct PromoteDecision {
  bool allow = false;
  std::string reason;  // why it may go, or why it is held back
};

PromoteDecision CheckPrimaryDown(const PrimaryDownInputs& in);

}  // namespace pgvigil::kube
