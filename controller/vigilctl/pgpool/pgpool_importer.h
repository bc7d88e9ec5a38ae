// Internal to the Pgpool-II import: one Importer walks the effective settings
// section by section (backends and checks in pgpool_import.cc, watchdog and VIP in
// pgpool_import_watchdog.cc, users and auth in pgpool_import_auth.cc) and marks
// each key it used; the keys left over are judged by the table in pgpool_keys.cc.
// Not thread-safe; lives for one import.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "controller/vigilctl/pgpool/pgpool_import.h"
#include "controller/vigilctl/pgpool/pgpool_values.h"

namespace pgvigil::pgpool::internal {

class Importer {
 public:
  Importer(const PgpoolConf& conf, const std::string& conf_path, const AuthFiles& auth,
           const ImportOptions& opt, ImportResult* out);
  void Run();

  // ---- settings ----
  // The effective setting of key (nullptr when absent); Take also marks it used.
  const Setting* Peek(const std::string& key) const;
  const Setting* Take(const std::string& key);
  // The indexes N present for "stemN" keys, ascending.
  std::vector<int> Indexes(const std::string& stem) const;
  static std::string Key(const std::string& stem, int index) {
    return stem + std::to_string(index);
  }
  bool Used(const std::string& key) const { return used_.count(key) > 0; }

  // Typed reads of a taken setting; a malformed value is an error finding and yields nullopt.
  std::optional<bool> Bool(const std::string& key);
  std::optional<int64_t> Int(const std::string& key, Unit unit, int64_t min, int64_t max);
  std::string String(const std::string& key, const std::string& fallback = "");

  // ---- findings ----
  void Add(FindingKind kind, const Setting* s, const std::string& text);
  void Mapped(const Setting* s, const std::string& text) { Add(FindingKind::kMapped, s, text); }
  void Unsupported(const Setting* s, const std::string& text) {
    Add(FindingKind::kUnsupported, s, text);
  }
  void Unnecessary(const Setting* s, const std::string& text) {
    Add(FindingKind::kUnnecessary, s, text);
  }
  void Note(const Setting* s, const std::string& text) { Add(FindingKind::kNote, s, text); }
  void Warning(const Setting* s, const std::string& text) { Add(FindingKind::kWarning, s, text); }
  void Error(const Setting* s, const std::string& text) { Add(FindingKind::kError, s, text); }
  void Secret(const std::string& path, const std::string& purpose, const std::string& source) {
    out_->secrets.push_back({path, purpose, source});
  }

  ClusterSpec& spec() { return out_->spec; }
  const ImportOptions& options() const { return opt_; }
  const AuthFiles& auth() const { return auth_; }
  const std::string& confDir() const { return confDir_; }

  // Node index (position in spec.nodes) of a host name or address; -1 when none.
  int NodeOfHost(const std::string& host) const;
  bool watchdogOn() const { return watchdogOn_; }

 private:
  void ClusteringMode();
  void Backends();
  void HealthChecks();  // pgpool_import_failover.cc
  void Failover();      // pgpool_import_failover.cc
  void LoadBalancing();
  void Ports();
  void PortClashes();
  void Watchdog();   // pgpool_import_watchdog.cc
  void Vip();        // pgpool_import_watchdog.cc
  void Users();      // pgpool_import_auth.cc
  void Auth();       // pgpool_import_auth.cc
  void Logging();    // pgpool_import_auth.cc
  void Leftovers();  // pgpool_keys.cc

  const PgpoolConf& conf_;
  AuthFiles auth_;
  const ImportOptions& opt_;
  ImportResult* out_;
  std::string confDir_;
  std::map<std::string, const Setting*> effective_;
  std::set<std::string> used_;
  std::vector<int> backendIndex_;  // spec.nodes[i] came from backend_*N with N = backendIndex_[i]
  bool watchdogOn_ = false;
};

}  // namespace pgvigil::pgpool::internal
