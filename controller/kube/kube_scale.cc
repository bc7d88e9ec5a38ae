// The scale steps of kube_scale.h (pure).
#include "controller/kube/kube_scale.h"
#include "controller/kube/switchover_target.h"

#include <algorithm>

namespace pgvigil::kube {

const char* ToString(ScaleStepKind k) {
  switch (k) {
    case ScaleStepKind::kSteady:
      return "steady";
    case ScaleStepKind::kWait:
      return "wait";
    case ScaleStepKind::kAddInstance:
      return "add-instance";
    case ScaleStepKind::kSwitchover:
      return "switchover";
    case ScaleStepKind::kDetach:
      return "detach";
    case ScaleStepKind::kRemoveMember:
      return "remove-member";
    case ScaleStepKind::kRemoveReplica:
      return "remove-replica";
  }
  return "?";
}

namespace {

int Majority(int members) { return members / 2 + 1; }

struct Stepper {
  const ScaleInputs& in;
  ScaleStep step;

  std::string Name(int ordinal) const { return InstanceName(in.cluster, ordinal); }
  std::string Scaling() const {
    return "scaling " + std::to_string(in.members) + " -> " + std::to_string(in.desired) + ": ";
  }
  // The primary, or a standby that streams and is routed.
  bool Settled(const std::string& n) const {
    auto it = in.instances.find(n);
    if (it == in.instances.end()) return false;
    if (n == in.state.primary) return it->second.primary && in.state.routedPrimary == n;
    return it->second.streaming && plan::HasName(in.state.routedStandbys, n);
  }
  int SettledAmong(int count) const {
    int live = 0;
    for (int i = 0; i < count; ++i) live += Settled(Name(i)) ? 1 : 0;
    return live;
  }
  ScaleStep& Wait(const std::string& why, const std::string& text) {
    step.kind = ScaleStepKind::kWait;
    step.waitReason = why;
    step.reason = Scaling() + text;
    return step;
  }
  ScaleStep& Do(ScaleStepKind kind, const std::string& instance, const std::string& text) {
    step.kind = kind;
    step.instance = instance;
    step.reason = Scaling() + text;
    return step;
  }

  ScaleStep& Grow() {
    const int m = in.members;
    const std::string joining = Name(m);
    for (int i = 0; i < m; ++i) {
      if (!Settled(Name(i)))
        return Wait("InstanceNotStreaming", "adding " + joining + " waits: " + Name(i) +
                                                " is not yet the routed primary or a routed streaming standby");
    }
    step.members = m + 1;
    step.replicas = std::max(in.replicas, m + 1);
    return Do(ScaleStepKind::kAddInstance, joining,
              "every member is settled: " + joining + " joins (members " + std::to_string(m) + " -> " +
                  std::to_string(m + 1) + ", StatefulSet replicas " + std::to_string(step.replicas) +
                  "); the planner rebuilds it from the primary and routes it once it streams");
  }

  // The best new primary among the members that stay: a routed streaming
  // standby, synchronous ones first, then the lowest ordinal.
  std::string SwitchoverTarget(int staying) const {
    return PickSwitchoverTarget(
        in.state, staying, [this](int i) { return Name(i); }, [this](const std::string& n) { return Settled(n); });
  }

  ScaleStep& Shrink() {
    const int m = in.members;
    const std::string leaving = Name(m - 1);
    const plan::ClusterState& s = in.state;
    if (leaving == s.primary) {
      const std::string to = SwitchoverTarget(m - 1);
      if (to.empty())
        return Wait("NoEligibleStandby", "removing the primary " + leaving +
                                             " needs a switchover first, and no remaining member is a routed "
                                             "streaming standby");
      step.target = to;
      return Do(ScaleStepKind::kSwitchover, leaving,
                leaving + " is the primary and leaves: switch over to " + to +
                    (s.IsSynchronous(to) ? " (a synchronous standby)" : " (a routed streaming standby)") +
                    " first");
    }
    if (!s.IsDetached(leaving))
      return Do(ScaleStepKind::kDetach, leaving, leaving + " leaves: out of routing first (detach)");
    if (plan::HasName(s.routedStandbys, leaving) || s.routedPrimary == leaving)
      return Wait("RoutingNotUpdated", "removing " + leaving + " waits for routing without it");
    const int live = SettledAmong(m - 1);
    if (m - 1 >= 3 && live < Majority(m - 1))
      return Wait("WouldLoseMajority", "removing " + leaving + " waits: " + std::to_string(live) + " of the " +
                                           std::to_string(m - 1) + " remaining members are settled, a majority is " +
                                           std::to_string(Majority(m - 1)));
    step.members = m - 1;
    return Do(ScaleStepKind::kRemoveMember, leaving,
              leaving + " is out of routing: it leaves the membership (members " + std::to_string(m) + " -> " +
                  std::to_string(m - 1) + "; its pod stays until the membership is in force)");
  }

  ScaleStep& Next() {
    step.members = in.members;
    step.replicas = in.replicas;
    const plan::ClusterState& s = in.state;
    if (in.replicas < in.members) {
      step.replicas = in.members;
      return Do(ScaleStepKind::kAddInstance, Name(in.replicas),
                "the StatefulSet has " + std::to_string(in.replicas) + " replicas for " +
                    std::to_string(in.members) + " members: replicas " + std::to_string(in.members));
    }
    if (in.desired == in.members && in.replicas == in.members) {
      step.kind = ScaleStepKind::kSteady;
      step.reason = std::to_string(in.members) + " instances, as the spec asks";
      return step;
    }
    // Pods beyond the membership (a member removed): their replicas go, one at a
    // time, unless the spec wants them back.
    if (in.replicas > in.members && in.desired <= in.members) {
      const std::string leaving = Name(in.replicas - 1);
      step.replicas = in.replicas - 1;
      return Do(ScaleStepKind::kRemoveReplica, leaving,
                leaving + " is no longer a member: StatefulSet replicas " + std::to_string(in.replicas) + " -> " +
                    std::to_string(step.replicas) + " (its pod is deleted)");
    }
    if (s.primary.empty()) return Wait("NoPrimary", "waits for a primary (bootstrap first)");
    if (s.transition.active())
      return Wait("TransitionRunning", std::string("waits: a ") + plan::ToString(s.transition.kind) + " from " +
                                           s.transition.from + " to " + s.transition.to + " is running");
    return in.desired > in.members ? Grow() : Shrink();
  }
};

}  // namespace

ClusterResource AtScale(const ClusterResource& full, int members, int replicas) {
  ClusterResource r = full;
  if (members > 0 && members < static_cast<int>(r.spec.nodes.size())) r.spec.nodes.resize(members);
  r.instances = static_cast<int>(r.spec.nodes.size());
  r.replicas = replicas > r.instances ? replicas : 0;
  return r;
}

ScaleStep NextScaleStep(const ScaleInputs& in) {
  Stepper s{in, {}};
  return s.Next();
}

}  // namespace pgvigil::kube
