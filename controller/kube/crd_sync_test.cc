// The CRD (charts/pgvigil/templates/crds/postgresclusters.yaml) and the C++
// conversion must describe the same resource: every schema property is a field
// the converter reads and vice versa, every field the schema marks as refused is
// refused, every enum value the schema admits converts, and the names, printer
// columns and subresources are those of KUBERNETES.md §3.
#include <gtest/gtest.h>

#include <set>

#include "controller/kube/cluster_resource.h"
#include "controller/kube/kube_test_util.h"

namespace pgvigil::kube {
namespace {

using testing_util::CrdSchema;
using testing_util::LoadCrd;

struct SchemaField {
  std::string path;
  YAML::Node schema;
};

// Every property under `node` (a schema), depth first; list items as "[]".
// Maps (additionalProperties) and pass-through objects are leaves.
void Walk(const YAML::Node& node, const std::string& path, std::vector<SchemaField>* out) {
  if (node["x-kubernetes-preserve-unknown-fields"] || node["additionalProperties"]) return;
  if (node["type"] && node["type"].Scalar() == "array") {
    if (node["items"]["properties"]) Walk(node["items"], path + "[]", out);
    return;
  }
  if (!node["properties"]) return;
  for (const auto& kv : node["properties"]) {
    std::string child = path + "." + kv.first.Scalar();
    out->push_back({child, kv.second});
    Walk(kv.second, child, out);
  }
}

std::vector<SchemaField> SpecFields() {
  std::vector<SchemaField> out;
  Walk(CrdSchema()["properties"]["spec"], "spec", &out);
  return out;
}

// A valid resource that gives every optional structure once (Secret references,
// one instance override), so the converter walks into all of them.
const char kFull[] = R"(apiVersion: pgvigil.io/v1alpha1
kind: PostgresCluster
metadata: {name: demo, namespace: db}
spec:
  instances: 3
  storage: {size: 1Gi}
  instanceOverrides: [{name: demo-1, weight: 2}]
  postgres:
    superuser: {passwordSecret: {name: su, key: pw}}
    replicationUser: {passwordSecret: {name: repl, key: pw}}
  proxy: {auth: {secret: {name: auth}}, tls: {secret: {name: ptls}}}
  watchdog: {authKeySecret: {name: wd, key: key}}
  api: {tokenSecret: {name: tok, key: t}, tls: {secret: {name: atls}}}
)";

TEST(CrdSyncTest, SchemaPropertiesAndConverterFieldsAreTheSame) {
  std::set<std::string> known;
  ConvertOptions options;
  options.knownFields = &known;
  ResourceLoad load = ConvertClusterResourceText(kFull, "full", options);
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  std::set<std::string> schema;
  for (const auto& f : SpecFields()) schema.insert(f.path);
  ASSERT_GT(schema.size(), 80u);  // the walk found the schema
  for (const auto& p : schema) EXPECT_TRUE(known.count(p)) << p << " is in the CRD but the converter ignores it";
  for (const auto& p : known) EXPECT_TRUE(schema.count(p)) << p << " is read by the converter but not in the CRD";
}

void JsonPaths(const YAML::Node& n, const std::string& path, std::vector<std::string>* out) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      std::string child = path + "." + kv.first.Scalar();
      out->push_back(child);
      JsonPaths(kv.second, child, out);
    }
  } else if (n.IsSequence() && n.size() > 0) {
    JsonPaths(n[0], path + "[]", out);
  }
}

// Every field of the VM spec has its place in the CRD: as a field, inside a
// pass-through or map field, or as a refused field (so that a new spec field
// cannot be forgotten on Kubernetes).
TEST(CrdSyncTest, EveryVmSpecFieldIsInTheCrd) {
  ClusterSpec vm;
  vm.nodes.push_back(NodeSpec{});
  vm.proxy.loadBalancing.readOnlyFunctions = {"f"};
  std::vector<std::string> vm_paths;
  JsonPaths(YAML::Load(SpecToJson(vm))["spec"], "spec", &vm_paths);
  std::set<std::string> crd;
  std::set<std::string> leaves;  // fields whose insides the CRD does not list
  for (const auto& f : SpecFields()) {
    crd.insert(f.path);
    if (f.schema["x-kubernetes-preserve-unknown-fields"] || f.schema["additionalProperties"] ||
        (f.schema["type"] && f.schema["type"].Scalar() == "array" && !f.schema["items"]["properties"]))
      leaves.insert(f.path);
  }
  ASSERT_GT(vm_paths.size(), 60u);
  for (const auto& p : vm_paths) {
    bool inside_leaf = false;
    for (const auto& l : leaves) inside_leaf |= p.rfind(l + ".", 0) == 0 || p.rfind(l + "[]", 0) == 0;
    EXPECT_TRUE(crd.count(p) || inside_leaf) << p << " (a VM spec field) has no place in the CRD";
  }
}

void Set(YAML::Node parent, const std::vector<std::string>& parts, size_t i, const YAML::Node& value) {
  if (i + 1 == parts.size()) {
    parent[parts[i]] = value;
    return;
  }
  if (!parent[parts[i]].IsMap()) parent[parts[i]] = YAML::Node(YAML::NodeType::Map);
  Set(parent[parts[i]], parts, i + 1, value);
}

YAML::Node WithField(const std::string& path, const YAML::Node& value) {
  YAML::Node doc = YAML::Load(kFull);
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(path.substr(start, dot - start));
  parts.push_back(path.substr(start));
  Set(doc, parts, 0, value);
  return doc;
}

