// What a running pgvigil process makes of its spec file read again on SIGHUP
// (`systemctl reload`). Pure: compares the spec in use with the one just loaded.
//   invalid   - the file does not parse or validate, names another cluster, or no
//               longer lists this host's node: nothing changes, every reason is logged;
//   unchanged - the same spec (compared in canonical form, so comments, key order
//               and spelled-out defaults do not count);
//   changed   - valid and different; changedSections says which top-level parts
//               (metadata.name is never among them: a rename is invalid).
#pragma once

#include <string>
#include <vector>

#include "common/spec.h"
#include "common/spec_parser.h"

namespace pgvigil {

struct SpecReload {
  enum class Outcome { kInvalid, kUnchanged, kChanged };
  Outcome outcome = Outcome::kInvalid;
  std::vector<std::string> changedSections;  // e.g. "nodes", "healthCheck"; kChanged only
  std::vector<std::string> errors;           // kInvalid only, one line each
  std::string Summary() const;               // one log line
};

// node: this host's node name ("" when the process has none).
SpecReload CompareReloadedSpec(const ClusterSpec& running, const SpecLoad& reloaded,
                               const std::string& node);

}  // namespace pgvigil
