// kube-fake: the scale subresource of a custom resource (CRD
// `subresources.scale`), as `kubectl scale` and autoscalers use it. GET answers
// an autoscaling/v1 Scale (spec.replicas from specReplicasPath, status.replicas
// from statusReplicasPath, 0 while unset, status.selector from
// labelSelectorPath); PUT and PATCH change only the spec path, through the
// ordinary update, so the CRD schema (422), the resourceVersion precondition
// (409) and generation apply as to any spec change. A STAND-IN for tests.
#include "controller/kube/testing/json_patch.h"
#include "controller/kube/testing/object_store.h"

namespace pgvigil::kube::fake {

using web::json::value;

namespace {

// ".spec.instances" -> "spec.instances" (the CRD's JSON paths are simple field paths).
std::string Dotted(const std::string& json_path) {
  return !json_path.empty() && json_path[0] == '.' ? json_path.substr(1) : json_path;
}

void SetField(value* obj, const std::string& dotted, const value& v) {
  size_t dot = dotted.find('.');
  if (dot == std::string::npos) {
    (*obj)[dotted] = v;
    return;
  }
  const std::string head = dotted.substr(0, dot);
  if (!obj->has_object_field(head)) (*obj)[head] = value::object();
  SetField(&(*obj)[head], dotted.substr(dot + 1), v);
}

Reply NoScale(const ResourceType& t) {
  return StatusReply(404, "NotFound", "the server could not find the requested resource (" + t.plural +
                                          " has no scale subresource)");
}

value ScaleOf(const ResourceType& t, const value& obj) {
  const ScalePaths& p = *t.scale;
  value s = value::object();
  s["kind"] = value::string("Scale");
  s["apiVersion"] = value::string("autoscaling/v1");
  value meta = value::object();
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    value f = Field(obj, std::string("metadata.") + k);
    if (!f.is_null()) meta[k] = f;
  }
  s["metadata"] = meta;
  value spec_replicas = Field(obj, Dotted(p.specReplicas));
  value status_replicas = Field(obj, Dotted(p.statusReplicas));
  value spec = value::object();
  spec["replicas"] = spec_replicas.is_integer() ? spec_replicas : value::number(0);
  s["spec"] = spec;
  value status = value::object();
  status["replicas"] = status_replicas.is_integer() ? status_replicas : value::number(0);
  if (!p.labelSelector.empty()) {
    value sel = Field(obj, Dotted(p.labelSelector));
    if (sel.is_string()) status["selector"] = sel;
  }
  s["status"] = status;
  return s;
}

}  // namespace

Reply ObjectStore::GetScale(const ResourceType& t, const std::string& ns, const std::string& name) const {
  if (!t.scale) return NoScale(t);
  Reply r = Get(t, ns, name);
  if (r.code != 200) return r;
  return Reply{200, ScaleOf(t, r.body), {}};
}

Reply ObjectStore::UpdateScale(const ResourceType& t, const std::string& ns, const std::string& name,
                               const value& scale) {
  if (!t.scale) return NoScale(t);
  if (!scale.is_object()) return StatusReply(400, "BadRequest", "the body must be a Scale object");
  Reply cur = Get(t, ns, name);
  if (cur.code != 200) return cur;
  value replicas = Field(scale, "spec.replicas");
  if (!replicas.is_integer() || replicas.as_number().to_int64() < 0)
    return StatusReply(422, "Invalid", "Scale.autoscaling \"" + name + "\" is invalid: spec.replicas: Invalid value: " +
                                           replicas.serialize() + ": must be an integer, 0 or more");
  std::string want_rv = StringField(scale, "metadata.resourceVersion");
  value next = cur.body;
  // The precondition, when the Scale carries one, is the object's resourceVersion.
  if (!want_rv.empty()) next["metadata"]["resourceVersion"] = value::string(want_rv);
  SetField(&next, Dotted(t.scale->specReplicas), replicas);
  Reply updated = Update(t, ns, name, next, /*status=*/false);
  if (updated.code != 200) return updated;
  return Reply{200, ScaleOf(t, updated.body), {}};
}

Reply ObjectStore::PatchScale(const ResourceType& t, const std::string& ns, const std::string& name, PatchType type,
                              const std::string& body) {
  if (!t.scale) return NoScale(t);
  if (type == PatchType::kApply)
    return StatusReply(415, "UnsupportedMediaType",
                       "kube-fake: server-side apply of a scale subresource is not emulated; use a merge or JSON patch");
  Reply cur = GetScale(t, ns, name);
  if (cur.code != 200) return cur;
  value patch;
  try {
    patch = value::parse(body);
  } catch (const std::exception& e) {
    return StatusReply(400, "BadRequest", std::string("error decoding patch: ") + e.what());
  }
  value next;
  if (type == PatchType::kJson) {
    auto r = JsonPatch(cur.body, patch);
    if (!r.ok()) {
      bool malformed = r.error().rfind("malformed", 0) == 0;
      return StatusReply(malformed ? 400 : 422, malformed ? "BadRequest" : "Invalid", r.error());
    }
    next = *r;
  } else {
    // Merge patch, and strategic merge (Scale is a built-in kind: it has no lists to merge).
    if (!patch.is_object()) return StatusReply(400, "BadRequest", "a merge patch is an object");
    next = MergePatch(cur.body, patch);
  }
  return UpdateScale(t, ns, name, next);
}

}  // namespace pgvigil::kube::fake
