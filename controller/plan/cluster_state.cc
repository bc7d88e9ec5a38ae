#include "controller/plan/cluster_state.h"

#include <algorithm>

namespace pgvigil::plan {

const char* ToString(TransitionKind k) {
  switch (k) {
    case TransitionKind::kNone:
      return "none";
    case TransitionKind::kFailover:
      return "failover";
    case TransitionKind::kSwitchover:
      return "switchover";
  }
  return "?";
}

const char* ToString(TransitionStep s) {
  switch (s) {
    case TransitionStep::kFencing:
      return "fencing";
    case TransitionStep::kPaused:
      return "paused";
    case TransitionStep::kStopping:
      return "stopping";
    case TransitionStep::kPromoting:
      return "promoting";
  }
  return "?";
}

bool ClusterState::IsFenced(const std::string& node) const { return HasName(fenced, node); }
bool ClusterState::IsDetached(const std::string& node) const { return HasName(detached, node); }
bool ClusterState::IsSynchronous(const std::string& node) const {
  return HasName(synchronousStandbys, node);
}

bool operator==(const Transition& a, const Transition& b) {
  return a.kind == b.kind && a.from == b.from && a.to == b.to && a.step == b.step &&
         a.startedAt == b.startedAt && a.stopLsn == b.stopLsn;
}

bool operator==(const ClusterState& a, const ClusterState& b) {
  return a.version == b.version && a.primary == b.primary && a.timeline == b.timeline &&
         a.routingGeneration == b.routingGeneration && a.routedPrimary == b.routedPrimary &&
         a.routedStandbys == b.routedStandbys && a.routedWeights == b.routedWeights &&
         a.synchronousStandbys == b.synchronousStandbys &&
         a.synchronousCount == b.synchronousCount && a.syncShrinkLsn == b.syncShrinkLsn &&
         a.fenced == b.fenced && a.detached == b.detached && a.transition == b.transition &&
         a.switchoverBackoffUntil == b.switchoverBackoffUntil;
}

void AddName(std::vector<std::string>* names, const std::string& name) {
  auto it = std::lower_bound(names->begin(), names->end(), name);
  if (it == names->end() || *it != name) names->insert(it, name);
}

void RemoveName(std::vector<std::string>* names, const std::string& name) {
  names->erase(std::remove(names->begin(), names->end(), name), names->end());
}

bool HasName(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace pgvigil::plan
