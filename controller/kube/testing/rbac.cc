#include "controller/kube/testing/rbac.h"

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

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

// The rules of the Role/ClusterRole documents `keep(kind, name)` accepts.
Result<std::vector<PolicyRule>> RolesWhere(const std::string& yaml,
                                           const std::function<bool(const std::string&, const std::string&)>& keep) {
  std::vector<PolicyRule> rules;
  try {
    for (const YAML::Node& doc : YAML::LoadAll(yaml)) {
      if (!doc.IsMap() || !doc["kind"]) continue;
      std::string kind = doc["kind"].Scalar();
      if (kind != "Role" && kind != "ClusterRole") continue;
      const std::string name = doc["metadata"] && doc["metadata"]["name"] ? doc["metadata"]["name"].Scalar() : "";
      if (!keep(kind, name)) continue;
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

}  // namespace

Result<std::vector<PolicyRule>> ParseRoles(const std::string& yaml) {
  return RolesWhere(yaml, [](const std::string&, const std::string&) { return true; });
}

Result<std::vector<PolicyRule>> ParseRolesBoundTo(const std::string& yaml, const std::string& service_account) {
  std::set<std::pair<std::string, std::string>> bound;  // (kind, name) of the roles bound to it
  try {
    for (const YAML::Node& doc : YAML::LoadAll(yaml)) {
      if (!doc.IsMap() || !doc["kind"]) continue;
      const std::string kind = doc["kind"].Scalar();
      if ((kind != "RoleBinding" && kind != "ClusterRoleBinding") || !doc["roleRef"] || !doc["subjects"]) continue;
      for (const auto& subject : doc["subjects"])
        if (subject["kind"] && subject["kind"].Scalar() == "ServiceAccount" && subject["name"] &&
            subject["name"].Scalar() == service_account)
          bound.insert({doc["roleRef"]["kind"].Scalar(), doc["roleRef"]["name"].Scalar()});
    }
  } catch (const YAML::Exception& e) {
    return Result<std::vector<PolicyRule>>::Error(std::string("bindings: ") + e.what());
  }
  return RolesWhere(yaml, [&](const std::string& kind, const std::string& name) {
    return bound.count({kind, name}) > 0;
  });
}

Result<std::vector<PolicyRule>> ParseRoleNamed(const std::string& yaml, const std::string& name) {
  bool found = false;
  auto rules = RolesWhere(yaml, [&](const std::string&, const std::string& n) {
    if (n != name) return false;
    found = true;
    return true;
  });
  if (rules.ok() && !found) return Result<std::vector<PolicyRule>>::Error("no Role or ClusterRole named " + name);
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
