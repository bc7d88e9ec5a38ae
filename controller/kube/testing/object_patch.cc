// PATCH in kube-fake: merge patch (RFC 7386), JSON patch (RFC 6902), a
// simplified server-side apply (the applied configuration merged like a merge
// patch; field ownership is recorded per manager but conflicts between
// managers are not detected), and strategic merge patch treated as a merge
// patch for built-in kinds and refused (415) for custom resources, as the API
// server does.
#include <yaml-cpp/yaml.h>

#include "controller/kube/testing/json_patch.h"
#include "controller/kube/testing/object_store.h"
#include "controller/kube/testing/schema_check.h"

namespace pgvigil::kube::fake {

using web::json::value;

namespace {

value& Meta(value& obj) {
  if (!obj.has_object_field("metadata")) obj["metadata"] = value::object();
  return obj["metadata"];
}

void RecordManager(value* obj, const std::string& manager, const std::string& operation, const std::string& api) {
  std::vector<value> entries;
  value cur = Field(*obj, "metadata.managedFields");
  if (cur.is_array())
    for (const auto& e : cur.as_array())
      if (StringField(e, "manager") != manager) entries.push_back(e);
  value e = value::object();
  e["manager"] = value::string(manager);
  e["operation"] = value::string(operation);
  e["apiVersion"] = value::string(api);
  e["fieldsType"] = value::string("FieldsV1");
  entries.push_back(e);
  Meta(*obj)["managedFields"] = value::array(entries);
}

}  // namespace

Reply ObjectStore::Patch(const ResourceType& t, const std::string& ns, const std::string& name, PatchType type,
                         const std::string& body, bool status, const PatchOptions& options) {
  if (type == PatchType::kStrategic && t.custom)
    return StatusReply(415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format - accepted media types include: "
                       "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
  value patch;
  try {
    if (type == PatchType::kApply) {
      patch = YamlToJson(YAML::Load(body));
    } else {
      patch = value::parse(body);
    }
  } catch (const std::exception& e) {
    return StatusReply(400, "BadRequest", std::string("error decoding patch: ") + e.what());
  }
  if (type == PatchType::kApply && options.fieldManager.empty())
    return StatusReply(422, "Invalid",
                       "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
  std::string key = Key(t, ns, name);
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    if (type != PatchType::kApply || status) return Get(t, ns, name);  // 404
    if (!patch.is_object()) return StatusReply(400, "BadRequest", "an applied configuration is an object");
    std::string body_name = StringField(patch, "metadata.name");
    if (!body_name.empty() && body_name != name)
      return StatusReply(400, "BadRequest", "the name of the object does not match the name on the URL");
    Meta(patch)["name"] = value::string(name);
    RecordManager(&patch, options.fieldManager, "Apply", t.ApiVersion());
    return Create(t, ns, patch);
  }
  value cur = it->second, next;
  if (type == PatchType::kJson) {
    auto r = JsonPatch(cur, patch);
    if (!r.ok()) {
      bool malformed = r.error().rfind("malformed", 0) == 0;
      return StatusReply(malformed ? 400 : 422, malformed ? "BadRequest" : "Invalid", r.error());
    }
    next = *r;
  } else {
    if (!patch.is_object()) return StatusReply(400, "BadRequest", "a merge patch or applied configuration is an object");
    std::string want_rv = StringField(patch, "metadata.resourceVersion");
    if (!want_rv.empty() && want_rv != StringField(cur, "metadata.resourceVersion"))
      return StatusReply(409, "Conflict",
                         "Operation cannot be fulfilled on " + (t.group.empty() ? t.plural : t.plural + "." + t.group) +
                             " \"" + name + "\": the object has been modified; please apply your changes to the "
                             "latest version and try again");
    next = MergePatch(cur, patch);
    if (type == PatchType::kApply) RecordManager(&next, options.fieldManager, "Apply", t.ApiVersion());
  }
  if (StringField(next, "metadata.resourceVersion") != StringField(cur, "metadata.resourceVersion")) {
    // A JSON patch that replaces the resourceVersion asks for that version.
    return StatusReply(409, "Conflict", "Operation cannot be fulfilled on " + t.plural + " \"" + name +
                                            "\": the object has been modified; please apply your changes to the "
                                            "latest version and try again");
  }
  if (t.statusSubresource) {
    value merged = status ? cur : next;
    const value& from = status ? next : cur;
    if (from.has_field("status")) merged["status"] = from.at("status");
    else if (merged.has_field("status")) merged.erase("status");
    next = merged;
  }
  Reply invalid = ValidateCustom(t, &next);
  if (invalid.code != 200) return invalid;
  return Replace(t, key, cur, next);
}

}  // namespace pgvigil::kube::fake
