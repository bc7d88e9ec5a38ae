// postgres.parameters on this node: the spec's settings written to
// DATA/pgvigil.conf, included from DATA/postgresql.conf (the include line is
// appended once, last, so these settings win over earlier lines of that file;
// postgresql.auto.conf, where pgvigil keeps primary_conninfo, is read after it),
// then a reload of the running server and a look at which settings wait for a
// restart (pg_settings.pending_restart) and which the server refused
// (pg_file_settings.error).
//
// A server whose postgresql.conf lives outside the data directory (Debian's
// /etc/postgresql/15/main) is not edited: the sidecar writes pgvigil.conf and
// reports that the include is missing (the admin adds
// `include_if_exists = '/DATA/pgvigil.conf'`).
//
// Render/Quote are pure; ParameterApplier does files and one SQL connection and
// blocks (call from an operation or background thread). Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/result.h"
#include "common/sidecar_status.h"
#include "sidecar/agent/local_postgres.h"
#include "sidecar/agent/parameter_check.h"

namespace pgvigil {

// The whole pgvigil.conf: a header line, then `name = 'value'` per setting, each
// value quoted by GucFileLiteral (standby_config.h), as PostgreSQL's lexer reads it.
std::string RenderPgvigilConf(const std::map<std::string, std::string>& params);
// The line that makes postgresql.conf read pgvigil.conf from `data_dir`.
std::string IncludeLine(const std::string& data_dir);

class ParameterApplier {
 public:
  explicit ParameterApplier(LocalNode node) : node_(std::move(node)) {}

  // Writes pgvigil.conf when its content differs, makes sure postgresql.conf
  // includes it, and reloads a running server when the file changed (or always
  // when `reload`); then reads pending_restart and the server's errors for the
  // file. Nothing to do while the data directory does not exist yet.
  Status Apply(bool reload = false);
  // The settings the spec now holds (a new spec, PUT /v1/node/spec).
  void SetParameters(std::map<std::string, std::string> params);
  // The settings PostgreSQL reported waiting for a restart at the last look.
  std::vector<std::string> PendingRestart() const {
    std::lock_guard<std::mutex> l(mu_);
    return pendingRestart_;
  }

  // The settings PostgreSQL refused from pgvigil.conf at the last look (name, its error).
  std::vector<std::pair<std::string, std::string>> Refused() const {
    std::lock_guard<std::mutex> l(mu_);
    return errors_;
  }

  // The running server's pg_settings rows (parameter_check.h); an error when
  // the server is not running or does not answer.
  Result<SettingTable> ReadSettings() const;
  // Each of `trials` (SessionTrials) set with set_config(name, value, true) on
  // a connection of its own, which ends with it: those PostgreSQL refuses, its
  // words as the reason. An error when the server does not answer.
  Result<std::vector<ParameterProblem>> TryInSession(const std::map<std::string, std::string>& trials) const;

  // The settings of the start spec this start left out (StartSpec::setAside),
  // shown until a pushed spec's parameters take (ClearSetAside).
  void SetAside(std::vector<ParameterProblem> aside) {
    std::lock_guard<std::mutex> l(mu_);
    setAside_ = std::move(aside);
  }
  void ClearSetAside() { SetAside({}); }

  // GET /v1/status "postgres.parameters" (common/sidecar_status.h), and as JSON.
  SidecarParameters Snapshot() const;
  web::json::value Json() const;

 private:
  Status ApplyLocked(bool reload);
  Status LookAtServer();

  mutable std::mutex mu_;
  LocalNode node_;                          // guarded by mu_ (spec.postgres.parameters)
  bool included_ = false;                   // guarded by mu_
  std::vector<std::string> pendingRestart_; // guarded by mu_
  std::vector<std::pair<std::string, std::string>> errors_;  // guarded by mu_
  std::vector<ParameterProblem> setAside_;  // guarded by mu_
  std::string lastApplied_;                 // guarded by mu_
  std::string lastError_;                   // guarded by mu_
};

}  // namespace pgvigil
