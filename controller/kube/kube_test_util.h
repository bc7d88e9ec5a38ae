// Helpers shared by the controller/kube unit tests: repository files and the
// PostgresCluster documents of the examples and the CRD.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace pgvigil::kube::testing_util {

inline std::string RepoFile(const std::string& relative) {
  std::ifstream in(std::string(PGVIGIL_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The chart's CRD file as YAML: template directive lines ("{{ ... }}") that the
// chart may wrap around it are dropped first.
inline YAML::Node LoadCrd() {
  std::istringstream in(RepoFile("charts/pgvigil/templates/crds/postgresclusters.yaml"));
  std::string line, text;
  while (std::getline(in, line)) {
    size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 2, "{{") == 0) continue;
    text += line + "\n";
  }
  return YAML::Load(text);
}

// The openAPIV3Schema of v1alpha1.
inline YAML::Node CrdSchema() { return LoadCrd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]; }

// The document of `kind` in a multi-document YAML file.
inline YAML::Node FindDocument(const std::string& relative, const std::string& kind) {
  for (const YAML::Node& d : YAML::LoadAll(RepoFile(relative)))
    if (d["kind"] && d["kind"].Scalar() == kind) return d;
  return YAML::Node();
}

}  // namespace pgvigil::kube::testing_util
