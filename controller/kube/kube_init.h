// Bootstrap of an empty cluster in Kubernetes mode (KUBERNETES.md §4.4), pure:
// whether the acting controller sends the agent operation `init` and to which
// instance. Init only when nothing can hold data worth keeping: the cluster
// state names no primary and every instance's sidecar answers and reports no
// data directory, no running PostgreSQL and no running operation, and the
// watchdog leader's view (`watchdog`, GET /v1/watchdog of the LEADER) has a
// leader with quorum and counts the target live (its write lease not over):
// a primary started before the watchdog settles fences itself at once (seen
// in the kube-lab: the lease of a just-started member lapsed 0.1 s after the
// init's start, and the new primary stayed stopped). Then to spec.primary, or
// the first instance (NAME-0). The planner (unchanged) makes
// the initialised instance the primary and rebuilds the others as standbys.
// No I/O, no clock.
#pragma once

#include <string>

#include "common/spec.h"
#include "controller/plan/cluster_state.h"
#include "controller/plan/observation.h"

namespace pgvigil::kube {

struct InitDecision {
  std::string node;    // the instance to initialise; "" = no init
  std::string reason;  // why (either way), for the log
};

InitDecision DecideInit(const ClusterSpec& spec, const plan::ClusterState& state, const plan::Observation& obs,
                        const plan::WatchdogView& watchdog);

// A primary its own sidecar fenced (o.selfFencedInTerm: its write lease ran
// out, no majority of watchdog members acknowledging it) is started again, and
// a new term asked for it, only under the same gate as the init: the watchdog
// leader's view has a leader with quorum counting it live. Started before, it
// fences itself at once (seen: start, fence, term raise about once a second,
// terms 2..10, while a majority of members was away). "" when nothing holds it
// (or it never fenced itself); else why it waits, for the log and the status.
std::string WhyHoldSelfFencedStart(const plan::NodeObservation& o, const plan::WatchdogView& watchdog);

}  // namespace pgvigil::kube
