// The rendered objects against kube-fake, the API-server test double
// (controller/kube/testing: a stand-in, not Kubernetes): the example CR passes
// the CRD's schema (the double has schemas for custom resources only; built-in
// kinds are checked by the field tests of render_test.cc), every owned object
// is accepted by server-side apply, the double's StatefulSet emulation makes
// pods and claims from the template, label patches from kube_plan steer the
// Services' selectors, and deleting the CR collects what it owns. Also: the
// chart's RBAC as rendered (manifests/install.yaml, the default values, and the
// golden of watchNamespaces; hack/chart-check.sh fails when either is stale)
// grants every call of this path and nothing KUBERNETES.md §8 rules out.
#include <gtest/gtest.h>

#include "controller/kube/kube_plan.h"
#include "controller/kube/kube_test_util.h"
#include "controller/kube/render_json.h"
#include "controller/kube/render_objects.h"
#include "controller/kube/testing/fake_store_fixture.h"
#include "controller/kube/testing/rbac.h"

namespace pgvigil::kube::fake {
namespace {

using web::json::value;

// "/apis/apps/v1/namespaces/db/statefulsets/demo" -> {"apps", "statefulsets"}.
std::pair<std::string, std::string> GroupResource(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 1;
  for (size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1)
    parts.push_back(path.substr(start, slash - start));
  parts.push_back(path.substr(start));
  if (parts.size() == 6 && parts[0] == "api") return {"", parts[4]};
  if (parts.size() == 7 && parts[0] == "apis") return {parts[1], parts[5]};
  return {"?", path};
}

class RenderFakeTest : public StoreTest {
 protected:
  // The example's PostgresCluster, created in the double (schema-checked).
  ClusterResource CreateExample(std::string* uid) {
    YAML::Node doc =
        testing_util::FindDocument("manifests/examples/k8s-cluster.yaml", "PostgresCluster");
    Reply created = store_.Create(Clusters(), "db", YamlToJson(doc));
    EXPECT_EQ(created.code, 201) << created.body.serialize();
    *uid = StringField(created.body, "metadata.uid");
    // Convert what the API server stores (JSON), as the controller will.
    ResourceLoad load = ConvertClusterResourceText(created.body.serialize(), "db/demo");
    EXPECT_TRUE(load.ok()) << load.ErrorText();
    return load.ok() ? *load.resource : ClusterResource{};
  }
  const ResourceType& TypeOf(const RenderedObject& o) {
    auto [group, plural] = GroupResource(o.path);
    return T(group, plural);
  }
  Reply Apply(const RenderedObject& o) {
    PatchOptions opts;
    opts.fieldManager = kFieldManager;
    opts.force = true;
    return store_.Patch(TypeOf(o), "db", o.name, PatchType::kApply, o.object.serialize(), false,
                        opts);
  }
  std::string Selected(const value& service) {
    std::string selector;
    for (const auto& kv : service.at("spec").at("selector").as_object())
      selector += (selector.empty() ? "" : ",") + kv.first + "=" + kv.second.as_string();
    ListOptions options;
    options.labelSelector = selector;
    std::string out;
    const Reply list = store_.List(Pods(), "db", options);
    for (const auto& pod : list.body.at("items").as_array())
      out += StringField(pod, "metadata.name") + " ";
    return out;
  }
  PodMeta Meta(const std::string& pod) {
    value p = store_.Get(Pods(), "db", pod).body;
    PodMeta m{pod, StringField(p, "metadata.resourceVersion"), {}, {}};
    for (const char* which : {"labels", "annotations"}) {
      value v = Field(p, std::string("metadata.") + which);
      if (!v.is_object()) continue;
      for (const auto& kv : v.as_object())
        (which[0] == 'l' ? m.labels : m.annotations)[kv.first] = kv.second.as_string();
    }
    return m;
  }
};

TEST_F(RenderFakeTest, OwnedObjectsApplyAndMakePodsAndClaims) {
  std::string uid;
  ClusterResource res = CreateExample(&uid);
  ASSERT_FALSE(uid.empty());
  RenderOptions options;
  options.uid = uid;
  auto objects = RenderOwnedObjects(res, options);
  for (const auto& o : objects) {
    Reply r = Apply(o);
    EXPECT_EQ(r.code, 201) << o.path << ": " << r.body.serialize();
  }
  // The emulated StatefulSet controller: three pods with the template's
  // labels (no role yet) and a pgdata claim each.
  std::string pods, claims;
  for (const auto& p : store_.Objects(Pods(), "db")) {
    pods += StringField(p, "metadata.name") + " ";
    const value labels = Field(p, "metadata.labels");
    EXPECT_EQ(labels.at("pgvigil.io/cluster").as_string(), "demo");
    EXPECT_EQ(labels.at("app.kubernetes.io/managed-by").as_string(), "pgvigil");
    EXPECT_FALSE(labels.has_field(kRoleLabel));
    EXPECT_EQ(StringField(p, "spec.subdomain"), "demo-hl");
    EXPECT_EQ(StringField(Field(p, "spec.containers").at(0), "name"), "pgvigil");
  }
  for (const auto& c : store_.Objects(T("", "persistentvolumeclaims"), "db"))
    claims += StringField(c, "metadata.name") + " ";
  EXPECT_EQ(pods, "demo-0 demo-1 demo-2 ");
  EXPECT_EQ(claims, "pgdata-demo-0 pgdata-demo-1 pgdata-demo-2 ");

  // Applying the same objects again changes no spec (generation stays).
  const value before = store_.Get(T("apps", "statefulsets"), "db", "demo").body;
  for (const auto& o : objects) EXPECT_EQ(Apply(o).code, 200) << o.path;
  const value after = store_.Get(T("apps", "statefulsets"), "db", "demo").body;
  EXPECT_EQ(Field(after, "metadata.generation"), Field(before, "metadata.generation"));

  // Labels from the routing state steer the Services.
  LabelInputs in;
  in.instances = {"demo-0", "demo-1", "demo-2"};
  in.term = 3;
  in.state.primary = in.state.routedPrimary = "demo-1";
  in.state.routedStandbys = {"demo-2"};
  in.state.routingGeneration = 4;
  in.liveness = {
      {"demo-0", Liveness::kNotLive}, {"demo-1", Liveness::kLive}, {"demo-2", Liveness::kLive}};
  std::vector<PodMeta> metas = {Meta("demo-0"), Meta("demo-1"), Meta("demo-2")};
  auto patches = PodLabelPatches(in, metas);
  ASSERT_TRUE(patches.ok()) << patches.error();
  for (const auto& p : *patches)
    EXPECT_EQ(
        store_.Patch(Pods(), "db", p.pod, PatchType::kMerge, p.patch.serialize(), false, {}).code,
        200);
  auto svc = [&](const char* which) { return RenderService(res, options, which); };
  EXPECT_EQ(Selected(svc("rw")), "demo-1 ");
  EXPECT_EQ(Selected(svc("ro")), "demo-2 ");
  EXPECT_EQ(Selected(svc("pool")), "demo-1 demo-2 ");
  EXPECT_EQ(Selected(svc("hl")), "demo-0 demo-1 demo-2 ");
  // The same patches again carry a resourceVersion that has moved: 409.
  const PodPatch& stale = patches->front();
  EXPECT_EQ(
      store_.Patch(Pods(), "db", stale.pod, PatchType::kMerge, stale.patch.serialize(), false, {})
          .code,
      409);

  // Deleting the custom resource collects everything it owns.
  EXPECT_EQ(store_.Delete(Clusters(), "db", "demo", value::null()).code, 200);
  for (const auto& o : objects) EXPECT_EQ(store_.Get(TypeOf(o), "db", o.name).code, 404) << o.path;
  EXPECT_TRUE(store_.Objects(Pods(), "db").empty());
}

TEST_F(RenderFakeTest, ApplyOnAChangedObjectFailsOnAStaleResourceVersion) {
  std::string uid;
  ClusterResource res = CreateExample(&uid);
  RenderOptions options;
  options.uid = uid;
  RenderedObject cm = RenderOwnedObjects(res, options).front();
  ASSERT_EQ(Apply(cm).code, 201);
  const std::string rv =
      StringField(store_.Get(ConfigMaps(), "db", "demo-config").body, "metadata.resourceVersion");
  res.spec.watchdog.deadTime = Millis(2000);
  RenderedObject next = RenderOwnedObjects(res, options).front();
  next.object["metadata"]["resourceVersion"] = value::string(rv);
  ASSERT_EQ(Apply(next).code, 200);
  const value stored = store_.Get(ConfigMaps(), "db", "demo-config").body;
  EXPECT_EQ(stored.at("data").at("cluster.yaml"), next.object.at("data").at("cluster.yaml"));
  EXPECT_NE(stored.at("data").at("cluster.yaml"), cm.object.at("data").at("cluster.yaml"));
  EXPECT_EQ(Apply(next).code, 409);  // rv moved with the first apply
}

const char* const kVerbs[] = {"get",    "list",  "watch",  "create",
                              "update", "patch", "delete", "deletecollection"};

std::string Granted(const std::vector<PolicyRule>& rules, const std::string& group,
                    const std::string& resource) {
  std::string out;
  for (const char* v : kVerbs)
    if (Allows(rules, v, group, resource, "")) out += std::string(v) + " ";
  return out;
}

TEST(RenderRbacTest, ChartRolesCoverTheRenderAndApplyPath) {
  auto rules = ParseRolesBoundTo(testing_util::RepoFile("manifests/install.yaml"), "pgvigil-controller");
  ASSERT_TRUE(rules.ok()) << rules.error();
  ASSERT_FALSE(rules->empty());
  // Every owned object: server-side apply (patch; create when new), watch
  // caches (get, list, watch), deletion.
  RenderOptions options;
  options.uid = "u";
  ResourceLoad load = ConvertClusterResource(
      testing_util::FindDocument("manifests/examples/k8s-cluster.yaml", "PostgresCluster"),
      "example");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  for (const auto& o : RenderOwnedObjects(*load.resource, options)) {
    auto [group, resource] = GroupResource(o.path);
    for (const char* verb : {"get", "list", "watch", "create", "patch", "delete"})
      EXPECT_TRUE(Allows(*rules, verb, group, resource, o.name)) << verb << " " << resource;
  }
  // KUBERNETES.md §7: label and term patches, deletions with preconditions;
  // status CAS and cosmetic patches; blockOwnerDeletion; Events; Leases.
  EXPECT_EQ(Granted(*rules, "", "pods"), "get list watch patch delete ");
  EXPECT_EQ(Granted(*rules, "pgvigil.io", "postgresclusters"), "get list watch ");
  EXPECT_EQ(Granted(*rules, "pgvigil.io", "postgresclusters/status"), "get update patch ");
  EXPECT_EQ(Granted(*rules, "pgvigil.io", "postgresclusters/finalizers"), "update ");
  EXPECT_EQ(Granted(*rules, "", "secrets"), "get list watch ");
  EXPECT_EQ(Granted(*rules, "", "persistentvolumeclaims"), "get list watch ");
  EXPECT_EQ(Granted(*rules, "", "nodes"), "get list watch ");
  EXPECT_EQ(Granted(*rules, "events.k8s.io", "events"), "create patch ");
  EXPECT_EQ(Granted(*rules, "coordination.k8s.io", "leases"), "get create update ");
  // Ruled out by §8: exec into pods, RBAC objects, writing Secrets, deleting
  // or changing the user's custom resources.
  EXPECT_EQ(Granted(*rules, "", "pods/exec"), "");
  EXPECT_EQ(Granted(*rules, "rbac.authorization.k8s.io", "roles"), "");
  EXPECT_EQ(Granted(*rules, "rbac.authorization.k8s.io", "rolebindings"), "");
  EXPECT_FALSE(Allows(*rules, "create", "", "secrets", ""));
  EXPECT_FALSE(Allows(*rules, "deletecollection", "", "pods", ""));
}

// watchNamespaces set: Roles in those namespaces carry the same rules, except
// that nodes (cluster-scoped) are not read.
TEST(RenderRbacTest, NamespacedChartRolesCoverTheRenderAndApplyPath) {
  auto rules = ParseRolesBoundTo(testing_util::RepoFile("charts/pgvigil/tests/golden/namespaced.yaml"),
                                 "pgvigil-controller");
  ASSERT_TRUE(rules.ok()) << rules.error();
  RenderOptions options;
  options.uid = "u";
  ResourceLoad load = ConvertClusterResource(
      testing_util::FindDocument("manifests/examples/k8s-cluster.yaml", "PostgresCluster"), "example");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  for (const auto& o : RenderOwnedObjects(*load.resource, options)) {
    auto [group, resource] = GroupResource(o.path);
    for (const char* verb : {"get", "list", "watch", "create", "patch", "delete"})
      EXPECT_TRUE(Allows(*rules, verb, group, resource, o.name)) << verb << " " << resource;
  }
  EXPECT_EQ(Granted(*rules, "", "pods"), "get list watch patch delete ");
  EXPECT_EQ(Granted(*rules, "pgvigil.io", "postgresclusters/status"), "get update patch ");
  EXPECT_EQ(Granted(*rules, "coordination.k8s.io", "leases"), "get create update ");
  EXPECT_EQ(Granted(*rules, "", "nodes"), "");
  EXPECT_EQ(Granted(*rules, "", "pods/exec"), "");
  EXPECT_FALSE(Allows(*rules, "create", "", "secrets", ""));
}

// The ClusterRole for vigilctl users (bound by the cluster's admin, e.g. by a
// RoleBinding per namespace): what vigilctl calls and nothing more. Its
// commands read the PostgresClusters (get; list when no cluster is named) and
// write annotations (pgvigil.io/request by a merge patch, the fence by a JSON
// patch); kube_vigilctl_test runs every command with only these rules.
TEST(RenderRbacTest, TheVigilctlRoleGrantsOnlyWhatVigilctlCalls) {
  for (const char* file : {"manifests/install.yaml", "charts/pgvigil/tests/golden/namespaced.yaml"}) {
    auto rules = ParseRoleNamed(testing_util::RepoFile(file), "pgvigil-vigilctl");
    ASSERT_TRUE(rules.ok()) << file << ": " << rules.error();
    EXPECT_EQ(Granted(*rules, "pgvigil.io", "postgresclusters"), "get list patch ") << file;
    EXPECT_EQ(Granted(*rules, "pgvigil.io", "postgresclusters/status"), "") << file;
    EXPECT_EQ(Granted(*rules, "pgvigil.io", "postgresclusters/scale"), "") << file;
    for (const char* r : {"pods", "secrets", "configmaps", "services", "persistentvolumeclaims", "pods/exec"})
      EXPECT_EQ(Granted(*rules, "", r), "") << file << " " << r;
    EXPECT_EQ(Granted(*rules, "apps", "statefulsets"), "") << file;
    // Not bound to the controller's service account: its rules stay its own.
    auto bound = ParseRolesBoundTo(testing_util::RepoFile(file), "pgvigil-controller");
    ASSERT_TRUE(bound.ok());
    EXPECT_FALSE(Allows(*bound, "patch", "pgvigil.io", "postgresclusters", "demo")) << file;
  }
}

}  // namespace
}  // namespace pgvigil::kube::fake
