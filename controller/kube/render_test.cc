// The owned objects (KUBERNETES.md §2, §5) rendered from the example manifest
// and from a resource that sets every pod and Service option: golden files
// (controller/kube/testdata/render_*.yaml; regenerate with
// PGVIGIL_UPDATE_GOLDEN=1 ctest -R KubeRender, then review the diff) and the
// fields users and the other parts of pgvigil rely on, checked one by one.
#include <gtest/gtest.h>

#include <fstream>

#include "common/spec_parser.h"
#include "controller/kube/kube_test_util.h"
#include "controller/kube/render_json.h"
#include "controller/kube/render_objects.h"

namespace pgvigil::kube {
namespace {

using testing_util::FindDocument;
using testing_util::RepoFile;
using web::json::value;

ClusterResource Convert(const YAML::Node& doc) {
  ResourceLoad load = ConvertClusterResource(doc, "test");
  EXPECT_TRUE(load.ok()) << load.ErrorText();
  return load.ok() ? *load.resource : ClusterResource{};
}

ClusterResource Demo() {
  return Convert(FindDocument("manifests/examples/k8s-cluster.yaml", "PostgresCluster"));
}

const char kFull[] = R"(apiVersion: pgvigil.io/v1alpha1
kind: PostgresCluster
metadata: {name: shop, namespace: prod}
spec:
  instances: 2
  image: registry.example/pgvigil:dev
  storage: {size: 1.5Gi}
  resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 2Gi}}
  tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule, tolerationSeconds: 30}]
  nodeSelector: {disk: ssd}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a, b]}]}]
  postgres:
    parameters: {work_mem: 8MB, search_path: "'$user', public"}
    superuser: {name: admin, passwordSecret: {name: shop-su, key: pw}}
  proxy:
    port: 6432
    auth: {secret: {name: shop-pool}}
    tls: {secret: {name: shop-proxy-tls}}
  watchdog: {port: 9100, heartbeatPort: 9700, authKeySecret: {name: shop-wd, key: key}}
  api: {port: 8008, tokenSecret: {name: shop-api, key: token}, tls: {secret: {name: shop-api-tls}},
        headerTimeout: 5s, maxConnections: 100}
  services:
    rw: {type: LoadBalancer, annotations: {"lb.example/internal": "true"}, loadBalancerSourceRanges: [10.0.0.0/8]}
    ro: {type: NodePort}
)";

ClusterResource Full() { return Convert(YAML::Load(kFull)); }

RenderOptions Options() {
  RenderOptions o;
  o.uid = "0f3c6a1e-uid";
  return o;
}

std::string RenderAll(const ClusterResource& res) {
  std::string out;
  for (const auto& o : RenderOwnedObjects(res, Options()))
    out += "---\n# " + o.path + "\n" + ToYamlText(o.object);
  return out;
}

void CheckGolden(const std::string& name, const std::string& text) {
  const std::string rel = "controller/kube/testdata/" + name;
  if (std::getenv("PGVIGIL_UPDATE_GOLDEN")) {
    std::ofstream(std::string(PGVIGIL_SOURCE_DIR) + "/" + rel) << text;
    GTEST_SKIP() << "wrote " << rel;
  }
  EXPECT_EQ(RepoFile(rel), text) << rel << " differs; if the change is intended, regenerate with "
                                 << "PGVIGIL_UPDATE_GOLDEN=1 and review the diff";
}

TEST(KubeRenderTest, GoldenExample) { CheckGolden("render_demo.yaml", RenderAll(Demo())); }
TEST(KubeRenderTest, GoldenEveryOption) { CheckGolden("render_full.yaml", RenderAll(Full())); }

