#include "controller/kube/testing/rbac.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace pgvigil::kube::fake {

namespace {

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n.IsDefined() && n.IsSequence())
    for (const auto& s : n) out.push_back(s.Scalar());
  return out;
}

bool Has(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), "*") != list.end() ||
         std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

Result<std::vector<PolicyRule>> ParseRoles(const std::string& yaml) {
  std::vector<PolicyRule> rules;
  try {
    for (const YAML::Node& doc : YAML::LoadAll(yaml)) {
      if (!doc.IsMap() || !doc["kind"]) continue;
      std::string kind = doc["kind"].Scalar();
      if (kind != "Role" && kind != "ClusterRole") continue;
      for (const auto& r : doc["rules"]) {
        PolicyRule rule{Strings(r["apiGroups"]), Strings(r["resources"]), Strings(r["verbs"]),
                        Strings(r["resourceNames"])};
        rules.push_back(std::move(rule));
      }
    }
  } catch (const YAML::Exception& e) {
    return Result<std::vector<PolicyRule>>::Error(std::string("roles: ") + e.what());
  }
  return rules;
}

bool Allows(const std::vector<PolicyRule>& rules, const std::string& verb, const std::string& group,
            const std::string& resource, const std::string& name) {
  for (const auto& r : rules) {
    if (!Has(r.verbs, verb) || !Has(r.apiGroups, group) || !Has(r.resources, resource)) continue;
    if (!r.resourceNames.empty() && (name.empty() || !Has(r.resourceNames, name))) continue;
    return true;
  }
  return false;
}

}  // namespace pgvigil::kube::fake
