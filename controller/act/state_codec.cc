#include "controller/act/state_codec.h"

namespace pgvigil {

ClusterStateDoc ToClusterStateDoc(const plan::ClusterState& s) {
  ClusterStateDoc d;
  d.version = s.version;
  d.primary = s.primary;
  d.timeline = s.timeline;
  d.routingGeneration = s.routingGeneration;
  d.routedPrimary = s.routedPrimary;
  d.routedStandbys = s.routedStandbys;
  d.routedWeights = s.routedWeights;
  d.synchronousStandbys = s.synchronousStandbys;
  d.synchronousCount = s.synchronousCount;
  d.syncShrinkLsn = s.syncShrinkLsn;
  d.fenced = s.fenced;
  d.detached = s.detached;
  d.switchoverBackoffUntil = s.switchoverBackoffUntil;
  if (s.transition.active()) {
    ClusterStateTransitionDoc t;
    t.kind = static_cast<int64_t>(s.transition.kind);
    t.from = s.transition.from;
    t.to = s.transition.to;
    t.step = static_cast<int64_t>(s.transition.step);
    t.startedAt = s.transition.startedAt;
    t.stopLsn = s.transition.stopLsn;
    d.transition = t;
  }
  return d;
}

web::json::value EncodeClusterState(const plan::ClusterState& s) { return ToJson(ToClusterStateDoc(s)); }

Result<plan::ClusterState> DecodeClusterState(const web::json::value& doc) {
  auto d = ClusterStateDocFromJsonStrict(doc);
  if (!d.ok()) return Result<plan::ClusterState>::Error(d.error());
  plan::ClusterState s;
  s.version = d->version;
  s.primary = d->primary;
  s.timeline = static_cast<uint32_t>(d->timeline);
  s.routingGeneration = d->routingGeneration;
  s.routedPrimary = d->routedPrimary;
  s.routedStandbys = d->routedStandbys;
  s.routedWeights = d->routedWeights;
  s.synchronousStandbys = d->synchronousStandbys;
  s.synchronousCount = static_cast<int>(d->synchronousCount);
  s.syncShrinkLsn = d->syncShrinkLsn;
  s.fenced = d->fenced;
  s.detached = d->detached;
  s.switchoverBackoffUntil = d->switchoverBackoffUntil;
  if (d->transition) {  // kind 1..2 and step 0..3: checked by the reader
    s.transition.kind = static_cast<plan::TransitionKind>(d->transition->kind);
    s.transition.from = d->transition->from;
    s.transition.to = d->transition->to;
    s.transition.step = static_cast<plan::TransitionStep>(d->transition->step);
    s.transition.startedAt = d->transition->startedAt;
    s.transition.stopLsn = d->transition->stopLsn;
  }
  return s;
}

}  // namespace pgvigil
