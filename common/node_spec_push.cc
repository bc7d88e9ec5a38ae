#include "common/node_spec_push.h"

#include <yaml-cpp/yaml.h>

#include <set>

namespace pgvigil {

namespace {

using web::json::value;

bool Digits(const std::string& s) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// A non-negative integer field, or a string of digits (as the term is elsewhere).
bool ReadCount(const value& v, const char* name, uint64_t* out, SpecPushError* e) {
  if (!v.has_field(name)) {
    *e = {name, "required field is missing"};
    return false;
  }
  const value& f = v.at(name);
  if (f.is_number() && f.as_number().is_integral() && !f.as_number().is_int64()) {
    *out = f.as_number().to_uint64();
    return true;
  }
  if (f.is_number() && f.as_number().is_int64() && f.as_number().to_int64() >= 0) {
    *out = static_cast<uint64_t>(f.as_number().to_int64());
    return true;
  }
  if (f.is_string() && Digits(f.as_string())) {
    *out = std::stoull(f.as_string());
    return true;
  }
  *e = {name, "must be a non-negative integer"};
  return false;
}

// Paths keep a leading "." until the end; `skip` holds them with it.
std::string Diff(const value& a, const value& b, const std::string& path, const std::set<std::string>& skip) {
  if (a.type() != b.type()) return path;
  if (a.is_object()) {
    for (const auto& kv : a.as_object()) {
      const std::string p = path + "." + kv.first;
      if (skip.count(p)) continue;
      if (!b.has_field(kv.first)) return p;
      std::string d = Diff(kv.second, b.at(kv.first), p, skip);
      if (!d.empty()) return d;
    }
    for (const auto& kv : b.as_object())
      if (!a.has_field(kv.first) && !skip.count(path + "." + kv.first)) return path + "." + kv.first;
    return "";
  }
  if (a.is_array()) {
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      std::string d = Diff(x.at(i), y.at(i), path + "[" + std::to_string(i) + "]", skip);
      if (!d.empty()) return d;
    }
    if (x.size() != y.size()) return path;
    return "";
  }
  return a == b ? "" : path;
}

}  // namespace

const char* ToString(SpecPushOutcome o) {
  switch (o) {
    case SpecPushOutcome::kApplied: return "applied";
    case SpecPushOutcome::kUnchanged: return "unchanged";
    case SpecPushOutcome::kStale: return "stale";
    case SpecPushOutcome::kRestartRequired: return "restartRequired";
    case SpecPushOutcome::kFailed: return "failed";
  }
  return "unknown";
}

value EncodeSpecPush(const NodeSpecPush& push) {
  value v = value::object();
  v["term"] = value::number(push.term);
  v["generation"] = value::number(push.generation);
  v["spec"] = value::parse(SpecToJson(push.spec));
  if (push.check) v["check"] = value::boolean(true);
  return v;
}

Result<NodeSpecPush> DecodeSpecPush(const std::string& body, SpecPushError* e, const SpecParseOptions& options) {
  auto fail = [&](std::string field, std::string reason) {
    *e = {std::move(field), std::move(reason)};
    return Result<NodeSpecPush>::Error(e->field + ": " + e->reason);
  };
  value v;
  try {
    v = value::parse(body);
  } catch (const std::exception& ex) {
    return fail("body", std::string("not JSON: ") + ex.what());
  }
  if (!v.is_object()) return fail("body", "must be a JSON object");
  for (const auto& kv : v.as_object())
    if (kv.first != "term" && kv.first != "generation" && kv.first != "spec" && kv.first != "check")
      return fail(kv.first, "unknown field");
  NodeSpecPush out;
  if (!ReadCount(v, "term", &out.term, e)) return Result<NodeSpecPush>::Error(e->field + ": " + e->reason);
  if (!ReadCount(v, "generation", &out.generation, e))
    return Result<NodeSpecPush>::Error(e->field + ": " + e->reason);
  if (out.generation == 0) return fail("generation", "must be at least 1");
  if (v.has_field("check")) {
    if (!v.at("check").is_boolean()) return fail("check", "must be true or false");
    out.check = v.at("check").as_bool();
  }
  if (!v.has_field("spec")) return fail("spec", "required field is missing");
  if (!v.at("spec").is_object()) return fail("spec", "must be an object (the spec as a spec file holds it)");
  // JSON is YAML: the spec file parser and validator, paths as in a spec file.
  SpecLoad load = ParseSpec(v.at("spec").serialize(), "spec", options);
  if (!load.ok()) {
    const SpecError& first = load.errors.front();
    return fail(first.path.empty() ? "spec" : first.path, first.reason);
  }
  out.spec = *load.spec;
  return out;
}

