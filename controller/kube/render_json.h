// JSON helpers of the Kubernetes rendering (render_objects.h, kube_plan.h):
// YAML nodes of a custom resource into JSON values, and a stable YAML text of
// a JSON value for golden files and logs. Pure; no I/O.
#pragma once

#include <cpprest/json.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

namespace pgvigil::kube {

// Plain scalars become null/bool/number where YAML 1.2's core schema says so
// (`replicas: 3` is a number, `cpu: 500m` a string); quoted scalars stay
// strings, so a document parsed from JSON keeps its types. Undefined → null.
web::json::value YamlToJson(const YAML::Node& node);

// Block-style YAML of `v`: keys in the value's order (cpprestsdk keeps object
// keys sorted), every string double-quoted except multi-line ones, which are
// literal blocks. Deterministic, so usable for golden files; parses back with
// YamlToJson to an equal value.
std::string ToYamlText(const web::json::value& v);

// {"a": "x", ...} from a string map (object keys sorted).
web::json::value StringMapJson(const std::map<std::string, std::string>& m);
web::json::value StringListJson(const std::vector<std::string>& items);

}  // namespace pgvigil::kube