TEST(KubeRenderTest, EveryObjectIsOwnedAndLabelled) {
  auto objects = RenderOwnedObjects(Demo(), Options());
  std::string kinds;
  for (const auto& o : objects) {
    kinds += o.kind + "/" + o.name + " ";
    const value& meta = o.object.at("metadata");
    EXPECT_EQ(meta.at("namespace").as_string(), "db") << o.name;
    EXPECT_EQ(meta.at("labels").at("app.kubernetes.io/managed-by").as_string(), "pgvigil")
        << o.name;
    EXPECT_EQ(meta.at("labels").at("pgvigil.io/cluster").as_string(), "demo") << o.name;
    ASSERT_EQ(meta.at("ownerReferences").size(), 1u) << o.name;
    const value& ref = meta.at("ownerReferences").at(0);
    EXPECT_EQ(ref.at("apiVersion").as_string(), "pgvigil.io/v1alpha1");
    EXPECT_EQ(ref.at("kind").as_string(), "PostgresCluster");
    EXPECT_EQ(ref.at("name").as_string(), "demo");
    EXPECT_EQ(ref.at("uid").as_string(), "0f3c6a1e-uid");
    EXPECT_TRUE(ref.at("controller").as_bool());
    EXPECT_TRUE(ref.at("blockOwnerDeletion").as_bool());
    EXPECT_EQ(o.object.at("kind").as_string(), o.kind);
    EXPECT_EQ(meta.at("name").as_string(), o.name);
    EXPECT_NE(o.path.find("/namespaces/db/"), std::string::npos) << o.path;
  }
  // The spec file and the Services exist before the pods that need them.
  EXPECT_EQ(kinds,
            "ConfigMap/demo-config Service/demo-rw Service/demo-ro Service/demo Service/demo-hl "
            "PodDisruptionBudget/demo StatefulSet/demo ");
  EXPECT_EQ(objects.back().path, "/apis/apps/v1/namespaces/db/statefulsets/demo");
  EXPECT_EQ(objects[5].path, "/apis/policy/v1/namespaces/db/poddisruptionbudgets/demo");
}

TEST(KubeRenderTest, StatefulSetShape) {
  value sts = RenderStatefulSet(Demo(), Options());
  const value& spec = sts.at("spec");
  EXPECT_EQ(spec.at("replicas").as_integer(), 3);
  EXPECT_EQ(spec.at("serviceName").as_string(), "demo-hl");
  EXPECT_EQ(spec.at("podManagementPolicy").as_string(), "Parallel");
  EXPECT_EQ(spec.at("updateStrategy").at("type").as_string(), "OnDelete");
  EXPECT_EQ(spec.at("persistentVolumeClaimRetentionPolicy").serialize(),
            R"({"whenDeleted":"Retain","whenScaled":"Delete"})");
  EXPECT_EQ(spec.at("selector").serialize(), R"({"matchLabels":{"pgvigil.io/cluster":"demo"}})");
  // No role label in the template: the controller labels pods one by one.
  EXPECT_EQ(spec.at("template").at("metadata").at("labels").serialize(),
            R"({"app.kubernetes.io/managed-by":"pgvigil","pgvigil.io/cluster":"demo"})");
  const value& claim = spec.at("volumeClaimTemplates").at(0);
  EXPECT_EQ(claim.at("metadata").at("name").as_string(), "pgdata");
  EXPECT_EQ(claim.at("spec").at("resources").at("requests").at("storage").as_string(), "10Gi");
  EXPECT_EQ(claim.at("spec").at("storageClassName").as_string(), "standard");
  EXPECT_EQ(claim.at("spec").at("accessModes").serialize(), R"(["ReadWriteOnce"])");
}

