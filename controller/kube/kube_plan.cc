// Pod labels from the routing state and the manual fence annotation
// (KUBERNETES.md §5, §6).
#include "controller/kube/kube_plan.h"

#include <algorithm>

#include "common/strings.h"

namespace pgvigil::kube {

using web::json::value;

namespace {

bool In(const std::vector<std::string>& names, const std::string& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

}  // namespace

// ---- manual fencing ----

bool ManualFence::Contains(const std::string& instance) const { return all || In(names, instance); }

std::vector<std::string> ManualFence::Expand(const std::vector<std::string>& instances) const {
  std::vector<std::string> out;
  for (const auto& i : instances)
    if (Contains(i)) out.push_back(i);
  std::sort(out.begin(), out.end());
  return out;
}

Result<ManualFence> ParseFencedInstances(const std::string& annotation,
                                         const std::vector<std::string>& instances) {
  const std::string where = std::string("annotation ") + kFencedInstancesAnnotation;
  const std::string expected = " (expected a JSON list of instance names such as [\"" +
                               (instances.empty() ? std::string("NAME-1") : instances.back()) +
                               "\"], or [\"*\"] for all)";
  ManualFence fence;
  if (annotation.find_first_not_of(" \t\r\n") == std::string::npos) return fence;
  value v;
  try {
    v = value::parse(annotation);
  } catch (const std::exception& e) {
    return Result<ManualFence>::Error(where + ": not JSON: " + e.what() + expected);
  }
  if (!v.is_array()) return Result<ManualFence>::Error(where + ": not a list" + expected);
  for (size_t i = 0; i < v.size(); ++i) {
    const value& item = v.at(i);
    if (!item.is_string())
      return Result<ManualFence>::Error(where + ": item " + std::to_string(i) + " is not a string" +
                                        expected);
    const std::string name = item.as_string();
    if (name == "*") {
      fence.all = true;
    } else if (!In(instances, name)) {
      return Result<ManualFence>::Error(where + ": '" + name +
                                        "' is not an instance of this cluster (" +
                                        Join(instances) + ")");
    } else if (!In(fence.names, name)) {
      fence.names.push_back(name);
    }
  }
  if (fence.all) fence.names.clear();
  std::sort(fence.names.begin(), fence.names.end());
  return fence;
}

FenceChange ManualFenceChange(const ManualFence& fence, const plan::ClusterState& state,
                              const std::vector<std::string>& instances, const std::string& leaving) {
  FenceChange change;
  for (const auto& n : fence.Expand(instances))
    if (!state.IsDetached(n)) change.fence.push_back(n);
  for (const auto& n : state.detached) {
    if (!fence.Contains(n) && In(instances, n) && n != leaving) change.unfence.push_back(n);
  }
  return change;
}

// ---- labels ----

const char* ToString(PodRole r) {
  switch (r) {
    case PodRole::kPrimary:
      return "primary";
    case PodRole::kReplica:
      return "replica";
    case PodRole::kFenced:
      return "fenced";
    case PodRole::kUnrouted:
      return "unrouted";
  }
  return "?";
}

std::map<std::string, Liveness> LivenessFromWatchdog(const plan::WatchdogView& view,
                                                     const std::vector<std::string>& instances) {
  std::map<std::string, Liveness> out;
  const bool known =
      view.observedAt != 0 && !view.leader.empty() && view.quorum && view.writeLeasesKnown;
  for (const auto& i : instances)
    out[i] = !known                   ? Liveness::kUnknown
             : view.WriteLeaseOver(i) ? Liveness::kNotLive
                                      : Liveness::kLive;
  return out;
}

PodRole RoleOf(const LabelInputs& in, const std::string& instance) {
  const plan::ClusterState& s = in.state;
  // Fenced first: whatever else the state says, a fenced or outgoing primary
  // must leave NAME-rw.
  if (s.IsFenced(instance) || In(in.manuallyFenced, instance)) return PodRole::kFenced;
  if (s.transition.active() && s.transition.from == instance && s.routedPrimary != instance)
    return PodRole::kFenced;
  if (!s.routedPrimary.empty() && s.routedPrimary == instance) return PodRole::kPrimary;
  if (plan::HasName(s.routedStandbys, instance) && !s.IsDetached(instance)) {
    auto lag = in.lagBytes.find(instance);
    if (in.delayThreshold == 0 || lag == in.lagBytes.end() || lag->second <= in.delayThreshold)
      return PodRole::kReplica;
  }
  return PodRole::kUnrouted;
}

namespace {

std::string Get(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

bool Has(const std::map<std::string, std::string>& m, const std::string& key) {
  return m.count(key) > 0;
}

}  // namespace

Result<std::vector<PodPatch>> PodLabelPatches(const LabelInputs& in,
                                              const std::vector<PodMeta>& pods) {
  const std::string term = std::to_string(in.term);
  const std::string generation = std::to_string(in.state.routingGeneration);
  for (const PodMeta& pod : pods) {
    // Every patch is conditional: a pod not read from the API server has none.
    if (pod.resourceVersion.empty() && In(in.instances, pod.name))
      return Result<std::vector<PodPatch>>::Error("pod " + pod.name +
                                                  " has no metadata.resourceVersion: re-read it");
    const std::string seen = Get(pod.annotations, kTermAnnotation);
    if (seen.empty()) continue;
    uint64_t t = 0;
    try {
      t = std::stoull(seen);
    } catch (const std::exception&) {
      continue;  // not ours to judge; overwritten below
    }
    if (t > in.term)
      return Result<std::vector<PodPatch>>::Error("deposed: pod " + pod.name + " carries " +
                                                  kTermAnnotation + " " + seen +
                                                  ", newer than this controller's term " + term);
  }
  std::vector<PodPatch> demote, promote;
  for (const PodMeta& pod : pods) {
    if (!In(in.instances, pod.name)) continue;  // a pod of a removed instance: leave it
    const PodRole role = RoleOf(in, pod.name);
    value labels = value::object(), annotations = value::object();
    const std::string current = Get(pod.labels, kRoleLabel);
    if (current != ToString(role)) labels[kRoleLabel] = value::string(ToString(role));
    auto live = in.liveness.find(pod.name);
    const Liveness l = live == in.liveness.end() ? Liveness::kUnknown : live->second;
    const bool pooled = Get(pod.labels, kPoolLabel) == "true";
    bool leaves_pool = false;
    if (l == Liveness::kLive && !pooled) labels[kPoolLabel] = value::string("true");
    if (l == Liveness::kNotLive && Has(pod.labels, kPoolLabel)) {
      labels[kPoolLabel] = value::null();
      leaves_pool = pooled;
    }
    if (Get(pod.annotations, kTermAnnotation) != term)
      annotations[kTermAnnotation] = value::string(term);
    if (Get(pod.annotations, kRoutingGenerationAnnotation) != generation)
      annotations[kRoutingGenerationAnnotation] = value::string(generation);
    if (labels.size() == 0 && annotations.size() == 0) continue;
    PodPatch p;
    p.pod = pod.name;
    p.role = role;
    // Leaving NAME-rw, or NAME-ro for no Service at all: before anyone joins.
    const bool served = current == "primary" || current == "replica";
    p.demotes = leaves_pool || (current == "primary" && role != PodRole::kPrimary) ||
                (served && (role == PodRole::kFenced || role == PodRole::kUnrouted));
    p.patch["metadata"]["resourceVersion"] = value::string(pod.resourceVersion);
    if (labels.size()) p.patch["metadata"]["labels"] = labels;
    if (annotations.size()) p.patch["metadata"]["annotations"] = annotations;
    (p.demotes ? demote : promote).push_back(std::move(p));
  }
  demote.insert(demote.end(), std::make_move_iterator(promote.begin()),
                std::make_move_iterator(promote.end()));
  return demote;
}

}  // namespace pgvigil::kube
