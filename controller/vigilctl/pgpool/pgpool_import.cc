// The import's frame (settings, findings) and the backend, load-balancing and port
// sections (health checks and failover: pgpool_import_failover.cc).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/strings.h"
#include "controller/vigilctl/pgpool/pgpool_importer.h"

namespace pgvigil::pgpool {

const char* ToString(FindingKind k) {
  switch (k) {
    case FindingKind::kMapped:
      return "mapped";
    case FindingKind::kUnnecessary:
      return "unnecessary";
    case FindingKind::kUnsupported:
      return "cannot honour";
    case FindingKind::kNote:
      return "note";
    case FindingKind::kWarning:
      return "warning";
    default:
      return "error";
  }
}

bool ImportResult::ok() const { return Count(FindingKind::kError) == 0; }

size_t ImportResult::Count(FindingKind k) const {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(),
                                           [k](const Finding& f) { return f.kind == k; }));
}

ImportResult ImportPgpool(const PgpoolConf& conf, const std::string& conf_path,
                          const AuthFiles& auth, const ImportOptions& opt) {
  ImportResult out;
  internal::Importer(conf, conf_path, auth, opt, &out).Run();
  return out;
}

namespace internal {

namespace {

bool IsIpv4(const std::string& s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t dot = s.find('.', i);
    std::string p = s.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos)
      return false;
    ++parts;
    if (dot == std::string::npos) break;
    i = dot + 1;
  }
  return parts == 4;
}

// A DNS label made from text: lower case, '_' and '.' become '-', other characters dropped.
std::string Label(const std::string& text) {
  std::string out;
  for (char c : Lower(text)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
      out += c;
    else if (c == '_')
      out += '-';
  }
  while (!out.empty() && out.front() == '-') out.erase(0, 1);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.substr(0, 63);
}

}  // namespace

Importer::Importer(const PgpoolConf& conf, const std::string& conf_path, const AuthFiles& auth,
                   const ImportOptions& opt, ImportResult* out)
    : conf_(conf),
      auth_(auth),
      opt_(opt),
      out_(out),
      confDir_(DirName(conf_path)),
      effective_(conf.Effective()) {}

void Importer::Run() {
  for (const auto& m : conf_.messages) {
    Finding f;
    f.kind = m.error ? FindingKind::kError : FindingKind::kWarning;
    f.file = m.file, f.line = m.line, f.text = m.text;
    out_->findings.push_back(f);
  }
  ClusteringMode();
  Backends();
  HealthChecks();
  Failover();
  LoadBalancing();
  Ports();
  Watchdog();
  PortClashes();
  Vip();
  Users();
  Auth();
  Logging();
  Leftovers();
  spec().name = opt_.name;
  // File order first (findings about the whole file, line 0, at the end).
  std::stable_sort(out_->findings.begin(), out_->findings.end(),
                   [](const Finding& a, const Finding& b) {
                     if (a.file.empty() != b.file.empty()) return b.file.empty();
                     if (a.file != b.file) return false;
                     return a.line < b.line;
                   });
}

const Setting* Importer::Peek(const std::string& key) const {
  auto it = effective_.find(key);
  return it == effective_.end() ? nullptr : it->second;
}

const Setting* Importer::Take(const std::string& key) {
  const Setting* s = Peek(key);
  if (s) used_.insert(key);
  return s;
}