TEST(KubeRenderTest, PodTemplate) {
  const value pod = RenderStatefulSet(Demo(), Options()).at("spec").at("template").at("spec");
  ASSERT_EQ(pod.at("containers").size(), 1u);
  const value& c = pod.at("containers").at(0);
  EXPECT_EQ(c.at("name").as_string(), "pgvigil");
  EXPECT_EQ(c.at("image").as_string(), "pgvigil/pgvigil:0.1.0-pg15");
  EXPECT_EQ(
      c.at("command").serialize(),
      R"x(["pgvigil-sidecar","--kubernetes","-f","/etc/pgvigil/cluster.yaml","--node","$(POD_NAME)",)x"
      R"x("--state-dir","/var/lib/postgresql/data/pgvigil"])x");
  EXPECT_EQ(c.at("env").at(0).serialize(),
            R"({"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}})");
  std::string ports;
  for (const auto& p : c.at("ports").as_array())
    ports += p.at("name").as_string() + "=" + std::to_string(p.at("containerPort").as_integer()) +
             "/" + p.at("protocol").as_string() + " ";
  EXPECT_EQ(ports,
            "postgres=5432/TCP proxy=9999/TCP api=9898/TCP watchdog=9000/TCP heartbeat=9694/UDP ");
  // §2: readiness every 2 s (2 failures), liveness every 10 s (3), on the REST port.
  const value& ready = c.at("readinessProbe");
  EXPECT_EQ(ready.at("httpGet").at("path").as_string(), "/readiness");
  EXPECT_EQ(ready.at("httpGet").at("port").as_string(), "api");
  EXPECT_EQ(ready.at("httpGet").at("scheme").as_string(), "HTTP");
  EXPECT_EQ(ready.at("periodSeconds").as_integer(), 2);
  EXPECT_EQ(ready.at("failureThreshold").as_integer(), 2);
  const value& live = c.at("livenessProbe");
  EXPECT_EQ(live.at("httpGet").at("path").as_string(), "/liveness");
  EXPECT_EQ(live.at("periodSeconds").as_integer(), 10);
  EXPECT_EQ(live.at("failureThreshold").as_integer(), 3);
  std::string mounts;
  for (const auto& m : c.at("volumeMounts").as_array())
    mounts += m.at("name").as_string() + ":" + m.at("mountPath").as_string() +
              (m.has_field("readOnly") ? ":ro " : " ");
  EXPECT_EQ(mounts,
            "pgdata:/var/lib/postgresql/data config:/etc/pgvigil:ro shm:/dev/shm tmp:/tmp "
            "run:/var/run/postgresql ");
  // Pod Security Standard "restricted".
  const value& csc = c.at("securityContext");
  EXPECT_TRUE(csc.at("readOnlyRootFilesystem").as_bool());
  EXPECT_FALSE(csc.at("allowPrivilegeEscalation").as_bool());
  EXPECT_TRUE(csc.at("runAsNonRoot").as_bool());
  EXPECT_EQ(csc.at("capabilities").serialize(), R"({"drop":["ALL"]})");
  EXPECT_TRUE(pod.at("securityContext").at("runAsNonRoot").as_bool());
  EXPECT_EQ(pod.at("securityContext").at("runAsUser").as_integer(), kPostgresUid);
  EXPECT_EQ(pod.at("securityContext").at("seccompProfile").at("type").as_string(),
            "RuntimeDefault");
  EXPECT_FALSE(pod.at("automountServiceAccountToken").as_bool());
  EXPECT_FALSE(pod.at("enableServiceLinks").as_bool());
  EXPECT_EQ(pod.at("terminationGracePeriodSeconds").as_integer(), 60);
  // emptyDirs: /dev/shm in memory.
  const value& volumes = pod.at("volumes");
  EXPECT_EQ(volumes.at(1).serialize(), R"({"emptyDir":{"medium":"Memory"},"name":"shm"})");
  EXPECT_EQ(volumes.at(2).serialize(), R"({"emptyDir":{},"name":"tmp"})");
  EXPECT_EQ(volumes.at(3).serialize(), R"({"emptyDir":{},"name":"run"})");
  // Default: one instance per node where possible.
  const value& anti = pod.at("affinity")
                          .at("podAntiAffinity")
                          .at("preferredDuringSchedulingIgnoredDuringExecution");
  EXPECT_EQ(anti.at(0).at("podAffinityTerm").at("topologyKey").as_string(),
            "kubernetes.io/hostname");
  EXPECT_EQ(anti.at(0).at("podAffinityTerm").at("labelSelector").serialize(),
            R"({"matchLabels":{"pgvigil.io/cluster":"demo"}})");
  EXPECT_FALSE(pod.has_field("tolerations"));
  EXPECT_FALSE(pod.has_field("nodeSelector"));
  EXPECT_FALSE(c.has_field("resources"));
}

