// Parsing and validating a cluster spec. Pure: reads text, returns values; the
// only I/O is LoadSpecFile reading the file and (when asked) checking that the
// referenced secret files exist.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/spec.h"

namespace pgvigil {

// One problem in a spec, printed as "FILE:LINE:COLUMN: spec.path: reason".
// line and column are 1-based; 0 when unknown.
struct SpecError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;  // e.g. "spec.nodes[1].port"
  std::string reason;
  std::string ToString() const;
};

struct SpecParseOptions {
  bool checkSecretFiles = true;  // referenced passwordFile/keyFile/... must exist
};

// Either spec (all problems absent) or errors (every problem found, in file order).
struct SpecLoad {
  std::optional<ClusterSpec> spec;
  std::vector<SpecError> errors;
  bool ok() const { return spec.has_value(); }
  std::string ErrorText() const;  // errors joined by newlines
};

SpecLoad ParseSpec(const std::string& yaml_text, const std::string& file_name,
                   const SpecParseOptions& options = {});
SpecLoad LoadSpecFile(const std::string& path, const SpecParseOptions& options = {});

// Canonical serialisations; both parse back with ParseSpec to an equal spec.
std::string SpecToYaml(const ClusterSpec& spec);
std::string SpecToJson(const ClusterSpec& spec);

}  // namespace pgvigil
