// See postgres_parameters.h.
#include "sidecar/agent/postgres_parameters.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/utc_time.h"
#include "sidecar/agent/standby_config.h"

namespace pgvigil {

namespace {

using web::json::value;

constexpr char kFileName[] = "pgvigil.conf";

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::string UtcNow() { return IsoTime(std::chrono::system_clock::now()); }

}  // namespace

std::string RenderPgvigilConf(const std::map<std::string, std::string>& params) {
  std::string out =
      "# Written by pgvigil-sidecar from the cluster spec's postgres.parameters; edits here are "
      "overwritten.\n";
  for (const auto& [name, v] : params) out += name + " = " + GucFileLiteral(v) + "\n";
  return out;
}

std::string IncludeLine(const std::string& /*data_dir*/) {
  // Relative to postgresql.conf's directory (the data directory): stays right in
  // a copy made by pg_basebackup or pg_rewind onto another path.
  return std::string("include_if_exists = '") + kFileName + "'";
}

void ParameterApplier::SetParameters(std::map<std::string, std::string> params) {
  std::lock_guard<std::mutex> l(mu_);
  node_.spec.postgres.parameters = std::move(params);
}

Status ParameterApplier::Apply(bool reload) {
  std::lock_guard<std::mutex> l(mu_);
  Status s = ApplyLocked(reload);
  lastError_ = s.ok() ? "" : s.message();
  if (s.ok()) lastApplied_ = UtcNow();
  else spdlog::warn("agent: postgres.parameters: {}", s.message());
  return s;
}

Status ParameterApplier::ApplyLocked(bool reload) {
  const std::string& dir = node_.dataDir;
  if (!IsDataDir(dir)) return Status::Ok();  // nothing to configure yet (init/rebuild writes it later)
  const std::string path = dir + "/" + kFileName;
  const std::string content = RenderPgvigilConf(node_.spec.postgres.parameters);
  auto old = ReadFile(path);
  // No settings and never any: leave the admin's postgresql.conf alone (VM mode as before).
  if (node_.spec.postgres.parameters.empty() && !old.ok()) {
    included_ = false;
    pendingRestart_.clear();
    errors_.clear();
    return Status::Ok();
  }
  const bool changed = !old.ok() || *old != content;
  if (changed) {
    if (Status s = WriteFileAtomic(path, content, 0600); !s.ok()) return s;
    if (geteuid() == 0) (void)ChownToUser(path, node_.osUser);
    spdlog::info("agent: wrote {} ({} settings)", path, node_.spec.postgres.parameters.size());
  }
  // The include, appended once to the data directory's postgresql.conf.
  const std::string conf = dir + "/postgresql.conf";
  auto text = ReadFile(conf);
  included_ = false;
  if (!text.ok()) {
    return Status::Error(conf + " does not exist (the server's postgresql.conf lives elsewhere): add \"" +
                         IncludeLine(dir) + "\" with the full path of " + path + " to it");
  }
  for (const std::string& line : Split(*text, '\n'))
    if (Trim(line) == IncludeLine(dir)) included_ = true;
  if (!included_) {
    std::string appended = *text;
    if (!appended.empty() && appended.back() != '\n') appended += "\n";
    appended += "# pgvigil-sidecar: the cluster spec's postgres.parameters (keep this line last)\n" +
                IncludeLine(dir) + "\n";
    if (Status s = WriteFileAtomic(conf, appended, 0600); !s.ok()) return s;
    if (geteuid() == 0) (void)ChownToUser(conf, node_.osUser);
    included_ = true;
    spdlog::info("agent: {} now includes {}", conf, kFileName);
    reload = true;
  }
  PgTools tools(node_, nullptr);
  auto state = tools.RunState();
  if (!state.ok() || *state != PgRunState::kRunning) {
    pendingRestart_.clear();
    errors_.clear();
    return Status::Ok();  // read at the next start
  }
  if (changed || reload) {
    auto conn = node_.SelfConn();
    if (!conn.ok()) return conn.status();
    auto before = QueryScalar(*conn, "SELECT pg_conf_load_time()::text");
    if (!before.ok()) return before.status().Context("reading pg_conf_load_time");
    if (Status s = ExecSql(*conn, "SELECT pg_reload_conf()"); !s.ok()) return s.Context("reload");
    // The postmaster reloads asynchronously; new backends start from its state.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto now_loaded = QueryScalar(*conn, "SELECT pg_conf_load_time()::text");
      if (now_loaded.ok() && *now_loaded != *before) break;
      if (std::chrono::steady_clock::now() > end)
        return Status::Error("the server did not reload its configuration within 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    spdlog::info("agent: PostgreSQL reloaded for postgres.parameters");
  }
  return LookAtServer();
}

Result<SettingTable> ParameterApplier::ReadSettings() const {
  LocalNode node;
  {
    std::lock_guard<std::mutex> l(mu_);
    node = node_;
  }
  PgTools tools(node, nullptr);
  auto state = tools.RunState();
  if (!state.ok() || *state != PgRunState::kRunning) return Status::Error("PostgreSQL is not running");
  auto conn = node.SelfConn();
  if (!conn.ok()) return conn.status();
  auto rows = QueryScalar(*conn, kSettingRowsQuery);
  if (!rows.ok()) return rows.status().Context("reading pg_settings");
  return ParseSettingRows(*rows);
}

Result<std::vector<ParameterProblem>> ParameterApplier::TryInSession(
    const std::map<std::string, std::string>& trials) const {
  std::vector<ParameterProblem> out;
  if (trials.empty()) return out;
  LocalNode node;
  {
    std::lock_guard<std::mutex> l(mu_);
    node = node_;
  }
  auto conn = node.SelfConn();
  if (!conn.ok()) return conn.status();
  for (const auto& [name, value] : trials) {
    // Local to the statement's own transaction: nothing stays set.
    auto r = QueryScalar(*conn, "SELECT set_config(" + SqlLiteral(name) + ", " + SqlLiteral(value) + ", true)");
    if (r.ok()) continue;
    std::string why = r.error();
    if (size_t at = why.find("ERROR:"); at != std::string::npos) why = Trim(why.substr(at + 6));
    out.push_back({name, value, why});
  }
  return out;
}

Status ParameterApplier::LookAtServer() {
  auto conn = node_.SelfConn();
  if (!conn.ok()) return conn.status();
  auto pending = QueryScalar(
      *conn, "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM pg_settings WHERE pending_restart");
  if (!pending.ok()) return pending.status().Context("reading pg_settings.pending_restart");
  pendingRestart_ = Split(*pending, ',');
  auto errors = QueryScalar(*conn,
                            "SELECT coalesce(string_agg(coalesce(name, '') || '=' || error, E'\\n' "
                            "ORDER BY seqno), '') FROM pg_file_settings WHERE error IS NOT NULL AND "
                            "sourcefile LIKE '%/pgvigil.conf'");
  if (!errors.ok()) return errors.status().Context("reading pg_file_settings");
  errors_.clear();
  for (const std::string& line : Split(*errors, '\n')) {
    const size_t eq = line.find('=');
    const std::string name = line.substr(0, eq);
    // A restart-only setting is listed as "could not be applied" until the restart.
    if (std::find(pendingRestart_.begin(), pendingRestart_.end(), name) != pendingRestart_.end())
      continue;
    errors_.emplace_back(name, eq == std::string::npos ? "" : line.substr(eq + 1));
  }
  if (!pendingRestart_.empty())
    spdlog::info("agent: settings waiting for a restart: {}", *pending);
  for (const auto& [name, error] : errors_)
    spdlog::warn("agent: PostgreSQL refused {} from pgvigil.conf: {}", name, error);
  return Status::Ok();
}

SidecarParameters ParameterApplier::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  SidecarParameters p;
  p.file = node_.dataDir + "/" + kFileName;
  p.count = static_cast<int64_t>(node_.spec.postgres.parameters.size());
  p.included = included_;
  p.pendingRestart = pendingRestart_;
  for (const auto& [name, error] : errors_) p.errors.push_back({name, error});
  for (const auto& a : setAside_) p.setAside.push_back({a.name, a.value, a.reason});
  p.lastApplied = lastApplied_;
  p.lastError = lastError_;
  return p;
}

value ParameterApplier::Json() const { return ToJson(Snapshot()); }

}  // namespace pgvigil
