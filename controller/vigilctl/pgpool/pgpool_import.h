// Turning a Pgpool-II configuration (pgpool.conf, optionally pool_hba.conf and
// pool_passwd) into a pgvigil cluster spec, and saying what did not carry over.
// Pure: the caller reads the files (AuthPaths says which) and passes their text;
// nothing here touches the disk. Works with the settings of Pgpool-II 3.7 to 4.6
// (4.0's other_pgpool_hostname0/heartbeat_destination0 style as well as 4.2's
// hostname0/heartbeat_hostname0 style). The mapping, key by key, is in README.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/spec.h"
#include "controller/vigilctl/pgpool/pgpool_conf.h"

namespace pgvigil::pgpool {

enum class FindingKind {
  kMapped,       // the setting became part of the spec
  kUnnecessary,  // pgvigil does this job itself (scripts, pool sizing, ...)
  kUnsupported,  // pgvigil cannot honour this value; the reason says what it does instead
  kNote,         // an assumption or a step left to the user
  kWarning,      // something looks wrong in the input (duplicates, unknown keys, ...)
  kError,        // the input cannot be imported
};
const char* ToString(FindingKind k);

struct Finding {
  FindingKind kind = FindingKind::kNote;
  std::string file;  // empty: not tied to a line
  int line = 0;
  std::string key;
  std::string value;
  bool quoted = false;  // the value was a quoted string
  std::string text;
};

struct ImportOptions {
  std::string name = "pgpool";                      // metadata.name
  std::string secretsDir = "/etc/pgvigil/secrets";  // where the spec's secret files live
  std::vector<std::string> nodeNames;               // override node names, backend order
  std::string replicationUser = "repl";             // pgpool.conf has no such setting
  int postgresVersion = 15;
  std::string binDirectory;  // empty: guessed from the data directories
  std::string hbaFile;       // --hba: overrides enable_pool_hba's file
  std::string passwordFile;  // --pool-passwd: overrides pool_passwd
  std::string keyFile;       // --pool-key: AES key of pool_passwd
};

// The auth files the import references, and their text when the caller could read them.
struct AuthFiles {
  std::string hbaPath;  // empty: none
  std::optional<std::string> hbaText;
  std::string passwordPath;  // empty: none
  std::optional<std::string> passwordText;
  std::string keyPath;                 // empty: none
  std::optional<std::string> keyText;  // the pool key (first line)
};

// Which auth files the configuration refers to (before reading them).
AuthFiles AuthPaths(const PgpoolConf& conf, const std::string& conf_path, const ImportOptions& opt);

// A secret file the spec references: the user must create it (mode 0600).
struct SecretFile {
  std::string path;
  std::string purpose;  // "the superuser's password", ...
  std::string source;   // where the value comes from in the Pgpool-II setup
};

struct ImportResult {
  ClusterSpec spec;
  std::vector<Finding> findings;  // in file order, then findings about the whole file
  std::vector<SecretFile> secrets;
  bool ok() const;  // no kError
  size_t Count(FindingKind k) const;
};

ImportResult ImportPgpool(const PgpoolConf& conf, const std::string& conf_path,
                          const AuthFiles& auth, const ImportOptions& opt);

// The human-readable report: every finding with FILE:LINE, grouped by kind, then the
// secret files to create. verbose: also the mapped settings.
std::string FormatReport(const ImportResult& r, bool verbose);

}  // namespace pgvigil::pgpool
