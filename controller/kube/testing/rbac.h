// RBAC as kube-fake enforces it: the rules of Role/ClusterRole documents
// (apiGroups, resources incl. "sub/resources" and "*", verbs, resourceNames)
// granted to a bearer token. Bindings are not modelled: a test says which
// token holds which roles. Pure.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil::kube::fake {

struct PolicyRule {
  std::vector<std::string> apiGroups, resources, verbs, resourceNames;
};

// The rules of every Role or ClusterRole document in `yaml` (other kinds are
// skipped, as in a manifest file with many objects).
Result<std::vector<PolicyRule>> ParseRoles(const std::string& yaml);

// The rules of the Role/ClusterRole documents in `yaml` that a RoleBinding or
// ClusterRoleBinding in it binds to the ServiceAccount `service_account`:
// what a pod running as it holds. Roles no binding names (a ClusterRole for
// users to bind, such as the chart's vigilctl role) are left out. Namespaces
// are not compared (a simplification).
Result<std::vector<PolicyRule>> ParseRolesBoundTo(const std::string& yaml, const std::string& service_account);
// The rules of the Role or ClusterRole named `name` in `yaml`; an error when none is.
Result<std::vector<PolicyRule>> ParseRoleNamed(const std::string& yaml, const std::string& name);

// verb: get list watch create update patch delete deletecollection.
// resource: "pods", "postgresclusters/status"; name empty for collections.
bool Allows(const std::vector<PolicyRule>& rules, const std::string& verb, const std::string& group,
            const std::string& resource, const std::string& name);

}  // namespace pgvigil::kube::fake
