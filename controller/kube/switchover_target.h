// The standby a scale-down or a rollout switches over to: among the eligible
// instances (given in ordinal order), a synchronous standby first, then the
// lowest ordinal. Empty when none is eligible. Pure; shared by kube_scale and
// kube_rollout, which differ only in what makes an instance eligible.
#pragma once

#include <string>

#include "controller/plan/cluster_state.h"

namespace pgvigil::kube {

// eligible(i) says whether ordinal i may take over; name(i) is its instance name.
template <class Name, class Eligible>
std::string PickSwitchoverTarget(const plan::ClusterState& state, int count, Name name, Eligible eligible) {
  std::string best;
  bool best_sync = false;
  for (int i = 0; i < count; ++i) {
    const std::string n = name(i);
    if (n == state.primary || !eligible(n)) continue;
    const bool sync = state.IsSynchronous(n);
    if (best.empty() || (sync && !best_sync)) {
      best = n;
      best_sync = sync;
    }
  }
  return best;
}

}  // namespace pgvigil::kube
