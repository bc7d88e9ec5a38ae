#include "controller/kube/fenced_primary.h"

#include "controller/kube/render_labels.h"

namespace pgvigil::kube {

const char* ToString(FencedPrimaryStep s) {
  switch (s) {
    case FencedPrimaryStep::kNone: return "none";
    case FencedPrimaryStep::kStop: return "stop";
    case FencedPrimaryStep::kHold: return "hold";
    case FencedPrimaryStep::kStart: return "start";
    case FencedPrimaryStep::kWait: return "wait";
    case FencedPrimaryStep::kRelease: return "release";
  }
  return "?";
}

FencedPrimaryStep DecideFencedPrimary(const FencedPrimaryInputs& in, std::string* why) {
  const plan::NodeObservation* o = in.node;
  const std::string name = o ? o->name : std::string("the primary");
  const bool running_op = o && o->operation && o->operation->state == plan::OperationState::kRunning;
  if (in.fenced) {
    if (o && o->sidecarReachable && o->postgresRunning && !running_op) {
      *why = std::string(kFencedInstancesAnnotation) + " names the primary " + name +
             ": stop its PostgreSQL; no failover while it is fenced";
      return FencedPrimaryStep::kStop;
    }
    *why = "the primary " + name + " is fenced by " + kFencedInstancesAnnotation +
           ": no failover and no other action until it is unfenced";
    return FencedPrimaryStep::kHold;
  }
  if (!in.stoppedByUs) return FencedPrimaryStep::kNone;
  if (o && o->pgReachable && !o->inRecovery) {
    if (in.seenDownByMajority) {
      *why = name + " was unfenced and answers as the primary again; waiting for the health checks to see it up " +
             "(a majority still sees it down: the planner would fail it over)";
      return FencedPrimaryStep::kWait;
    }
    *why = name + " was unfenced and answers as the primary again";
    return FencedPrimaryStep::kRelease;
  }
  if (!o || !o->sidecarReachable) {
    *why = name + " was unfenced but its sidecar does not answer: the planner takes over";
    return FencedPrimaryStep::kRelease;
  }
  if (o->operation && o->operation->kind == plan::OperationKind::kStart) {
    if (o->operation->state == plan::OperationState::kFailed) {
      *why = name + " was unfenced but its start failed (" + o->operation->error + "): the planner takes over";
      return FencedPrimaryStep::kRelease;
    }
    *why = name + " was unfenced: waiting for its start";
    return FencedPrimaryStep::kWait;
  }
  if (running_op || o->postgresRunning) {
    *why = name + " was unfenced: waiting for it to answer";
    return FencedPrimaryStep::kWait;
  }
  *why = name + " was unfenced: start its PostgreSQL again in place, as the primary";
  return FencedPrimaryStep::kStart;
}

}  // namespace pgvigil::kube