std::vector<int> Importer::Indexes(const std::string& stem) const {
  std::vector<int> out;
  for (const auto& [key, s] : effective_) {
    if (key.size() <= stem.size() || key.compare(0, stem.size(), stem) != 0) continue;
    std::string rest = key.substr(stem.size());
    // Digits only, no leading zero ("backend_hostname01" is left to the unknown-key report).
    if (rest.size() > 3 || rest.find_first_not_of("0123456789") != std::string::npos ||
        (rest.size() > 1 && rest[0] == '0'))
      continue;
    out.push_back(std::stoi(rest));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Importer::Add(FindingKind kind, const Setting* s, const std::string& text) {
  Finding f;
  f.kind = kind;
  f.text = text;
  if (s) {
    f.file = s->file;
    f.line = s->line;
    f.key = s->key;
    f.value = s->value;
    f.quoted = s->quoted;
  }
  out_->findings.push_back(std::move(f));
}

std::optional<bool> Importer::Bool(const std::string& key) {
  const Setting* s = Take(key);
  if (!s) return std::nullopt;
  auto b = ParseBool(s->value);
  if (!b) Error(s, "'" + s->value + "' is not a boolean (on/off, true/false, yes/no, 1/0)");
  return b;
}

std::optional<int64_t> Importer::Int(const std::string& key, Unit unit, int64_t min, int64_t max) {
  const Setting* s = Take(key);
  if (!s) return std::nullopt;
  auto v = ParseInt(s->value, unit);
  if (!v) {
    Error(s, "'" + s->value + "' is not a number" +
                 (unit == Unit::kNone ? std::string()
                                      : std::string(" with a unit Pgpool-II accepts here")));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    Error(s, "'" + s->value + "' is out of range (" + std::to_string(min) + ".." +
                 std::to_string(max) + ")");
    return std::nullopt;
  }
  return v;
}

std::string Importer::String(const std::string& key, const std::string& fallback) {
  const Setting* s = Take(key);
  return s ? s->value : fallback;
}

int Importer::NodeOfHost(const std::string& host) const {
  const auto& nodes = out_->spec.nodes;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (Lower(nodes[i].host) == Lower(host)) return static_cast<int>(i);
  return -1;
}

void Importer::ClusteringMode() {
  if (const Setting* s = Take("backend_clustering_mode")) {
    std::string m = Lower(s->value);
    if (m == "streaming_replication")
      Mapped(s, "streaming replication (what pgvigil manages)");
    else
      Error(s, "pgvigil manages streaming replication only; '" + s->value +
                   "' clusters cannot be imported");
  }
  // Before 4.2: master_slave_mode + master_slave_sub_mode, or replication_mode.
  auto ms = Bool("master_slave_mode");
  const Setting* sub = Take("master_slave_sub_mode");
  if (ms && *ms) {
    if (!sub || Lower(sub->value) == "stream")
      Mapped(Peek("master_slave_mode"), "streaming replication (what pgvigil manages)");
    else
      Error(sub,
            "pgvigil manages streaming replication only; '" + sub->value + "' cannot be imported");
  }
  if (auto rm = Bool("replication_mode"); rm && *rm)
    Error(Peek("replication_mode"),
          "Pgpool-II's native replication mode cannot be imported: pgvigil manages "
          "PostgreSQL streaming replication");
}

void Importer::Backends() {
  auto& sp = spec();
  std::vector<int> indexes = Indexes("backend_hostname");
  std::set<std::string> names;
  std::vector<double> weights;
  std::vector<std::string> dirs;
  std::vector<int> ports;
  for (int n : indexes) {
    const Setting* hs = Take(Key("backend_hostname", n));
    std::string host = hs->value;
    if (host.empty()) continue;  // the 4.3 sample's backend_hostname0 = '' and the like
    if (host[0] == '/') {
      Error(hs,
            "a Unix socket directory: pgvigil reaches each server over TCP (and runs a sidecar "
            "beside it); give the server's address");
      continue;
    }
    NodeSpec node;
    node.host = host;
    size_t i = sp.nodes.size();
    const Setting* app = Take(Key("backend_application_name", n));
    std::string name;
    if (i < opt_.nodeNames.size())
      name = opt_.nodeNames[i];
    else if (!IsIpv4(host) && host.find(':') == std::string::npos)
      name = Label(host.substr(0, host.find('.')));
    if (name.empty() && app) name = Label(app->value);
    if (name.empty()) name = "node" + std::to_string(n);
    if (names.count(name)) name += "-" + std::to_string(n);
    names.insert(name);
    node.name = name;
    Mapped(hs, "spec.nodes[" + std::to_string(i) + "]: name " + name + ", host " + host);
    if (app)
      Mapped(app, app->value == name ? "the node's name" : "not needed: the node is named " + name);
    auto port = Int(Key("backend_port", n), Unit::kNone, 1, 65535);
    ports.push_back(port ? static_cast<int>(*port) : 5432);
    if (port) Mapped(Peek(Key("backend_port", n)), "PostgreSQL port of " + name);
    double w = 1.0;
    if (const Setting* ws = Take(Key("backend_weight", n))) {
      auto v = ParseReal(ws->value);
      if (!v || *v < 0)
        Error(ws, "'" + ws->value + "' is not a weight (a number, 0 or more)");
      else
        w = *v;
    }
    weights.push_back(w);
    const Setting* ds = Take(Key("backend_data_directory", n));
    dirs.push_back(ds ? ds->value : "");
    if (ds && !ds->value.empty()) Mapped(ds, "data directory of " + name);
    if (const Setting* fs = Take(Key("backend_flag", n))) {
      for (const std::string& f : SplitList(fs->value, '|')) {
        std::string flag = f;
        std::transform(flag.begin(), flag.end(), flag.begin(), ::toupper);
        if (flag == "ALLOW_TO_FAILOVER") {
          Mapped(fs, name + " may be promoted");
        } else if (flag == "DISALLOW_TO_FAILOVER") {
          node.noFailover = true;
          Mapped(fs, name + ": tags [noFailover]");
        } else if (flag == "ALWAYS_PRIMARY") {
          Unsupported(fs,
                      "ALWAYS_PRIMARY (a primary kept by something else, such as a cloud service) "
                      "cannot be honoured: pgvigil manages which node is primary itself");
        } else {
          Error(fs, "unknown backend flag '" + f +
                        "' (ALLOW_TO_FAILOVER, DISALLOW_TO_FAILOVER, ALWAYS_PRIMARY)");
        }
      }
    }
    backendIndex_.push_back(n);
    sp.nodes.push_back(node);
  }
  // The other backend_*N of a backend whose host is empty (a sample's placeholder: no
  // remark) or not set at all (a mistake: warned).
  for (const char* stem : {"backend_port", "backend_weight", "backend_data_directory",
                           "backend_flag", "backend_application_name"})
    for (int n : Indexes(stem))
      if (!Used(Key(stem, n))) {
        const Setting* s = Take(Key(stem, n));
        if (!Peek(Key("backend_hostname", n)))
          Warning(s, "no backend_hostname" + std::to_string(n) + ": ignored");
      }
  if (sp.nodes.empty()) {
    Add(FindingKind::kError, nullptr,
        "no backend: set backend_hostname0, backend_hostname1, ... (pgvigil "
        "needs the PostgreSQL servers to manage)");
    return;
  }
  // Weights: integers as they are; fractions scaled keeping their ratios.
  bool integral = std::all_of(weights.begin(), weights.end(),
                              [](double w) { return w == std::floor(w) && w <= 10000; });
  double top = *std::max_element(weights.begin(), weights.end());
  for (size_t i = 0; i < sp.nodes.size(); ++i) {
    int w = integral ? static_cast<int>(weights[i])
                     : static_cast<int>(std::lround(weights[i] / (top > 0 ? top : 1) * 1000));
    if (weights[i] > 0 && w == 0) w = 1;
    sp.nodes[i].weight = w;
    if (const Setting* ws = Peek(Key("backend_weight", backendIndex_[i])); ws && Used(ws->key))
      Mapped(ws, "spec.nodes[" + std::to_string(i) + "].weight: " + std::to_string(w) +
                     (integral ? "" : " (weights scaled to integers, same ratios)"));
  }
  // Ports and data directories: common values go to spec.postgres, others to the node.
  sp.postgres.port = ports[0];
  for (size_t i = 0; i < sp.nodes.size(); ++i)
    if (ports[i] != sp.postgres.port) sp.nodes[i].port = ports[i];
  bool same_dir =
      std::all_of(dirs.begin(), dirs.end(), [&](const std::string& d) { return d == dirs[0]; });
  if (same_dir && !dirs[0].empty()) {
    sp.postgres.dataDirectory = dirs[0];
  } else {
    for (size_t i = 0; i < sp.nodes.size(); ++i) {
      sp.nodes[i].dataDirectory = dirs[i];
      if (dirs[i].empty())
        Add(FindingKind::kNote, nullptr,
            "backend_data_directory" + std::to_string(backendIndex_[i]) +
                " is not set: " + sp.nodes[i].name + " uses " + sp.postgres.dataDirectory +
                " (pgvigil needs it to rebuild)");
    }
  }
  sp.postgres.version = opt_.postgresVersion;
  std::string any_dir = dirs[0].empty() ? sp.postgres.dataDirectory : dirs[0];
  std::string ver = "/" + std::to_string(opt_.postgresVersion) + "/";
  if (!opt_.binDirectory.empty()) {
    sp.postgres.binDirectory = opt_.binDirectory;
  } else if (any_dir.rfind("/var/lib/pgsql/", 0) == 0) {
    sp.postgres.binDirectory = "/usr/pgsql-" + std::to_string(opt_.postgresVersion) + "/bin";
  } else {
    sp.postgres.binDirectory =
        "/usr/lib/postgresql/" + std::to_string(opt_.postgresVersion) + "/bin";
  }
  Add(FindingKind::kNote, nullptr,
      "PostgreSQL " + std::to_string(opt_.postgresVersion) + " binaries in " +
          sp.postgres.binDirectory + " (--pg-version, --pg-bin)");
  for (const auto& d : dirs) {
    size_t a = d.find_first_of("0123456789");
    if (a == std::string::npos || a == 0 || d[a - 1] != '/') continue;
    size_t b = d.find('/', a);
    if (b != std::string::npos && d.substr(a - 1, b - a + 2) != ver) {
      Add(FindingKind::kNote, nullptr,
          "the data directory " + d + " names another PostgreSQL version than " +
              std::to_string(opt_.postgresVersion) +
              " (pgvigil manages PostgreSQL 13 to 17; see --pg-version)");
      break;
    }
  }
}

void Importer::LoadBalancing() {
  auto& lb = spec().proxy.loadBalancing;
  if (auto b = Bool("load_balance_mode")) {
    lb.enabled = *b;
    Mapped(Peek("load_balance_mode"),
           std::string("spec.proxy.loadBalancing.enabled: ") + (*b ? "true" : "false"));
  }
  if (const Setting* s = Take("disable_load_balance_on_write")) {
    std::string v = Lower(s->value);
    if (v == "transaction")
      lb.disableOnWrite = DisableOnWrite::kTransaction;
    else if (v == "always")
      lb.disableOnWrite = DisableOnWrite::kAlways;
    else if (v == "off")
      lb.disableOnWrite = DisableOnWrite::kOff;
    else if (v == "trans_transaction")
      lb.disableOnWrite = DisableOnWrite::kAlways;
    else if (v == "dml_adaptive")
      lb.disableOnWrite = DisableOnWrite::kTransaction;
    else
      Error(s, "unknown value (transaction, trans_transaction, dml_adaptive, always, off)");
    if (v == "trans_transaction" || v == "dml_adaptive")
      Unsupported(s, "pgvigil has no '" + v + "': spec.proxy.loadBalancing.disableOnWrite: " +
                         ToString(lb.disableOnWrite) +
                         " (no read that could see stale data is balanced)");
    else if (v == "transaction" || v == "always" || v == "off")
      Mapped(s, "spec.proxy.loadBalancing.disableOnWrite: " + v);
  }
  auto functions = [&](const char* now, const char* before, std::vector<std::string>* out,
                       const char* field) {
    for (const char* key : {before, now}) {  // the newer name wins when both are set
      const Setting* s = Take(key);
      if (!s) continue;
      out->clear();
      std::vector<std::string> regexes;
      for (const std::string& f : SplitList(s->value)) {
        if (f.find_first_of("^$*+?[](){}|\\") != std::string::npos)
          regexes.push_back(f);
        else
          out->push_back(Lower(f));
      }
      if (!regexes.empty()) {
        const std::string list = Join(regexes);
        Unsupported(
            s, "pgvigil matches function names exactly, not regular expressions: left out " + list);
      }
      Mapped(s, std::string("spec.proxy.loadBalancing.") + field + ": " +
                    std::to_string(out->size()) + " names");
    }
  };
  functions("read_only_function_list", "white_function_list", &lb.readOnlyFunctions,
            "readOnlyFunctions");
  functions("write_function_list", "black_function_list", &lb.writeFunctions, "writeFunctions");
  if (auto d = Int("delay_threshold", Unit::kBytes, 0, int64_t(1) << 40)) {
    lb.delayThreshold = static_cast<uint64_t>(*d);
    Mapped(Peek("delay_threshold"),
           "spec.proxy.loadBalancing.delayThreshold: " + std::to_string(*d) + " bytes" +
               (*d == 0 ? " (0: lag never excludes a standby)" : ""));
    auto period =
        ParseInt(Peek("sr_check_period") ? Peek("sr_check_period")->value : "10", Unit::kSeconds);
    if (*d > 0 && period && *period == 0)
      Add(FindingKind::kNote, Peek("sr_check_period"),
          "with sr_check_period = 0 Pgpool-II never measured the "
          "lag, so delay_threshold had no effect; pgvigil applies it");
  }
}

void Importer::Ports() {
  auto& sp = spec();
  if (auto p = Int("port", Unit::kNone, 1, 65535)) {
    sp.proxy.port = static_cast<int>(*p);
    Mapped(Peek("port"), "spec.proxy.port: " + std::to_string(*p));
  }
  if (auto p = Int("pcp_port", Unit::kNone, 1, 65535)) {
    sp.api.port = static_cast<int>(*p);
    Mapped(Peek("pcp_port"), "spec.api.port: " + std::to_string(*p) +
                                 " (the sidecar's REST API, where "
                                 "vigilctl and the controllers talk)");
  }
  if (const Setting* s = Take("listen_addresses")) {
    std::string v = Trim(s->value);
    if (v == "*" || v == "0.0.0.0") {
      Mapped(s, "spec.proxy.listen: 0.0.0.0");
    } else if (v == "localhost" || v == "127.0.0.1") {
      sp.proxy.listen = "127.0.0.1";
      Mapped(s, "spec.proxy.listen: 127.0.0.1 (only clients on the same host)");
    } else {
      Unsupported(
          s,
          "pgvigil has one listen address for the proxies of all nodes: spec.proxy.listen: 0.0.0.0 "
          "(limit clients with pool_hba.conf and the firewall)");
    }
  }
  if (const Setting* s = Take("pcp_listen_addresses")) {
    std::string v = Trim(s->value);
    if (v == "*" || v == "0.0.0.0")
      Mapped(s, "spec.api.listen: 0.0.0.0");
    else
      Unsupported(
          s,
          "the sidecars' REST API must be reachable from the other hosts (the controllers use it): "
          "spec.api.listen stays 0.0.0.0; changes need the token in spec.api.tokenFile");
  }
}

// With Pgpool-II the pool may run on other hosts than PostgreSQL; pgvigil's proxy,
// REST API and watchdog run beside each server, so their ports must differ from it.
void Importer::PortClashes() {
  const auto& sp = spec();
  for (size_t i = 0; i < sp.nodes.size(); ++i) {
    const NodeSpec& n = sp.nodes[i];
    std::string pg_key = Key("backend_port", backendIndex_[i]);
    std::vector<std::pair<int, std::string>> ours = {
        {sp.ProxyPort(n), "port (the proxy's)"},
        {sp.ApiPort(n), "pcp_port (the REST API's)"},
        {sp.api.controllerPort, "the controller's port"}};
    if (sp.watchdog.enabled) ours.emplace_back(sp.WatchdogPort(n), "wd_port (the watchdog's)");
    for (const auto& [port, what] : ours) {
      if (port != sp.PgPort(n)) continue;
      const Setting* s = Peek(what.substr(0, what.find(' ')));
      Error(s ? s : Peek(pg_key),
            "pgvigil runs its proxy, REST API and watchdog beside each PostgreSQL server: " + what +
                " " + std::to_string(port) + " is PostgreSQL's port on " + n.host + " (" + pg_key +
                "); give one of them another port");
    }
  }
}

}  // namespace internal
}  // namespace pgvigil::pgpool
