#include "controller/kube/testing/statefulset_sim.h"

#include <cstdio>
#include <functional>

namespace pgvigil::kube::fake {

using web::json::value;

namespace {

const ResourceType* Type(ObjectStore* s, const char* group, const char* plural) {
  return s->FindType(group, "v1", plural);
}

std::string Revision(const std::string& name, const value& tmpl) {
  char buf[24];
  const size_t low40 = std::hash<std::string>{}(tmpl.serialize()) & size_t{0xffffffffff};
  std::snprintf(buf, sizeof buf, "%010zx", low40);
  return name + "-" + buf;
}

bool PodReady(const value& pod) {
  value conds = Field(pod, "status.conditions");
  if (!conds.is_array()) return false;
  for (const auto& c : conds.as_array())
    if (StringField(c, "type") == "Ready" && StringField(c, "status") == "True") return true;
  return false;
}

int Ordinal(const std::string& sts, const std::string& pod) {
  if (pod.rfind(sts + "-", 0) != 0) return -1;
  std::string rest = pod.substr(sts.size() + 1);
  if (rest.empty() || rest.size() > 6 || rest.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(rest);
}

value OwnerRef(const value& sts) {
  value r = value::object();
  r["apiVersion"] = value::string("apps/v1");
  r["kind"] = value::string("StatefulSet");
  r["name"] = value::string(StringField(sts, "metadata.name"));
  r["uid"] = value::string(StringField(sts, "metadata.uid"));
  r["controller"] = value::boolean(true);
  r["blockOwnerDeletion"] = value::boolean(true);
  return r;
}

bool OwnedBy(const value& obj, const std::string& uid) {
  value refs = Field(obj, "metadata.ownerReferences");
  if (!refs.is_array()) return false;
  for (const auto& r : refs.as_array())
    if (StringField(r, "uid") == uid) return true;
  return false;
}

class StatefulSetSync {
 public:
  StatefulSetSync(ObjectStore* store, const value& sts) : s_(store), sts_(sts) {
    name_ = StringField(sts, "metadata.name");
    ns_ = StringField(sts, "metadata.namespace");
    uid_ = StringField(sts, "metadata.uid");
    value r = Field(sts, "spec.replicas");
    replicas_ = r.is_number() ? r.as_integer() : 1;
    tmpl_ = Field(sts, "spec.template");
    revision_ = Revision(name_, tmpl_);
    parallel_ = StringField(sts, "spec.podManagementPolicy") == "Parallel";
    claims_ = Field(sts, "spec.volumeClaimTemplates");
    when_deleted_ = StringField(sts, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted");
    when_scaled_ = StringField(sts, "spec.persistentVolumeClaimRetentionPolicy.whenScaled");
  }

  void Run() {
    const ResourceType* pods = Type(s_, "", "pods");
    std::map<int, value> have;
    for (const auto& p : s_->Objects(*pods, ns_)) {
      int o = Ordinal(name_, StringField(p, "metadata.name"));
      if (o >= 0 && OwnedBy(p, uid_)) have[o] = p;
    }
    for (int i = 0; i < replicas_; ++i) {
      if (have.count(i)) continue;
      if (!parallel_ && i > 0 && (!have.count(i - 1) || !PodReady(have[i - 1]))) break;
      Claims(i);
      value pod = NewPod(i);
      Reply r = s_->Create(*pods, ns_, pod);
      if (r.code == 201) have[i] = r.body;
    }
    for (auto it = have.rbegin(); it != have.rend(); ++it) {
      if (it->first < replicas_) continue;
      s_->Delete(*pods, ns_, StringField(it->second, "metadata.name"), value::null());
      if (when_scaled_ == "Delete") DeleteClaims(it->first);
    }
    Status();
  }

 private:
  std::string ClaimName(const value& claim, int i) const {
    return StringField(claim, "metadata.name") + "-" + name_ + "-" + std::to_string(i);
  }

  void Claims(int i) {
    if (!claims_.is_array()) return;
    const ResourceType* pvcs = Type(s_, "", "persistentvolumeclaims");
    for (const auto& c : claims_.as_array()) {
      std::string claim = ClaimName(c, i);
      if (s_->Get(*pvcs, ns_, claim).code == 200) continue;
      value pvc = value::object();
      pvc["metadata"] = value::object();
      pvc["metadata"]["name"] = value::string(claim);
      value labels = Field(sts_, "spec.selector.matchLabels");
      if (labels.is_object()) pvc["metadata"]["labels"] = labels;
      if (when_deleted_ == "Delete") pvc["metadata"]["ownerReferences"] = value::array({OwnerRef(sts_)});
      pvc["spec"] = Field(c, "spec");
      s_->Create(*pvcs, ns_, pvc);
    }
  }

  void DeleteClaims(int i) {
    if (!claims_.is_array()) return;
    const ResourceType* pvcs = Type(s_, "", "persistentvolumeclaims");
    for (const auto& c : claims_.as_array()) s_->Delete(*pvcs, ns_, ClaimName(c, i), value::null());
  }

  value NewPod(int i) const {
    std::string pod_name = name_ + "-" + std::to_string(i);
    value pod = value::object();
    value meta = Field(tmpl_, "metadata").is_object() ? Field(tmpl_, "metadata") : value::object();
    meta["name"] = value::string(pod_name);
    if (!meta.has_object_field("labels")) meta["labels"] = value::object();
    meta["labels"]["statefulset.kubernetes.io/pod-name"] = value::string(pod_name);
    meta["labels"]["controller-revision-hash"] = value::string(revision_);
    meta["labels"]["apps.kubernetes.io/pod-index"] = value::string(std::to_string(i));
    meta["ownerReferences"] = value::array({OwnerRef(sts_)});
    pod["metadata"] = meta;
    value spec = Field(tmpl_, "spec").is_object() ? Field(tmpl_, "spec") : value::object();
    spec["hostname"] = value::string(pod_name);
    std::string service = StringField(sts_, "spec.serviceName");
    if (!service.empty()) spec["subdomain"] = value::string(service);
    if (claims_.is_array()) {
      std::vector<value> volumes;
      if (spec.has_array_field("volumes"))
        for (const auto& v : spec.at("volumes").as_array()) volumes.push_back(v);
      for (const auto& c : claims_.as_array()) {
        value v = value::object();
        v["name"] = value::string(StringField(c, "metadata.name"));
        v["persistentVolumeClaim"] = value::object();
        v["persistentVolumeClaim"]["claimName"] = value::string(ClaimName(c, i));
        volumes.push_back(v);
      }
      spec["volumes"] = value::array(volumes);
    }
    pod["spec"] = spec;
    return pod;
  }

  // status (the StatefulSetStatus reference): updateRevision names the current
  // template; currentRevision the revision pods were made from before it, set
  // on first sight and moved to updateRevision only by a completed
  // RollingUpdate (every pod updated and Ready): under OnDelete the StatefulSet
  // controller never completes a rollout, so it keeps naming the first
  // revision. updatedReplicas and currentReplicas count the pods labelled with
  // each (a pod being deleted counts for neither).
  void Status() {
    const ResourceType* pods = Type(s_, "", "pods");
    const ResourceType* sets = Type(s_, "apps", "statefulsets");
    Reply cur = s_->Get(*sets, ns_, name_);
    if (cur.code != 200) return;
    std::string current = StringField(cur.body, "status.currentRevision");
    if (current.empty()) current = revision_;
    int64_t count = 0, ready = 0, updated = 0, on_current = 0;
    for (const auto& p : s_->Objects(*pods, ns_)) {
      if (Ordinal(name_, StringField(p, "metadata.name")) < 0 || !OwnedBy(p, uid_)) continue;
      ++count;
      if (PodReady(p)) ++ready;
      if (!Field(p, "metadata.deletionTimestamp").is_null()) continue;
      const std::string rev = StringField(p, "metadata.labels.controller-revision-hash");
      if (rev == revision_) ++updated;
      if (rev == current) ++on_current;
    }
    if (StringField(sts_, "spec.updateStrategy.type") != "OnDelete" && updated == count && ready == count) {
      current = revision_;
      on_current = updated;
    }
    value next = cur.body;
    value st = value::object();
    st["observedGeneration"] = Field(cur.body, "metadata.generation");
    st["replicas"] = value::number(count);
    st["readyReplicas"] = value::number(ready);
    st["availableReplicas"] = value::number(ready);
    st["updatedReplicas"] = value::number(updated);
    st["currentReplicas"] = value::number(on_current);
    st["currentRevision"] = value::string(current);
    st["updateRevision"] = value::string(revision_);
    next["status"] = st;
    s_->Update(*sets, ns_, name_, next, true);
  }

  ObjectStore* s_;
  value sts_, tmpl_, claims_;
  std::string name_, ns_, uid_, revision_, when_deleted_, when_scaled_;
  int replicas_ = 1;
  bool parallel_ = false;
};

}  // namespace

void ReconcileStatefulSets(ObjectStore* store) {
  const ResourceType* sets = Type(store, "apps", "statefulsets");
  if (!sets || !Type(store, "", "pods")) return;
  for (const auto& sts : store->Objects(*sets, "")) {
    if (!Field(sts, "metadata.deletionTimestamp").is_null()) continue;
    StatefulSetSync(store, sts).Run();
  }
}

}  // namespace pgvigil::kube::fake