// Every ...File of the spec the pods read is a file the projected volume
// provides, with mode 0400 for Secrets.
TEST(KubeRenderTest, SecretFilesAreWhereTheSpecFileSaysForBothExamples) {
  for (const ClusterResource& res : {Demo(), Full()}) {
    const value pod = RenderStatefulSet(res, Options()).at("spec").at("template").at("spec");
    const value& config = pod.at("volumes").at(0);
    ASSERT_EQ(config.at("name").as_string(), "config");
    std::map<std::string, std::pair<std::string, int>> files;  // path -> (source, mode)
    for (const auto& src : config.at("projected").at("sources").as_array()) {
      const bool secret = src.has_field("secret");
      const value& s = secret ? src.at("secret") : src.at("configMap");
      for (const auto& item : s.at("items").as_array())
        files[std::string(kConfigDir) + "/" + item.at("path").as_string()] = {
            s.at("name").as_string() + ":" + item.at("key").as_string(),
            item.has_field("mode") ? item.at("mode").as_integer() : -1};
    }
    ASSERT_EQ(files.count(kSpecFile), 1u);
    EXPECT_EQ(files[kSpecFile].first, res.name + "-config:cluster.yaml");
    const ClusterSpec& s = res.spec;
    std::vector<std::string> referenced;
    for (const std::string& f :
         {s.postgres.superuser.passwordFile, s.postgres.replicationUser.passwordFile,
          s.proxy.auth.hbaFile, s.proxy.auth.passwordFile, s.proxy.auth.keyFile,
          s.proxy.tls.certFile, s.proxy.tls.keyFile, s.watchdog.authKeyFile, s.api.tokenFile,
          s.api.tls.certFile, s.api.tls.keyFile})
      if (!f.empty()) referenced.push_back(f);
    EXPECT_GE(referenced.size(), 5u);
    for (const auto& f : referenced) {
      ASSERT_EQ(files.count(f), 1u) << res.name << ": " << f << " is not mounted";
      EXPECT_EQ(files[f].second, 0400) << f;
    }
    size_t secret_files = 0;
    for (const auto& m : res.secrets) secret_files += m.keys.size();
    EXPECT_EQ(files.size(), secret_files + 1) << "cluster.yaml and every Secret key";
  }
}

TEST(KubeRenderTest, PodOptionsFromTheResource) {
  const value sts = RenderStatefulSet(Full(), Options());
  const value& pod = sts.at("spec").at("template").at("spec");
  const value& c = pod.at("containers").at(0);
  EXPECT_EQ(c.at("image").as_string(), "registry.example/pgvigil:dev");
  EXPECT_EQ(c.at("resources").serialize(),
            R"({"limits":{"memory":"2Gi"},"requests":{"cpu":"500m","memory":"1Gi"}})");
  EXPECT_EQ(
      pod.at("tolerations").serialize(),
      R"([{"effect":"NoSchedule","key":"dedicated","operator":"Equal","tolerationSeconds":30,"value":"db"}])");
  EXPECT_EQ(pod.at("nodeSelector").serialize(), R"({"disk":"ssd"})");
  // The user's node affinity is kept and the default anti-affinity added.
  EXPECT_TRUE(pod.at("affinity").has_field("nodeAffinity"));
  EXPECT_TRUE(pod.at("affinity").has_field("podAntiAffinity"));
  // api.tls: the probes speak HTTPS; the ports follow the spec.
  EXPECT_EQ(c.at("readinessProbe").at("httpGet").at("scheme").as_string(), "HTTPS");
  EXPECT_EQ(c.at("ports").at(1).at("containerPort").as_integer(), 6432);
  EXPECT_EQ(c.at("ports").at(2).at("containerPort").as_integer(), 8008);
  EXPECT_EQ(c.at("ports").at(4).at("containerPort").as_integer(), 9700);
  EXPECT_FALSE(
      sts.at("spec").at("volumeClaimTemplates").at(0).at("spec").has_field("storageClassName"));
  EXPECT_EQ(sts.at("spec")
                .at("volumeClaimTemplates")
                .at(0)
                .at("spec")
                .at("resources")
                .at("requests")
                .at("storage")
                .as_string(),
            "1.5Gi");

  // A podAntiAffinity of the user's replaces the default.
  ClusterResource own = Full();
  own.affinity =
      YAML::Load("{podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: []}}");
  const value a =
      RenderStatefulSet(own, Options()).at("spec").at("template").at("spec").at("affinity");
  EXPECT_EQ(a.serialize(),
            R"({"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[]}})");

  ClusterResource no_image = Full();
  no_image.image.clear();
  RenderOptions o = Options();
  o.defaultImage = "local/pgvigil:test";
  EXPECT_EQ(RenderStatefulSet(no_image, o)
                .at("spec")
                .at("template")
                .at("spec")
                .at("containers")
                .at(0)
                .at("image")
                .as_string(),
            "local/pgvigil:test");
}

