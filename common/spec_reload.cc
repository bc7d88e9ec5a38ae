#include "common/spec_reload.h"

#include <yaml-cpp/yaml.h>

namespace pgvigil {

namespace {

// Top-level sections (children of spec:) whose canonical YAML differs.
std::vector<std::string> DifferentSections(const ClusterSpec& a, const ClusterSpec& b) {
  std::vector<std::string> out;
  YAML::Node ya = YAML::Load(SpecToYaml(a))["spec"];
  YAML::Node yb = YAML::Load(SpecToYaml(b))["spec"];
  for (const auto& kv : ya) {
    std::string key = kv.first.as<std::string>();
    if (YAML::Dump(kv.second) != YAML::Dump(yb[key])) out.push_back(key);
  }
  if (a.apiVersion != b.apiVersion) out.push_back("apiVersion");
  return out;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

}  // namespace

SpecReload CompareReloadedSpec(const ClusterSpec& running, const SpecLoad& reloaded,
                               const std::string& node) {
  SpecReload r;
  if (!reloaded.ok()) {
    for (const auto& e : reloaded.errors) r.errors.push_back(e.ToString());
    if (r.errors.empty()) r.errors.push_back("the spec could not be read");
    return r;
  }
  const ClusterSpec& next = *reloaded.spec;
  if (next.name != running.name)
    r.errors.push_back("metadata.name '" + next.name + "' is not this cluster ('" + running.name +
                       "'); a cluster cannot be renamed by a reload");
  if (!node.empty() && !next.FindNode(node))
    r.errors.push_back("this host's node '" + node + "' is no longer in spec.nodes");
  if (!r.errors.empty()) return r;
  try {
    r.changedSections = DifferentSections(running, next);
  } catch (const YAML::Exception& e) {  // canonical YAML always parses; defensive edge
    r.errors.push_back(std::string("comparing the specs: ") + e.what());
    return r;
  }
  r.outcome = r.changedSections.empty() ? SpecReload::Outcome::kUnchanged
                                        : SpecReload::Outcome::kChanged;
  return r;
}

std::string SpecReload::Summary() const {
  switch (outcome) {
    case Outcome::kInvalid:
      return "the spec was rejected, the one in use stays (" + std::to_string(errors.size()) +
             (errors.size() == 1 ? " problem): " : " problems): ") + Join(errors, "; ");
    case Outcome::kUnchanged:
      return "the spec is unchanged";
    case Outcome::kChanged:
      return "the spec changed in: " + Join(changedSections, ", ");
  }
  return "";
}

}  // namespace pgvigil
