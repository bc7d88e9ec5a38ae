// See kube_init.h.
#include "controller/kube/kube_init.h"

#include "controller/kube/kube_plan.h"

namespace pgvigil::kube {

InitDecision DecideInit(const ClusterSpec& spec, const plan::ClusterState& state, const plan::Observation& obs,
                        const plan::WatchdogView& watchdog) {
  InitDecision d;
  if (!state.primary.empty()) {
    d.reason = "the cluster state names primary " + state.primary;
    return d;
  }
  if (spec.nodes.empty()) {
    d.reason = "no instances";
    return d;
  }
  for (const NodeSpec& n : spec.nodes) {
    const plan::NodeObservation* o = obs.Find(n.name);
    if (!o || !o->sidecarReachable) {
      d.reason = "waiting for the sidecar of " + n.name + " (not reachable)";
      return d;
    }
    // An init running, or one that failed (its own fence stopped the start in
    // it, say) and that the next one resumes (init_operation.cc): what it
    // left is not the cluster's data (the actuator follows a running one).
    if (o->operation && o->operation->kind == plan::OperationKind::kInit &&
        o->operation->state != plan::OperationState::kSucceeded)
      continue;
    if (o->dataDirectoryInitialized) {
      d.reason = n.name + " has a data directory";
      return d;
    }
    if (o->postgresRunning) {
      d.reason = n.name + " runs PostgreSQL";
      return d;
    }
    if (o->OperationRunning()) {
      d.reason = n.name + " runs an operation";
      return d;
    }
  }
  const std::string target = spec.primary.empty() ? spec.nodes.front().name : spec.primary;
  if (LivenessFromWatchdog(watchdog, {target})[target] != Liveness::kLive) {
    d.reason = "waiting for the watchdog: no leader with quorum counting " + target + " live yet";
    return d;
  }
  d.node = target;
  d.reason = "no instance holds data and none is primary: initialising " + d.node +
             (spec.primary.empty() ? " (the first instance)" : " (spec.primary)");
  return d;
}

std::string WhyHoldSelfFencedStart(const plan::NodeObservation& o, const plan::WatchdogView& watchdog) {
  if (o.selfFencedInTerm == 0) return "";
  if (LivenessFromWatchdog(watchdog, {o.name})[o.name] == Liveness::kLive) return "";
  return "waiting for the watchdog: no leader with quorum counting " + o.name + " live (" + o.name +
         " fenced its PostgreSQL itself in term " + std::to_string(o.selfFencedInTerm) +
         ": started now it would fence itself again)";
}

}  // namespace pgvigil::kube
