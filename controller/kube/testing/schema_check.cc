#include "controller/kube/testing/schema_check.h"

#include <cmath>

#include "controller/kube/render_json.h"

namespace pgvigil::kube::fake {

using web::json::value;

// The controller's own conversion (render_json.h): the double reads YAML as the
// renderer writes it.
value YamlToJson(const YAML::Node& node) { return kube::YamlToJson(node); }

namespace {

std::string TypeOf(const value& v) {
  switch (v.type()) {
    case value::Number: return v.is_integer() ? "integer" : "number";
    case value::Boolean: return "boolean";
    case value::String: return "string";
    case value::Object: return "object";
    case value::Array: return "array";
    default: return "null";
  }
}

bool Flag(const value& schema, const char* name) {
  return schema.has_boolean_field(name) && schema.at(name).as_bool();
}

void Check(const value& schema, value* v, const std::string& path, std::vector<FieldError>* errors) {
  if (!schema.is_object()) return;
  auto fail = [&](const std::string& msg) { errors->push_back({path, msg}); };
  if (v->is_null()) {
    if (!Flag(schema, "nullable")) fail("Invalid value: \"null\": " + path + " in body must not be null");
    return;
  }
  std::string actual = TypeOf(*v);
  if (Flag(schema, "x-kubernetes-int-or-string")) {
    if (actual != "integer" && actual != "string")
      fail("Invalid value: \"" + actual + "\": " + path + " in body must be of type integer or string");
    return;
  }
  if (schema.has_string_field("type")) {
    std::string want = schema.at("type").as_string();
    bool ok = want == actual || (want == "number" && actual == "integer");
    if (!ok) {
      fail("Invalid value: \"" + actual + "\": " + path + " in body must be of type " + want);
      return;
    }
  }
  if (schema.has_array_field("enum")) {
    bool found = false;
    for (const auto& e : schema.at("enum").as_array()) found |= e == *v;
    if (!found) {
      std::string allowed;
      for (const auto& e : schema.at("enum").as_array()) allowed += (allowed.empty() ? "" : ", ") + e.serialize();
      fail("Unsupported value: " + v->serialize() + ": supported values: " + allowed);
    }
  }
  if (v->is_number()) {
    double n = v->as_double();
    if (schema.has_number_field("minimum") && n < schema.at("minimum").as_double())
      fail("Invalid value: " + v->serialize() + ": " + path + " in body should be greater than or equal to " +
           schema.at("minimum").serialize());
    if (schema.has_number_field("maximum") && n > schema.at("maximum").as_double())
      fail("Invalid value: " + v->serialize() + ": " + path + " in body should be less than or equal to " +
           schema.at("maximum").serialize());
  }
  if (v->is_array() && schema.has_object_field("items")) {
    for (size_t i = 0; i < v->size(); ++i)
      Check(schema.at("items"), &v->at(i), path + "[" + std::to_string(i) + "]", errors);
  }
  if (!v->is_object()) return;
  if (schema.has_array_field("required")) {
    for (const auto& r : schema.at("required").as_array())
      if (r.is_string() && !v->has_field(r.as_string()))
        errors->push_back({path + "." + r.as_string(), "Required value"});
  }
  bool preserve = Flag(schema, "x-kubernetes-preserve-unknown-fields");
  const value* props = schema.has_object_field("properties") ? &schema.at("properties") : nullptr;
  const value* additional = schema.has_object_field("additionalProperties") ? &schema.at("additionalProperties") : nullptr;
  std::vector<std::string> prune;
  for (auto& [key, child] : v->as_object()) {
    std::string child_path = path.empty() ? key : path + "." + key;
    if (path.empty() && key == "metadata") continue;
    if (props && props->has_field(key)) {
      Check(props->at(key), &child, child_path, errors);
    } else if (additional) {
      Check(*additional, &child, child_path, errors);
    } else if (!preserve) {
      prune.push_back(key);
    }
  }
  for (const auto& key : prune) v->erase(key);
}

}  // namespace

std::vector<FieldError> ValidateAndPrune(const value& schema, value* object) {
  std::vector<FieldError> errors;
  Check(schema, object, "", &errors);
  return errors;
}

}  // namespace pgvigil::kube::fake