TEST(KubeRenderTest, Services) {
  const ClusterResource demo = Demo();
  auto svc = [&](const ClusterResource& r, const char* which) {
    return RenderService(r, Options(), which);
  };
  value rw = svc(demo, "rw"), ro = svc(demo, "ro"), pool = svc(demo, "pool"), hl = svc(demo, "hl");
  EXPECT_EQ(rw.at("metadata").at("name").as_string(), "demo-rw");
  EXPECT_EQ(rw.at("spec").at("selector").serialize(),
            R"({"pgvigil.io/cluster":"demo","pgvigil.io/role":"primary"})");
  EXPECT_EQ(rw.at("spec").at("ports").serialize(),
            R"([{"name":"postgres","port":5432,"protocol":"TCP","targetPort":9999}])");
  EXPECT_EQ(rw.at("spec").at("type").as_string(), "ClusterIP");
  EXPECT_EQ(ro.at("metadata").at("name").as_string(), "demo-ro");
  EXPECT_EQ(ro.at("spec").at("selector").serialize(),
            R"({"pgvigil.io/cluster":"demo","pgvigil.io/role":"replica"})");
  EXPECT_EQ(ro.at("spec").at("ports").at(0).at("targetPort").as_integer(), 5432);
  EXPECT_EQ(pool.at("metadata").at("name").as_string(), "demo");
  EXPECT_EQ(pool.at("spec").at("selector").serialize(),
            R"({"pgvigil.io/cluster":"demo","pgvigil.io/pool":"true"})");
  EXPECT_EQ(pool.at("spec").at("ports").serialize(),
            R"([{"name":"proxy","port":9999,"protocol":"TCP","targetPort":9999}])");
  EXPECT_EQ(pool.at("spec").at("type").as_string(), "LoadBalancer");  // the example's services.pool
  EXPECT_EQ(hl.at("metadata").at("name").as_string(), "demo-hl");
  EXPECT_EQ(hl.at("spec").at("clusterIP").as_string(), "None");
  EXPECT_TRUE(hl.at("spec").at("publishNotReadyAddresses").as_bool());
  EXPECT_EQ(hl.at("spec").at("selector").serialize(), R"({"pgvigil.io/cluster":"demo"})");
  EXPECT_EQ(hl.at("spec").at("ports").at(4).serialize(),
            R"({"name":"heartbeat","port":9694,"protocol":"UDP","targetPort":9694})");
  EXPECT_FALSE(hl.at("spec").has_field("type"));

  const ClusterResource full = Full();
  value frw = svc(full, "rw"), fro = svc(full, "ro"), fpool = svc(full, "pool");
  EXPECT_EQ(frw.at("spec").at("type").as_string(), "LoadBalancer");
  EXPECT_EQ(frw.at("metadata").at("annotations").serialize(), R"({"lb.example/internal":"true"})");
  EXPECT_EQ(frw.at("spec").at("loadBalancerSourceRanges").serialize(), R"(["10.0.0.0/8"])");
  EXPECT_EQ(frw.at("spec").at("ports").at(0).at("targetPort").as_integer(), 6432);
  // The API server takes source ranges on LoadBalancer Services only (the
  // conversion refuses them elsewhere; the renderer never sends them).
  EXPECT_EQ(fro.at("spec").at("type").as_string(), "NodePort");
  ClusterResource ranges = Full();
  ranges.ro.loadBalancerSourceRanges = {"10.0.0.0/8"};
  EXPECT_FALSE(svc(ranges, "ro").at("spec").has_field("loadBalancerSourceRanges"));
  EXPECT_FALSE(fpool.at("metadata").has_field("annotations"));
  EXPECT_EQ(fpool.at("spec").at("ports").at(0).at("port").as_integer(), 6432);
}

