// PATCH as the API documents it (api-concepts "Patch", server-side-apply):
// merge patch with a resourceVersion precondition, JSON patch whose failed
// test is 422, strategic merge refused for custom resources (415), simplified
// apply, and patches of /status touching only status.
#include "controller/kube/testing/fake_store_fixture.h"

namespace pgvigil::kube::fake {
namespace {

using web::json::value;

TEST_F(StoreTest, MergePatchMergesAndRemoves) {
  store_.Create(Pods(), "db", J(R"({"metadata":{"name":"p","labels":{"a":"1","b":"2"}},"spec":{}})"));
  Reply r = store_.Patch(Pods(), "db", "p", PatchType::kMerge, R"({"metadata":{"labels":{"a":"9","b":null,"c":"3"}}})",
                         false, {});
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(Field(r.body, "metadata.labels"), J(R"({"a":"9","c":"3"})"));
}

// A resourceVersion in the patch body is a precondition (KUBERNETES.md §7 #7).
TEST_F(StoreTest, MergePatchWithAStaleResourceVersionIsConflict) {
  Reply made = store_.Create(Pods(), "db", J(R"({"metadata":{"name":"p"},"spec":{}})"));
  std::string rv = Rv(made);
  ASSERT_EQ(store_.Patch(Pods(), "db", "p", PatchType::kMerge,
                         R"({"metadata":{"resourceVersion":")" + rv + R"(","labels":{"pgvigil.io/role":"primary"}}})",
                         false, {}).code,
            200);
  Reply stale = store_.Patch(Pods(), "db", "p", PatchType::kMerge,
                             R"({"metadata":{"resourceVersion":")" + rv + R"(","labels":{"pgvigil.io/role":"fenced"}}})",
                             false, {});
  EXPECT_EQ(stale.code, 409);
  EXPECT_EQ(Field(store_.Get(Pods(), "db", "p").body, "metadata.labels").at("pgvigil.io/role").as_string(), "primary");
}

TEST_F(StoreTest, JsonPatchTestFailureIs422AndChangesNothing) {
  Reply made = store_.Create(Pods(), "db", J(R"({"metadata":{"name":"p","labels":{"a":"1"}},"spec":{}})"));
  Reply bad = store_.Patch(Pods(), "db", "p", PatchType::kJson,
                           R"([{"op":"replace","path":"/metadata/labels/a","value":"2"},
                               {"op":"test","path":"/metadata/labels/a","value":"1"}])",
                           false, {});
  EXPECT_EQ(bad.code, 422);
  EXPECT_EQ(Rv(store_.Get(Pods(), "db", "p")), Rv(made));
  Reply good = store_.Patch(Pods(), "db", "p", PatchType::kJson,
                            R"([{"op":"test","path":"/metadata/labels/a","value":"1"},
                                {"op":"add","path":"/metadata/labels/b","value":"2"}])",
                            false, {});
  EXPECT_EQ(good.code, 200);
  EXPECT_EQ(store_.Patch(Pods(), "db", "p", PatchType::kJson, R"({"op":"add"})", false, {}).code, 400);
}

TEST_F(StoreTest, StrategicMergePatchIsRefusedForCustomResources) {
  store_.Create(Clusters(), "db", Cluster("demo"));
  Reply r = store_.Patch(Clusters(), "db", "demo", PatchType::kStrategic, R"({"spec":{"instances":5}})", false, {});
  EXPECT_EQ(r.code, 415);
  EXPECT_EQ(StringField(r.body, "reason"), "UnsupportedMediaType");
  store_.Create(Pods(), "db", J(R"({"metadata":{"name":"p"},"spec":{}})"));
  EXPECT_EQ(store_.Patch(Pods(), "db", "p", PatchType::kStrategic, R"({"metadata":{"labels":{"a":"b"}}})", false, {}).code,
            200)
      << "built-in kinds take it (applied here as a merge patch)";
}

TEST_F(StoreTest, ApplyCreatesUpdatesAndRecordsTheManager) {
  const ResourceType& cm = ConfigMaps();
  std::string applied = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo-config\ndata:\n  cluster.yaml: \"a\"\n";
  EXPECT_EQ(store_.Patch(cm, "db", "demo-config", PatchType::kApply, applied, false, {}).code, 422)
      << "fieldManager is required";
  Reply created = store_.Patch(cm, "db", "demo-config", PatchType::kApply, applied, false, {"pgvigil-controller", true});
  ASSERT_EQ(created.code, 201);
  EXPECT_EQ(StringField(created.body.at("metadata").at("managedFields").at(0), "manager"), "pgvigil-controller");
  std::string changed = "metadata:\n  name: demo-config\ndata:\n  cluster.yaml: \"b\"\n  count: 3\n";
  Reply updated = store_.Patch(cm, "db", "demo-config", PatchType::kApply, changed, false, {"pgvigil-controller", true});
  ASSERT_EQ(updated.code, 200);
  EXPECT_EQ(Field(updated.body, "data").at("cluster.yaml").as_string(), "b");
  EXPECT_EQ(Field(updated.body, "data").at("count").as_integer(), 3);
  std::string stale = "metadata:\n  name: demo-config\n  resourceVersion: \"" + Rv(created) + "\"\ndata: {x: y}\n";
  EXPECT_EQ(store_.Patch(cm, "db", "demo-config", PatchType::kApply, stale, false, {"pgvigil-controller", true}).code, 409);
}

TEST_F(StoreTest, StatusPatchTouchesOnlyStatus) {
  store_.Create(Clusters(), "db", Cluster("demo"));
  Reply r = store_.Patch(Clusters(), "db", "demo", PatchType::kMerge,
                         R"({"spec":{"instances":7},"status":{"phase":"Healthy"}})", true, {});
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(Field(r.body, "spec.instances").as_integer(), 3);
  EXPECT_EQ(StringField(r.body, "status.phase"), "Healthy");
  Reply main = store_.Patch(Clusters(), "db", "demo", PatchType::kMerge,
                            R"({"spec":{"instances":4},"status":{"phase":"Ignored"}})", false, {});
  EXPECT_EQ(Field(main.body, "spec.instances").as_integer(), 4);
  EXPECT_EQ(StringField(main.body, "status.phase"), "Healthy");
  EXPECT_EQ(Field(main.body, "metadata.generation").as_integer(), 2);
  Reply invalid = store_.Patch(Clusters(), "db", "demo", PatchType::kMerge, R"({"spec":{"instances":10}})", false, {});
  EXPECT_EQ(invalid.code, 422) << "patches are validated like updates";
}

}  // namespace
}  // namespace pgvigil::kube::fake
