// KubeController::SyncRollout: the rolling update of kube_rollout.h carried out
// by the acting controller. Each sync it reads the StatefulSet (its
// status.updateRevision, observed for its current generation) and the
// cluster's pods (revision label, uid, resourceVersion, Ready, terminating),
// asks NextRolloutStep, logs the step when its reason changes, and:
//  - delete-pod: DELETE of the pod with preconditions {uid, resourceVersion}
//    as read and the pods' grace period; a 409 (the pod changed or was
//    replaced since the read) or a 404 is logged and the next sync looks again;
//    a pod uid is deleted once;
//  - switchover: the planner's switchover (the path vigilctl's requests take),
//    sent once and again after 30 s if it has not happened.
// Deletes and switchovers are recorded as Events, and the rollout's end too.
#include <spdlog/spdlog.h>

#include "controller/kube/kube_controller.h"
#include "controller/kube/kube_plan.h"
#include "controller/kube/render_labels.h"
#include "controller/kube/render_objects.h"
#include "controller/kube/status_codec.h"

namespace pgvigil::kube {

using web::json::value;

namespace {

constexpr char kRevisionLabel[] = "controller-revision-hash";

std::string Text(const value& o, const std::string& a, const std::string& b) {
  if (!o.has_object_field(a)) return "";
  const value& inner = o.at(a);
  return inner.has_string_field(b) ? inner.at(b).as_string() : "";
}

RolloutPod PodOf(const value& pod) {
  RolloutPod p;
  const value meta = pod.has_object_field("metadata") ? pod.at("metadata") : value::object();
  p.uid = meta.has_string_field("uid") ? meta.at("uid").as_string() : "";
  p.resourceVersion = meta.has_string_field("resourceVersion") ? meta.at("resourceVersion").as_string() : "";
  p.revision = Text(meta, "labels", kRevisionLabel);
  p.terminating = meta.has_field("deletionTimestamp") && !meta.at("deletionTimestamp").is_null();
  if (pod.has_object_field("status") && pod.at("status").has_array_field("conditions"))
    for (const auto& c : pod.at("status").at("conditions").as_array())
      if (c.has_string_field("type") && c.at("type").as_string() == "Ready" && c.has_string_field("status") &&
          c.at("status").as_string() == "True")
        p.ready = true;
  return p;
}

int64_t Number(const value& o, const std::string& a, const std::string& b) {
  if (!o.has_object_field(a) || !o.at(a).has_number_field(b)) return -1;
  return o.at(a).at(b).as_number().to_int64();
}

}  // namespace

void KubeController::SyncRollout(Cluster& c, const std::string& key, const value& cr) {
  if (!c.reconciler || !c.reconciler->acting() || elector_->ActingTerm() == 0 || c.members <= 0) {
    c.rollout.reset();
    return;
  }
  const std::string ns = key.substr(0, key.find('/')), name = key.substr(key.find('/') + 1);
  RolloutInputs in;
  in.cluster = name;
  in.members = c.members;
  in.scaling = c.scale && c.scale->scaling();
  auto sts = client_->Get(ResourcePath("apps", "v1", "statefulsets", ns, name));
  if (!sts.ok() || !sts->ok()) {
    spdlog::debug("PostgresCluster {}: rollout: StatefulSet not read: {}", key,
                  sts.ok() ? sts->Describe() : sts.error());
    return;  // the last step stays; the next sync reads again
  }
  in.updateRevision = Text(sts->body, "status", "updateRevision");
  in.observed = Number(sts->body, "status", "observedGeneration") >= 0 &&
                Number(sts->body, "status", "observedGeneration") == Number(sts->body, "metadata", "generation");
  auto pods = client_->List(ResourcePath("", "v1", "pods", ns),
                            "labelSelector=" + QueryEscape(std::string(kClusterLabel) + "=" + name));
  if (!pods.ok()) {
    spdlog::debug("PostgresCluster {}: rollout: pods not listed: {}", key, pods.error());
    return;
  }
  for (const auto& p : pods->items) {
    const std::string pod = Text(p, "metadata", "name");
    if (!pod.empty()) in.pods[pod] = PodOf(p);
  }
  if (cr.has_object_field("status")) {
    auto decoded = DecodeStatusState(cr.at("status"));
    if (decoded.ok()) in.state = decoded->state;
  }
  const ClusterStatus status = c.reconciler->GetStatus();
  in.instances = ObservedInstances(status);
  for (const auto& n : status.nodes)
    if (!n.pendingRestart.empty() && in.pods.count(n.name)) in.pods[n.name].pendingRestart = true;
  for (const auto& op : status.operations)
    if (op.type == "rebuild" && op.state == "running") in.rebuilding = op.node;

  const bool was_rolling = c.rollout && c.rollout->rolling();
  in.finishing = was_rolling;
  const RolloutStep step = NextRolloutStep(in);
  c.rollout = step;
  c.updateRevision = in.updateRevision;
  if (step.reason != c.rolloutLogged) {
    spdlog::info("PostgresCluster {}: rollout {}: {}", key, ToString(step.kind), step.reason);
    c.rolloutLogged = step.reason;
  }
  switch (step.kind) {
    case RolloutStepKind::kSteady:
      if (was_rolling && c.actuator)
        c.actuator->Emit("Normal", "RolloutComplete", "Rollout", step.reason);
      break;
    case RolloutStepKind::kWait:
      break;
    case RolloutStepKind::kDeletePod: {
      if (step.uid == c.rolloutDeletedUid) break;  // deleted; its replacement is not listed yet
      auto r = client_->Delete(ResourcePath("", "v1", "pods", ns, step.instance),
                               DeleteOptionsFor(step.uid, step.resourceVersion, kTerminationGraceSeconds));
      const std::string outcome = !r.ok() ? r.error() : r->ok() ? "deleted" : r->Describe();
      if (r.ok() && (r->ok() || r->code == 404)) c.rolloutDeletedUid = step.uid;
      const bool done = r.ok() && r->ok();
      spdlog::log(done ? spdlog::level::info : spdlog::level::warn,
                  "PostgresCluster {}: rollout: DELETE pod {} (uid {}, resourceVersion {}): {}; {}", key,
                  step.instance, step.uid, step.resourceVersion, outcome, step.reason);
      if (c.actuator)
        c.actuator->Emit(done ? "Normal" : "Warning", done ? "RolloutPodDeleted" : "RolloutPodDeleteFailed", "Rollout",
                         "pod " + step.instance + " " + outcome + ": " + step.reason);
      break;
    }
    case RolloutStepKind::kSwitchover: {
      const std::string what = "switchover " + step.instance + " " + step.target;
      const bool first = c.rolloutRequested.what != what;
      RequestOnce(&c.rolloutRequested, key, "rollout", what, step.reason,
                  [&] { return c.reconciler->RequestSwitchover(step.target); });
      if (first && c.actuator) c.actuator->Emit("Normal", "RolloutSwitchover", "Rollout", step.reason);
      break;
    }
  }
}

}  // namespace pgvigil::kube