value EncodeSpecPushReply(const NodeSpecPushReply& r) {
  value v = value::object();
  v["generation"] = value::number(r.generation);
  v["outcome"] = value::string(ToString(r.outcome));
  v["restartRequired"] = value::boolean(r.restartRequired());
  v["field"] = value::string(r.field);
  v["reason"] = value::string(r.reason);
  if (!r.pendingRestart.empty()) {
    value names = value::array();
    for (size_t i = 0; i < r.pendingRestart.size(); ++i) names[i] = value::string(r.pendingRestart[i]);
    v["pendingRestart"] = names;
  }
  return v;
}

Result<NodeSpecPushReply> DecodeSpecPushReply(const value& v) {
  using R = Result<NodeSpecPushReply>;
  if (!v.is_object()) return R::Error("reply: not a JSON object");
  NodeSpecPushReply r;
  SpecPushError e;
  if (!ReadCount(v, "generation", &r.generation, &e)) return R::Error("reply " + e.field + ": " + e.reason);
  if (!v.has_string_field("outcome")) return R::Error("reply outcome: required string field is missing");
  const std::string o = v.at("outcome").as_string();
  bool known = false;
  for (auto k : {SpecPushOutcome::kApplied, SpecPushOutcome::kUnchanged, SpecPushOutcome::kStale,
                 SpecPushOutcome::kRestartRequired, SpecPushOutcome::kFailed})
    if (o == ToString(k)) {
      r.outcome = k;
      known = true;
    }
  if (!known) return R::Error("reply outcome: unknown value '" + o + "'");
  if (v.has_string_field("field")) r.field = v.at("field").as_string();
  if (v.has_string_field("reason")) r.reason = v.at("reason").as_string();
  if (v.has_array_field("pendingRestart"))
    for (const auto& n : v.at("pendingRestart").as_array())
      if (n.is_string()) r.pendingRestart.push_back(n.as_string());
  return r;
}

std::string FirstDifferenceBesides(const ClusterSpec& a, const ClusterSpec& b, const std::set<std::string>& paths) {
  std::set<std::string> skip;
  for (const auto& p : paths) skip.insert("." + p);
  const value x = value::parse(SpecToJson(a)), y = value::parse(SpecToJson(b));
  std::string d = Diff(x, y, "", skip);
  return d.empty() ? d : d.substr(1);  // no leading '.'
}

std::string FirstDifferenceBesidesNodes(const ClusterSpec& a, const ClusterSpec& b) {
  return FirstDifferenceBesides(a, b, {"spec.nodes"});
}

uint64_t SpecFileGeneration(const std::string& yaml_text) {
  try {
    YAML::Node doc = YAML::Load(yaml_text);
    if (!doc.IsMap() || !doc["metadata"].IsMap()) return 0;
    YAML::Node ann = doc["metadata"]["annotations"];
    if (!ann.IsMap()) return 0;
    YAML::Node g = ann[kSpecGenerationAnnotation];
    if (!g.IsScalar() || !Digits(g.Scalar())) return 0;
    return std::stoull(g.Scalar());
  } catch (const std::exception&) {
    return 0;
  }
}

std::string SpecToYamlWithGeneration(const ClusterSpec& spec, uint64_t generation) {
  std::string yaml = SpecToYaml(spec);
  if (generation == 0) return yaml;
  const std::string marker = "\nspec:";
  const size_t at = yaml.find(marker);
  if (at == std::string::npos) return yaml;  // canonical output always has it
  yaml.insert(at + 1, std::string("  annotations:\n    ") + kSpecGenerationAnnotation + ": \"" +
                          std::to_string(generation) + "\"\n");
  return yaml;
}

}  // namespace pgvigil