YAML::Node SampleOf(const YAML::Node& schema) {
  std::string type = schema["type"] ? schema["type"].Scalar() : "string";
  if (type == "integer") return YAML::Node(1);
  if (type == "boolean") return YAML::Node(false);
  if (type == "object") return YAML::Load("{a: b}");
  if (type == "array") return YAML::Load("[{a: b}]");
  return YAML::Node("x");
}

TEST(CrdSyncTest, EveryFieldTheSchemaCallsRefusedIsRefused) {
  int refused = 0;
  for (const auto& f : SpecFields()) {
    if (f.path.find("[]") != std::string::npos) continue;
    std::string description = f.schema["description"] ? f.schema["description"].Scalar() : "";
    if (description.rfind("refused", 0) != 0) continue;
    ++refused;
    ResourceLoad load = ConvertClusterResource(WithField(f.path, SampleOf(f.schema)), "refused");
    bool at_path = false;
    for (const auto& e : load.errors) at_path |= e.path == f.path;
    EXPECT_TRUE(at_path) << f.path << " is not refused: " << load.ErrorText();
  }
  EXPECT_GE(refused, 19);
}

TEST(CrdSyncTest, EveryEnumValueOfTheSchemaConverts) {
  int values = 0;
  for (const auto& f : SpecFields()) {
    if (!f.schema["enum"] || f.path.find("[]") != std::string::npos) continue;
    for (const auto& v : f.schema["enum"]) {
      ++values;
      ResourceLoad load = ConvertClusterResource(WithField(f.path, v), "enum");
      EXPECT_TRUE(load.ok()) << f.path << " = " << v.Scalar() << ": " << load.ErrorText();
    }
  }
  EXPECT_GE(values, 15);
}

TEST(CrdSyncTest, NamesSubresourcesAndPrinterColumnsAreTheDesigned) {
  YAML::Node crd = LoadCrd();
  EXPECT_EQ(crd["apiVersion"].Scalar(), "apiextensions.k8s.io/v1");
  EXPECT_EQ(crd["metadata"]["name"].Scalar(), "postgresclusters.pgvigil.io");
  YAML::Node spec = crd["spec"];
  EXPECT_EQ(spec["group"].Scalar(), "pgvigil.io");
  EXPECT_EQ(spec["scope"].Scalar(), "Namespaced");
  EXPECT_EQ(spec["names"]["kind"].Scalar(), "PostgresCluster");
  EXPECT_EQ(spec["names"]["plural"].Scalar(), "postgresclusters");
  EXPECT_EQ(spec["names"]["singular"].Scalar(), "postgrescluster");
  EXPECT_EQ(spec["names"]["shortNames"][0].Scalar(), "pgvc");
  ASSERT_EQ(spec["versions"].size(), 1u);
  YAML::Node v = spec["versions"][0];
  EXPECT_EQ(v["name"].Scalar(), "v1alpha1");
  EXPECT_TRUE(v["served"].as<bool>() && v["storage"].as<bool>());
  EXPECT_TRUE(v["subresources"]["status"].IsMap());
  EXPECT_EQ(v["subresources"]["scale"]["specReplicasPath"].Scalar(), ".spec.instances");
  EXPECT_EQ(v["subresources"]["scale"]["statusReplicasPath"].Scalar(), ".status.instances");
  EXPECT_EQ(v["subresources"]["scale"]["labelSelectorPath"].Scalar(), ".status.selector");
  const std::vector<std::vector<std::string>> kColumns = {
      {"Instances", "integer", ".spec.instances", "0"}, {"Ready", "integer", ".status.readyInstances", "0"},
      {"Phase", "string", ".status.phase", "0"},        {"Primary", "string", ".status.currentPrimary", "0"},
      {"Timeline", "integer", ".status.timeline", "1"}, {"Term", "integer", ".status.term", "1"},
      {"Age", "date", ".metadata.creationTimestamp", "0"}};
  YAML::Node cols = v["additionalPrinterColumns"];
  ASSERT_EQ(cols.size(), kColumns.size());
  for (size_t i = 0; i < kColumns.size(); ++i) {
    EXPECT_EQ(cols[i]["name"].Scalar(), kColumns[i][0]);
    EXPECT_EQ(cols[i]["type"].Scalar(), kColumns[i][1]);
    EXPECT_EQ(cols[i]["jsonPath"].Scalar(), kColumns[i][2]);
    EXPECT_EQ(cols[i]["priority"] ? cols[i]["priority"].Scalar() : "0", kColumns[i][3]);
  }
  // Every column's status field is in the status schema (so it is not pruned).
  YAML::Node status = v["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
  for (const char* f : {"readyInstances", "phase", "currentPrimary", "timeline", "term", "instances", "selector"})
    EXPECT_TRUE(status[f]) << f;
  YAML::Node s = v["schema"]["openAPIV3Schema"]["properties"]["spec"];
  EXPECT_EQ(s["required"][0].Scalar(), "instances");
  EXPECT_EQ(s["required"][1].Scalar(), "storage");
  EXPECT_EQ(s["properties"]["instances"]["minimum"].as<int>(), 1);
  EXPECT_EQ(s["properties"]["instances"]["maximum"].as<int>(), 9);
  EXPECT_TRUE(s["properties"]["vip"]["x-kubernetes-preserve-unknown-fields"].as<bool>());
}

}  // namespace
}  // namespace pgvigil::kube
