// The rollout steps of kube_rollout.h (pure).
#include "controller/kube/kube_rollout.h"
#include "controller/kube/switchover_target.h"

namespace pgvigil::kube {

const char* ToString(RolloutStepKind k) {
  switch (k) {
    case RolloutStepKind::kSteady:
      return "steady";
    case RolloutStepKind::kWait:
      return "wait";
    case RolloutStepKind::kDeletePod:
      return "delete-pod";
    case RolloutStepKind::kSwitchover:
      return "switchover";
  }
  return "?";
}

namespace {

struct Stepper {
  const RolloutInputs& in;
  RolloutStep step;

  std::string Name(int ordinal) const { return InstanceName(in.cluster, ordinal); }
  const RolloutPod* Pod(const std::string& n) const {
    auto it = in.pods.find(n);
    return it == in.pods.end() ? nullptr : &it->second;
  }
  bool Outdated(const std::string& n) const {
    const RolloutPod* p = Pod(n);
    return p && !p->terminating && (p->revision != in.updateRevision || p->pendingRestart);
  }
  std::string Why(const std::string& n) const {
    const RolloutPod* p = Pod(n);
    if (p && p->revision != in.updateRevision)
      return "its pod is on revision " + (p->revision.empty() ? std::string("(none)") : p->revision);
    return "PostgreSQL has a restart-only parameter change pending";
  }
  std::string Rolling() const {
    return "rollout to " + in.updateRevision + " (" + std::to_string(step.updated) + "/" +
           std::to_string(step.members) + " updated): ";
  }
  // Empty when settled, else what is missing.
  std::string Unsettled(const std::string& n) const {
    const RolloutPod* p = Pod(n);
    if (!p) return n + " has no pod";
    if (p->terminating) return n + "'s pod is terminating";
    if (!p->ready) return n + "'s pod is not Ready";
    auto it = in.instances.find(n);
    if (it == in.instances.end()) return n + " is not observed";
    if (n == in.state.primary)
      return it->second.primary && in.state.routedPrimary == n ? "" : n + " is not the routed writable primary";
    if (!it->second.streaming) return n + " is not streaming";
    if (!plan::HasName(in.state.routedStandbys, n)) return n + " is not routed";
    return "";
  }
  RolloutStep& Wait(const std::string& why, const std::string& text) {
    step.kind = RolloutStepKind::kWait;
    step.waitReason = why;
    step.reason = Rolling() + text;
    return step;
  }
  RolloutStep& Delete(const std::string& n, const std::string& text) {
    const RolloutPod* p = Pod(n);
    step.kind = RolloutStepKind::kDeletePod;
    step.instance = n;
    step.uid = p->uid;
    step.resourceVersion = p->resourceVersion;
    step.reason = Rolling() + text;
    return step;
  }
  // A routed streaming standby on the update revision: synchronous first, then
  // the lowest ordinal.
  std::string Target() const {
    return PickSwitchoverTarget(
        in.state, in.members, [this](int i) { return Name(i); },
        [this](const std::string& n) { return !Outdated(n) && Unsettled(n).empty(); });
  }

  RolloutStep& Next() {
    step.members = in.members;
    if (in.updateRevision.empty() || !in.observed) {
      step.kind = RolloutStepKind::kWait;
      step.waitReason = "StatefulSetNotObserved";
      step.reason = "rollout: the StatefulSet's status does not yet show the update revision of its current spec";
      return step;
    }
    int outdated = 0;
    for (int i = 0; i < in.members; ++i) {
      const RolloutPod* p = Pod(Name(i));
      if (p && !p->terminating && p->revision == in.updateRevision) ++step.updated;
      if (Outdated(Name(i))) ++outdated;
    }
    if (outdated == 0 && in.finishing) {
      for (int i = 0; i < in.members; ++i) {
        const std::string missing = Unsettled(Name(i));
        if (!missing.empty())
          return Wait("InstanceNotReady", "every pod is updated; ends once " + Name(i) + " is settled: " + missing);
      }
    }
    if (outdated == 0) {
      step.reason = "every pod is on revision " + in.updateRevision;
      return step;
    }
    const plan::ClusterState& s = in.state;
    if (in.scaling) return Wait("Scaling", "waits for the scale step (scaling goes first)");
    if (s.primary.empty()) return Wait("NoPrimary", "waits for a primary");
    if (s.transition.active())
      return Wait("TransitionRunning", std::string("waits: a ") + plan::ToString(s.transition.kind) + " from " +
                                           s.transition.from + " to " + s.transition.to + " is running");
    if (!in.rebuilding.empty()) return Wait("RebuildRunning", "waits: a rebuild of " + in.rebuilding + " is running");
    for (int i = 0; i < in.members; ++i) {
      const std::string missing = Unsettled(Name(i));
      if (!missing.empty())
        return Wait("InstanceNotReady", "waits until every member is settled: " + missing);
    }
    for (int i = in.members - 1; i >= 0; --i) {
      const std::string n = Name(i);
      if (n != s.primary && Outdated(n))
        return Delete(n, "every member is settled; " + n + " is a standby and " + Why(n) +
                             ": its pod is deleted (the StatefulSet recreates it from the current template)");
    }
    // Only the primary is left.
    if (in.members == 1)
      return Delete(s.primary, "the only instance " + s.primary + " is the primary and " + Why(s.primary) +
                                   ": its pod is deleted (no standby to switch over to; writes stop until it is back)");
    const std::string to = Target();
    if (to.empty())
      return Wait("NoEligibleStandby", "the primary " + s.primary + " is the last to update and no updated member is a "
                                       "routed streaming standby to switch over to");
    step.kind = RolloutStepKind::kSwitchover;
    step.instance = s.primary;
    step.target = to;
    step.reason = Rolling() + "only the primary " + s.primary + " is left (" + Why(s.primary) + "): switch over to " +
                  to + (s.IsSynchronous(to) ? " (a synchronous standby)" : " (an updated streaming standby)") +
                  " first; its pod is deleted once it is a standby";
    return step;
  }
};

}  // namespace

RolloutStep NextRolloutStep(const RolloutInputs& in) {
  Stepper s{in, {}};
  return s.Next();
}

}  // namespace pgvigil::kube
