// The schema subset on hand-made schemas (types, int-or-string, enum,
// bounds, required, additionalProperties, pruning) and RBAC rules as
// KUBERNETES.md §8 grants them (rbac/authorization docs: verbs per resource,
// subresources named "resource/sub", resourceNames).
#include <gtest/gtest.h>

#include "controller/kube/testing/rbac.h"
#include "controller/kube/testing/schema_check.h"

namespace pgvigil::kube::fake {
namespace {

using web::json::value;

TEST(SchemaTest, SubsetOfOpenApiV3) {
  value schema = YamlToJson(YAML::Load(R"(
type: object
properties:
  spec:
    type: object
    required: [n]
    properties:
      n: {type: integer, minimum: 1, maximum: 3}
      s: {x-kubernetes-int-or-string: true}
      e: {type: string, enum: [a, b]}
      m: {type: object, additionalProperties: {type: string}}
      l: {type: array, items: {type: boolean}}
      keep: {type: object, x-kubernetes-preserve-unknown-fields: true}
)"));
  auto check = [&](const std::string& json) {
    value v = value::parse(json);
    std::string out;
    for (const auto& e : ValidateAndPrune(schema, &v)) out += e.field + "; ";
    return std::make_pair(out, v);
  };
  EXPECT_EQ(check(R"({"spec":{"n":2,"s":"1Gi","e":"a","m":{"x":"y"},"l":[true],"keep":{"z":1}}})").first, "");
  EXPECT_EQ(check(R"({"spec":{"n":2,"s":5}})").first, "");
  EXPECT_EQ(check(R"({"spec":{}})").first, "spec.n; ");
  EXPECT_EQ(check(R"({"spec":{"n":0}})").first, "spec.n; ");
  EXPECT_EQ(check(R"({"spec":{"n":4}})").first, "spec.n; ");
  EXPECT_EQ(check(R"({"spec":{"n":"2"}})").first, "spec.n; ");
  EXPECT_EQ(check(R"({"spec":{"n":1,"s":true}})").first, "spec.s; ");
  EXPECT_EQ(check(R"({"spec":{"n":1,"e":"c"}})").first, "spec.e; ");
  EXPECT_EQ(check(R"({"spec":{"n":1,"m":{"x":1}}})").first, "spec.m.x; ");
  EXPECT_EQ(check(R"({"spec":{"n":1,"l":[true,"no"]}})").first, "spec.l[1]; ");
  auto pruned = check(R"({"spec":{"n":1,"extra":1,"keep":{"deep":{"x":1}}},"other":2})");
  EXPECT_EQ(pruned.first, "");
  EXPECT_EQ(pruned.second, value::parse(R"({"spec":{"n":1,"keep":{"deep":{"x":1}}}})"));
}

// YamlToJson is the controller's own (controller/kube/render_json.h), tested
// in render_json_test.cc.

const char kRole[] = R"(
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pgvigil-controller}
rules:
- {apiGroups: [pgvigil.io], resources: [postgresclusters], verbs: [get, list, watch]}
- {apiGroups: [pgvigil.io], resources: [postgresclusters/status], verbs: [get, update, patch]}
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch, patch, delete]}
- {apiGroups: [""], resources: [secrets], verbs: [get], resourceNames: [demo-superuser]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ignored}
---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: leases}
rules:
- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, create, update]}
)";

TEST(RbacTest, VerbsResourcesSubresourcesAndNames) {
  auto rules = ParseRoles(kRole);
  ASSERT_TRUE(rules.ok()) << rules.error();
  ASSERT_EQ(rules->size(), 5u);
  EXPECT_TRUE(Allows(*rules, "watch", "pgvigil.io", "postgresclusters", ""));
  EXPECT_FALSE(Allows(*rules, "update", "pgvigil.io", "postgresclusters", "demo")) << "only the status";
  EXPECT_TRUE(Allows(*rules, "update", "pgvigil.io", "postgresclusters/status", "demo"));
  EXPECT_TRUE(Allows(*rules, "patch", "", "pods", "demo-0"));
  EXPECT_FALSE(Allows(*rules, "create", "", "pods/exec", "demo-0")) << "no pods/exec";
  EXPECT_FALSE(Allows(*rules, "update", "", "pods", "demo-0"));
  EXPECT_TRUE(Allows(*rules, "get", "", "secrets", "demo-superuser"));
  EXPECT_FALSE(Allows(*rules, "get", "", "secrets", "other"));
  EXPECT_FALSE(Allows(*rules, "list", "", "secrets", "")) << "resourceNames never grant a collection";
  EXPECT_TRUE(Allows(*rules, "update", "coordination.k8s.io", "leases", "pgvigil-controller"));
  EXPECT_FALSE(Allows(*rules, "delete", "coordination.k8s.io", "leases", "pgvigil-controller"));
  EXPECT_FALSE(Allows(*rules, "get", "apps", "pods", "x")) << "the group matters";
}

}  // namespace
}  // namespace pgvigil::kube::fake
