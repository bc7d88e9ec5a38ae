// The openAPIV3Schema subset kube-fake enforces for custom resources, the way
// the API server treats a structural schema: unknown fields are pruned (unless
// x-kubernetes-preserve-unknown-fields), then type, required, enum,
// minimum/maximum, additionalProperties and x-kubernetes-int-or-string are
// checked; each violation is a field error (the 422 Invalid causes). Also
// YAML -> JSON for CRD files and apply-patch+yaml bodies. Pure.
#pragma once

#include <string>
#include <vector>

#include <cpprest/json.h>
#include <yaml-cpp/yaml.h>

namespace pgvigil::kube::fake {

// Plain scalars become null/bool/number where YAML 1.2's core schema says so;
// quoted scalars stay strings.
web::json::value YamlToJson(const YAML::Node& node);

struct FieldError {
  std::string field;    // "spec.instances"
  std::string message;  // "Invalid value: 0: should be greater than or equal to 1"
};

// Prunes `object` in place and returns every violation. metadata is left alone.
std::vector<FieldError> ValidateAndPrune(const web::json::value& schema, web::json::value* object);

}  // namespace pgvigil::kube::fake