// The ConfigMap holds the converted spec in the VM file format: the sidecar's
// spec file parser reads it back unchanged.
TEST(KubeRenderTest, ConfigMapHoldsTheSpecFile) {
  for (const ClusterResource& res : {Demo(), Full()}) {
    value cm = RenderConfigMap(res, Options());
    EXPECT_EQ(cm.at("metadata").at("name").as_string(), res.name + "-config");
    SpecParseOptions options;
    options.checkSecretFiles = false;
    SpecLoad back =
        ParseSpec(cm.at("data").at("cluster.yaml").as_string(), "cluster.yaml", options);
    ASSERT_TRUE(back.ok()) << back.ErrorText();
    EXPECT_EQ(*back.spec, res.spec);
    EXPECT_EQ(back.spec->nodes.at(1).host, res.name + "-1." + res.name + "-hl." + res.ns + ".svc");
  }
  // One copy of the parameters, in cluster.yaml (round trip above); the agent
  // writes pgvigil.conf with PostgreSQL's quoting in the data directory.
  EXPECT_EQ(RenderConfigMap(Full(), Options()).at("data").size(), 1u);
}

TEST(KubeRenderTest, PodDisruptionBudget) {
  value pdb = RenderPodDisruptionBudget(Demo(), Options());
  EXPECT_EQ(pdb.at("apiVersion").as_string(), "policy/v1");
  EXPECT_EQ(pdb.at("spec").serialize(),
            R"({"maxUnavailable":1,"selector":{"matchLabels":{"pgvigil.io/cluster":"demo"}}})");
}

// The acting controller's term on every object, never in the pod template
// (a new term must not make every pod look outdated).
TEST(KubeRenderTest, TermStamp) {
  RenderOptions o = Options();
  o.term = 17;
  ClusterResource full = Full();
  full.rw.annotations["pgvigil.io/term"] = "99";  // the user's cannot replace it
  for (const auto& obj : RenderOwnedObjects(full, o)) {
    EXPECT_EQ(obj.object.at("metadata").at("annotations").at("pgvigil.io/term").as_string(), "17")
        << obj.name;
    if (obj.kind == "StatefulSet") {
      EXPECT_FALSE(obj.object.at("spec").at("template").at("metadata").has_field("annotations"));
    }
  }
  EXPECT_EQ(RenderService(full, o, "rw").at("metadata").at("annotations").serialize(),
            R"({"lb.example/internal":"true","pgvigil.io/term":"17"})");
  // Without a term (the goldens), no annotation at all.
  for (const auto& obj : RenderOwnedObjects(Demo(), Options()))
    EXPECT_FALSE(obj.object.at("metadata").has_field("annotations")) << obj.name;
}

TEST(KubeRenderTest, Deterministic) {
  EXPECT_EQ(RenderAll(Full()), RenderAll(Full()));
  EXPECT_NE(RenderAll(Full()), RenderAll(Demo()));
}

}  // namespace
}  // namespace pgvigil::kube
