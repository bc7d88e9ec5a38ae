// A manually fenced primary (pgvigil.io/fenced-instances naming the instance the
// state calls primary; KUBERNETES.md §6): its PostgreSQL is stopped and it is not
// failed over; once its name is removed it starts again in place, as the
// primary. Pure: the kube actuator (kube_actuator.h) asks each acting round what
// to do and carries it out.
//  - fenced: labelled fenced (out of NAME-rw) by the labels; then `stop` (fast,
//    under the term) while PostgreSQL runs; every round holds the planner's
//    actions (no failover, no other change) while the primary is fenced;
//  - unfenced, if this controller stopped it: `start` under the term (the data
//    directory is a primary's: it starts as the primary), actions held while
//    the start runs; released once it answers as a writable primary, or when
//    the start failed or it cannot be reached (the planner then does what it
//    does with a primary that is down: fail over, the old primary rejoining
//    by rewind).
// "Stopped by us" is what status.fencedPrimary records (the kube actuator
// writes it by CAS before the stop), so a new leader restarts it in place too.
// A primary found stopped with no record (stopped by something else) is
// released at once, and the planner fails over.
#pragma once

#include <string>

#include "controller/plan/observation.h"

namespace pgvigil::kube {

enum class FencedPrimaryStep {
  kNone,     // not fenced and nothing to restart: act as usual
  kStop,     // fenced and running: stop it, hold the round
  kHold,     // fenced and stopped (or being stopped): hold the round
  kStart,    // unfenced, stopped by us: start it, hold the round
  kWait,     // its start runs, or it starts up: hold the round
  kRelease,  // unfenced and back as primary, or the restart gave up: act as usual
};
const char* ToString(FencedPrimaryStep s);

struct FencedPrimaryInputs {
  bool fenced = false;        // the annotation names the primary
  bool stoppedByUs = false;   // the acting controller (this one or a predecessor) stopped it for the fence
  const plan::NodeObservation* node = nullptr;  // the primary's observation (may be null)
  // The health view the planner fails over on still has a majority seeing the
  // primary down (plan::Context::ConsensusDown): the sidecars' health checks
  // have not seen it back yet. Released now, the round would fail it over.
  bool seenDownByMajority = false;
};

// The step, and in *why the reason to log.
FencedPrimaryStep DecideFencedPrimary(const FencedPrimaryInputs& in, std::string* why);

}  // namespace pgvigil::kube
