// Shared by kube-fake's store tests: a store with the built-in kinds and the
// chart's PostgresCluster CRD, and JSON from text.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "controller/kube/testing/object_store.h"
#include "controller/kube/testing/statefulset_sim.h"

namespace pgvigil::kube::fake {

inline web::json::value J(const std::string& text) { return web::json::value::parse(text); }

inline std::string CrdPath() {
  return std::string(PGVIGIL_SOURCE_DIR) + "/charts/pgvigil/templates/crds/postgresclusters.yaml";
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A valid PostgresCluster named `name`.
inline web::json::value ValidCluster(const std::string& name) {
  return J(R"({"apiVersion":"pgvigil.io/v1alpha1","kind":"PostgresCluster","metadata":{"name":")" + name +
           R"("},"spec":{"instances":3,"storage":{"size":"1Gi"}}})");
}

class StoreTest : public ::testing::Test {
 protected:
  explicit StoreTest(size_t history = 1000) : store_(history) {
    for (const auto& t : BuiltinTypes()) store_.AddType(t);
    std::string error;
    auto crd = TypeFromCrd(ReadText(CrdPath()), &error);
    EXPECT_TRUE(crd.has_value()) << error;
    if (crd) store_.AddType(*crd);
    ObjectStore* s = &store_;
    store_.SetAfterWrite([s] { ReconcileStatefulSets(s); });
  }
  const ResourceType& T(const std::string& group, const std::string& plural) {
    for (const char* v : {"v1", "v1alpha1"})
      if (auto* t = store_.FindType(group, v, plural)) return *t;
    throw std::runtime_error("no type " + plural);
  }
  const ResourceType& Pods() { return T("", "pods"); }
  const ResourceType& ConfigMaps() { return T("", "configmaps"); }
  const ResourceType& Clusters() { return T("pgvigil.io", "postgresclusters"); }
  static std::string Rv(const Reply& r) { return StringField(r.body, "metadata.resourceVersion"); }
  static std::string Reason(const Reply& r) { return StringField(r.body, "reason"); }
  static web::json::value Cluster(const std::string& name) { return ValidCluster(name); }
  ObjectStore store_;
};

}  // namespace pgvigil::kube::fake
