// Storage semantics of kube-fake: create, read, list, update, delete, history.
#include "controller/kube/testing/object_store.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "controller/kube/testing/schema_check.h"

namespace pgvigil::kube::fake {

using web::json::value;

std::string RvString(uint64_t rv) { return std::to_string(rv); }

std::optional<uint64_t> ParseRv(const std::string& rv) {
  if (rv.empty() || rv.size() > 19 || rv.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(rv);
}

std::vector<ResourceType> BuiltinTypes() {
  auto t = [](std::string group, std::string version, std::string plural, std::string kind, bool ns, bool status,
              bool generation) {
    ResourceType r;
    r.group = std::move(group);
    r.version = std::move(version);
    r.plural = std::move(plural);
    r.kind = std::move(kind);
    r.namespaced = ns;
    r.statusSubresource = status;
    r.generation = generation;
    r.schema = value::null();
    return r;
  };
  return {t("", "v1", "pods", "Pod", true, true, false),
          t("", "v1", "services", "Service", true, true, false),
          t("", "v1", "configmaps", "ConfigMap", true, false, false),
          t("", "v1", "secrets", "Secret", true, false, false),
          t("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, true, false),
          t("", "v1", "nodes", "Node", false, true, false),
          t("apps", "v1", "statefulsets", "StatefulSet", true, true, true),
          t("coordination.k8s.io", "v1", "leases", "Lease", true, false, false),
          t("events.k8s.io", "v1", "events", "Event", true, false, false),
          t("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, true, true)};
}

std::optional<ResourceType> TypeFromCrd(const std::string& crd_yaml, std::string* error) {
  std::istringstream in(crd_yaml);
  std::string line, text;
  while (std::getline(in, line)) {
    size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 2, "{{") == 0) continue;
    text += line + "\n";
  }
  try {
    YAML::Node crd = YAML::Load(text);
    YAML::Node spec = crd["spec"];
    ResourceType t;
    t.group = spec["group"].Scalar();
    t.plural = spec["names"]["plural"].Scalar();
    t.kind = spec["names"]["kind"].Scalar();
    t.namespaced = spec["scope"].Scalar() == "Namespaced";
    t.custom = true;
    t.generation = true;
    for (const auto& v : spec["versions"]) {
      if (!v["storage"].as<bool>()) continue;
      t.version = v["name"].Scalar();
      t.statusSubresource = v["subresources"] && v["subresources"]["status"];
      if (v["subresources"] && v["subresources"]["scale"]) {
        YAML::Node s = v["subresources"]["scale"];
        t.scale = ScalePaths{s["specReplicasPath"].Scalar(), s["statusReplicasPath"].Scalar(),
                             s["labelSelectorPath"] ? s["labelSelectorPath"].Scalar() : std::string()};
      }
      t.schema = YamlToJson(v["schema"]["openAPIV3Schema"]);
    }
    if (t.version.empty()) {
      *error = "the CRD has no storage version";
      return std::nullopt;
    }
    return t;
  } catch (const YAML::Exception& e) {
    *error = std::string("reading the CRD: ") + e.what();
    return std::nullopt;
  }
}

ObjectStore::ObjectStore(size_t history_limit) : historyLimit_(history_limit) {}

void ObjectStore::AddType(const ResourceType& type) { types_[type.Id()] = type; }

const ResourceType* ObjectStore::FindType(const std::string& group, const std::string& version,
                                          const std::string& plural) const {
  auto it = types_.find(group + "/" + plural);
  return it != types_.end() && it->second.version == version ? &it->second : nullptr;
}

bool ObjectStore::HasGroupVersion(const std::string& group, const std::string& version) const {
  for (const auto& [id, t] : types_)
    if (t.group == group && t.version == version) return true;
  return false;
}

std::vector<ResourceType> ObjectStore::Types() const {
  std::vector<ResourceType> out;
  for (const auto& [id, t] : types_) out.push_back(t);
  return out;
}

std::string ObjectStore::Key(const ResourceType& t, const std::string& ns, const std::string& name) const {
  return t.Id() + "|" + (t.namespaced ? ns : "") + "|" + name;
}

namespace {

std::string Resource(const ResourceType& t) { return t.group.empty() ? t.plural : t.plural + "." + t.group; }

value Details(const ResourceType& t, const std::string& name) {
  value d = value::object();
  d["name"] = value::string(name);
  d["group"] = value::string(t.group);
  d["kind"] = value::string(t.plural);
  return d;
}

Reply NotFound(const ResourceType& t, const std::string& name) {
  return StatusReply(404, "NotFound", Resource(t) + " \"" + name + "\" not found", Details(t, name));
}

Reply Conflict(const ResourceType& t, const std::string& name, const std::string& why) {
  return StatusReply(409, "Conflict", "Operation cannot be fulfilled on " + Resource(t) + " \"" + name + "\": " + why,
                     Details(t, name));
}

value& Meta(value& obj) {
  if (!obj.has_object_field("metadata")) obj["metadata"] = value::object();
  return obj["metadata"];
}

// Everything but metadata and status: what moves metadata.generation.
value SpecPart(const value& obj) {
  value v = obj;
  if (v.is_object()) {
    if (v.has_field("metadata")) v.erase("metadata");
    if (v.has_field("status")) v.erase("status");
  }
  return v;
}

std::string Hex(const std::string& s) {
  std::string out;
  char buf[3];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

std::string Unhex(const std::string& s) {
  std::string out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

void ObjectStore::Record(const std::string& type, const ResourceType& t, const value& obj, const value& before) {
  history_.push_back(WatchEvent{rv_, type, t.Id(), obj, before});
  while (history_.size() > historyLimit_) {
    compacted_ = history_.front().rv;
    history_.pop_front();
  }
}

std::optional<std::vector<WatchEvent>> ObjectStore::EventsAfter(uint64_t rv) const {
  if (rv < compacted_) return std::nullopt;
  std::vector<WatchEvent> out;
  for (const auto& e : history_)
    if (e.rv > rv) out.push_back(e);
  return out;
}

void ObjectStore::Compact() {
  history_.clear();
  compacted_ = rv_;
}

std::vector<value> ObjectStore::Objects(const ResourceType& t, const std::string& ns) const {
  std::vector<value> out;
  std::string prefix = t.Id() + "|" + (ns.empty() || !t.namespaced ? "" : ns + "|");
  for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.rfind(prefix, 0) == 0; ++it)
    out.push_back(it->second);
  return out;
}

Reply ObjectStore::ValidateCustom(const ResourceType& t, value* obj) const {
  if (!t.custom || t.schema.is_null()) return Reply{};
  auto errors = ValidateAndPrune(t.schema, obj);
  if (errors.empty()) return Reply{};
  std::string name = StringField(*obj, "metadata.name");
  value details = Details(t, name);
  std::vector<value> causes;
  std::string message = t.kind + "." + t.group + " \"" + name + "\" is invalid: ";
  for (size_t i = 0; i < errors.size(); ++i) {
    value c = value::object();
    c["reason"] = value::string(errors[i].message == "Required value" ? "FieldValueRequired" : "FieldValueInvalid");
    c["message"] = value::string(errors[i].message);
    c["field"] = value::string(errors[i].field);
    causes.push_back(c);
    message += (i ? ", " : "") + errors[i].field + ": " + errors[i].message;
  }
  details["kind"] = value::string(t.kind);
  details["causes"] = value::array(causes);
  return StatusReply(422, "Invalid", message, details);
}

void ObjectStore::AfterWrite() {
  if (!afterWrite_ || inHook_) return;
  inHook_ = true;
  afterWrite_();
  inHook_ = false;
}

Reply ObjectStore::Create(const ResourceType& t, const std::string& ns, value body) {
  if (!body.is_object()) return StatusReply(400, "BadRequest", "the body must be a JSON object");
  // Top-level changes first: a reference into a JSON object dies when it grows.
  body["apiVersion"] = value::string(t.ApiVersion());
  body["kind"] = value::string(t.kind);
  if (t.statusSubresource && body.has_field("status")) body.erase("status");
  value& meta = Meta(body);
  std::string name = StringField(body, "metadata.name");
  if (name.empty() && meta.has_string_field("generateName"))
    name = meta.at("generateName").as_string() + Hex(std::to_string(++uidCounter_ * 7919)).substr(0, 5);
  if (name.empty()) return StatusReply(422, "Invalid", "metadata.name: Required value: name or generateName is required");
  std::string body_ns = StringField(body, "metadata.namespace");
  if (t.namespaced && !body_ns.empty() && body_ns != ns)
    return StatusReply(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
  std::string key = Key(t, ns, name);
  if (objects_.count(key))
    return StatusReply(409, "AlreadyExists", Resource(t) + " \"" + name + "\" already exists", Details(t, name));
  meta["name"] = value::string(name);
  if (t.namespaced) meta["namespace"] = value::string(ns);
  char uid[40];
  ++uidCounter_;
  std::snprintf(uid, sizeof uid, "6b1d%04x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(rv_ & 0xffff),
                static_cast<unsigned>(uidCounter_ & 0xffff), static_cast<unsigned>(uidCounter_ % 0xfff),
                static_cast<unsigned>(rv_ % 0xfff), static_cast<unsigned long long>(uidCounter_ * 2654435761ull));
  meta["uid"] = value::string(uid);
  meta["creationTimestamp"] = value::string(NowRfc3339());
  for (const char* f : {"deletionTimestamp", "deletionGracePeriodSeconds", "generation", "resourceVersion"})
    if (meta.has_field(f)) meta.erase(f);
  if (t.generation) meta["generation"] = value::number(1);
  Reply invalid = ValidateCustom(t, &body);
  if (invalid.code != 200) return invalid;
  Meta(body)["resourceVersion"] = value::string(RvString(Bump()));
  objects_[key] = body;
  Record("ADDED", t, body);
  AfterWrite();
  return Reply{201, body, {}};
}

Reply ObjectStore::Get(const ResourceType& t, const std::string& ns, const std::string& name) const {
  auto it = objects_.find(Key(t, ns, name));
  if (it == objects_.end()) return NotFound(t, name);
  return Reply{200, it->second, {}};
}

Reply ObjectStore::List(const ResourceType& t, const std::string& ns, const ListOptions& o) const {
  auto labels = Selector::ParseLabels(o.labelSelector);
  if (!labels.ok()) return StatusReply(400, "BadRequest", labels.error());
  auto fields = Selector::ParseFields(o.fieldSelector);
  if (!fields.ok()) return StatusReply(400, "BadRequest", fields.error());
  uint64_t list_rv = rv_;
  std::string after;
  if (!o.continueToken.empty()) {
    auto dash = o.continueToken.find('-');
    auto rv = ParseRv(o.continueToken.substr(0, dash));
    if (dash == std::string::npos || !rv) return StatusReply(400, "BadRequest", "invalid continue token");
    if (*rv < compacted_)
      return StatusReply(410, "Expired",
                         "The provided continue parameter is too old to display a consistent list result. "
                         "You can start a new list without the continue parameter.");
    list_rv = *rv;
    after = Unhex(o.continueToken.substr(dash + 1));
  }
  std::vector<value> items;
  std::string last_key;
  size_t remaining = 0;
  std::string prefix = t.Id() + "|" + (ns.empty() || !t.namespaced ? "" : ns + "|");
  for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    if (!after.empty() && it->first <= after) continue;
    if (!labels->MatchesObject(it->second) || !fields->MatchesObject(it->second)) continue;
    if (o.limit && items.size() == o.limit) {
      ++remaining;
      continue;
    }
    items.push_back(it->second);
    last_key = it->first;
  }
  value list = value::object();
  list["apiVersion"] = value::string(t.ApiVersion());
  list["kind"] = value::string(t.kind + "List");
  value meta = value::object();
  meta["resourceVersion"] = value::string(RvString(list_rv));
  if (remaining) {
    meta["continue"] = value::string(RvString(list_rv) + "-" + Hex(last_key));
    meta["remainingItemCount"] = value::number(static_cast<int64_t>(remaining));
  }
  list["metadata"] = meta;
  list["items"] = value::array(items);
  return Reply{200, list, {}};
}

Reply ObjectStore::Replace(const ResourceType& t, const std::string& key, const value& cur, value next) {
  next["apiVersion"] = value::string(t.ApiVersion());
  next["kind"] = value::string(t.kind);
  value& meta = Meta(next);
  const value& old_meta = cur.at("metadata");
  for (const char* f : {"uid", "creationTimestamp", "name", "namespace", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generation"}) {
    if (old_meta.has_field(f)) meta[f] = old_meta.at(f);
    else if (meta.has_field(f)) meta.erase(f);
  }
  meta["resourceVersion"] = old_meta.at("resourceVersion");
  if (t.generation && SpecPart(next) != SpecPart(cur)) {
    int64_t gen = old_meta.has_field("generation") ? old_meta.at("generation").as_number().to_int64() : 0;
    meta["generation"] = value::number(gen + 1);
  }
  if (next == cur) return Reply{200, cur, {}};  // a no-op write moves nothing
  meta["resourceVersion"] = value::string(RvString(Bump()));
  objects_[key] = next;
  Record("MODIFIED", t, next, cur);
  // A held pod in its grace period stays without finalizers too (its kubelet confirms: ReleasePod).
  const bool held_pod = t.group.empty() && t.plural == "pods" &&
                        heldPods_.count(StringField(next, "metadata.namespace") + "/" +
                                        StringField(next, "metadata.name"));
  bool finalized = meta.has_field("deletionTimestamp") && !held_pod &&
                   (!meta.has_array_field("finalizers") || meta.at("finalizers").size() == 0);
  if (finalized) Remove(t, key, "Background");
  AfterWrite();
  return Reply{200, next, {}};
}

Reply ObjectStore::Update(const ResourceType& t, const std::string& ns, const std::string& name, value body,
                          bool status) {
  auto it = objects_.find(Key(t, ns, name));
  if (it == objects_.end()) return NotFound(t, name);
  if (!body.is_object()) return StatusReply(400, "BadRequest", "the body must be a JSON object");
  value cur = it->second;
  std::string body_name = StringField(body, "metadata.name");
  if (!body_name.empty() && body_name != name)
    return StatusReply(400, "BadRequest", "the name of the object (" + body_name +
                                              ") does not match the name on the URL (" + name + ")");
  std::string rv = StringField(body, "metadata.resourceVersion");
  if (rv.empty() && t.custom)
    return StatusReply(422, "Invalid", t.kind + "." + t.group + " \"" + name +
                                           "\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be "
                                           "specified for an update");
  if (!rv.empty() && rv != StringField(cur, "metadata.resourceVersion"))
    return Conflict(t, name, "the object has been modified; please apply your changes to the latest version and try again");
  value next;
  if (status) {
    next = cur;
    if (body.has_field("status")) next["status"] = body.at("status");
    else if (next.has_field("status")) next.erase("status");
  } else {
    next = body;
    if (t.statusSubresource) {
      if (cur.has_field("status")) next["status"] = cur.at("status");
      else if (next.has_field("status")) next.erase("status");
    }
  }
  Reply invalid = ValidateCustom(t, &next);
  if (invalid.code != 200) return invalid;
  return Replace(t, it->first, cur, next);
}

Reply ObjectStore::Delete(const ResourceType& t, const std::string& ns, const std::string& name, const value& options) {
  std::string key = Key(t, ns, name);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound(t, name);
  value cur = it->second;
  value pre = options.is_object() ? Field(options, "preconditions") : value::null();
  if (pre.is_object()) {
    std::string uid = StringField(pre, "uid"), rv = StringField(pre, "resourceVersion");
    std::string cur_uid = StringField(cur, "metadata.uid"), cur_rv = StringField(cur, "metadata.resourceVersion");
    if (!uid.empty() && uid != cur_uid)
      return Conflict(t, name, "Precondition failed: UID in precondition: " + uid + ", UID in object meta: " + cur_uid);
    if (!rv.empty() && rv != cur_rv)
      return Conflict(t, name, "Precondition failed: ResourceVersion in precondition: " + rv +
                                   ", ResourceVersion in object meta: " + cur_rv);
  }
  std::string propagation = options.is_object() ? StringField(options, "propagationPolicy") : "";
  if (propagation.empty()) propagation = "Background";
  const value& meta = cur.at("metadata");
  const value grace_option = options.is_object() ? Field(options, "gracePeriodSeconds") : value::null();
  const bool force = grace_option.is_number() && grace_option.as_number().to_int64() == 0;
  if (t.group.empty() && t.plural == "pods" && heldPods_.count(ns + "/" + name) && !force &&
      !meta.has_field("deletionTimestamp")) {
    // Terminating until the (held) kubelet confirms: ReleasePod.
    int64_t grace = 30;
    if (grace_option.is_number()) grace = grace_option.as_number().to_int64();
    else if (Field(cur, "spec.terminationGracePeriodSeconds").is_number())
      grace = Field(cur, "spec.terminationGracePeriodSeconds").as_number().to_int64();
    value next = cur;
    Meta(next)["deletionTimestamp"] = value::string(Rfc3339In(grace));
    Meta(next)["deletionGracePeriodSeconds"] = value::number(grace);
    Meta(next)["resourceVersion"] = value::string(RvString(Bump()));
    objects_[key] = next;
    Record("MODIFIED", t, next, cur);
    AfterWrite();
    return Reply{200, next, {}};
  }
  const bool finalizers = meta.has_array_field("finalizers") && meta.at("finalizers").size() > 0;
  if (!force && !finalizers && meta.has_field("deletionTimestamp")) return Reply{200, cur, {}};  // held: waits
  if (finalizers) {
    if (meta.has_field("deletionTimestamp")) return Reply{200, cur, {}};
    value next = cur;
    Meta(next)["deletionTimestamp"] = value::string(NowRfc3339());
    Meta(next)["deletionGracePeriodSeconds"] = value::number(0);
    Meta(next)["resourceVersion"] = value::string(RvString(Bump()));
    objects_[key] = next;
    Record("MODIFIED", t, next, cur);
    AfterWrite();
    return Reply{200, next, {}};
  }
  Remove(t, key, propagation);
  AfterWrite();
  value gone = cur;
  Meta(gone)["resourceVersion"] = value::string(RvString(rv_));
  return Reply{200, gone, {}};
}

bool ObjectStore::ReleasePod(const std::string& ns, const std::string& name) {
  heldPods_.erase(ns + "/" + name);
  const ResourceType* pods = nullptr;
  for (const auto& [id, t] : types_)
    if (t.group.empty() && t.plural == "pods") pods = &t;
  if (!pods) return false;
  const std::string key = Key(*pods, ns, name);
  auto it = objects_.find(key);
  if (it == objects_.end() || !Field(it->second, "metadata").has_field("deletionTimestamp")) return false;
  const value& meta = it->second.at("metadata");
  if (!meta.has_array_field("finalizers") || meta.at("finalizers").size() == 0) Remove(*pods, key, "Background");
  AfterWrite();
  return true;
}

void ObjectStore::Remove(const ResourceType& t, const std::string& key, const std::string& propagation) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  value obj = it->second;
  objects_.erase(it);
  Meta(obj)["resourceVersion"] = value::string(RvString(Bump()));
  Record("DELETED", t, obj);
  CollectGarbage(StringField(obj, "metadata.uid"), propagation);
}

void ObjectStore::CollectGarbage(const std::string& owner_uid, const std::string& propagation) {
  std::vector<std::string> uids;
  for (const auto& [k, o] : objects_) uids.push_back(StringField(o, "metadata.uid"));
  auto exists = [&](const std::string& uid) { return std::find(uids.begin(), uids.end(), uid) != uids.end(); };
  std::vector<std::string> dependents;
  for (const auto& [k, o] : objects_) {
    value refs = Field(o, "metadata.ownerReferences");
    if (!refs.is_array()) continue;
    for (const auto& r : refs.as_array())
      if (StringField(r, "uid") == owner_uid) dependents.push_back(k);
  }
  for (const auto& k : dependents) {
    auto it = objects_.find(k);
    if (it == objects_.end()) continue;
    const ResourceType& dt = types_.at(k.substr(0, k.find('|')));
    value cur = it->second, next = cur;
    std::vector<value> kept;
    bool live_owner = false;
    const value refs = Field(cur, "metadata.ownerReferences");
    for (const auto& r : refs.as_array()) {
      if (StringField(r, "uid") != owner_uid) {
        kept.push_back(r);
        live_owner |= exists(StringField(r, "uid"));
      }
    }
    if (propagation == "Orphan") {
      Meta(next)["ownerReferences"] = value::array(kept);
      Replace(dt, k, cur, next);
    } else if (!live_owner) {
      std::string ns = StringField(cur, "metadata.namespace"), name = StringField(cur, "metadata.name");
      Delete(dt, ns, name, value::null());
    }
  }
}

}  // namespace pgvigil::kube::fake
