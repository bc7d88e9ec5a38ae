// Roles and their passwords, client authentication (pool_hba.conf, pool_passwd,
// TLS) and logging.
#include <sstream>

#include "controller/vigilctl/pgpool/pgpool_importer.h"
#include "sidecar/proxy/hba.h"
#include "sidecar/proxy/pool_passwd.h"

namespace pgvigil::pgpool {

AuthFiles AuthPaths(const PgpoolConf& conf, const std::string& conf_path,
                    const ImportOptions& opt) {
  auto eff = conf.Effective();
  auto value = [&](const char* key, const std::string& fallback) {
    auto it = eff.find(key);
    return it == eff.end() ? fallback : it->second->value;
  };
  std::string dir = DirName(conf_path);
  AuthFiles f;
  bool hba_on = ParseBool(value("enable_pool_hba", "off")).value_or(false);
  if (!opt.hbaFile.empty())
    f.hbaPath = opt.hbaFile;
  else if (hba_on)
    f.hbaPath = ResolvePath(dir, "pool_hba.conf");
  std::string passwd = value("pool_passwd", "pool_passwd");
  if (!opt.passwordFile.empty())
    f.passwordPath = opt.passwordFile;
  else if (!passwd.empty() && (hba_on || eff.count("pool_passwd")))
    f.passwordPath = ResolvePath(dir, passwd);
  f.keyPath = opt.keyFile;
  return f;
}

namespace internal {

namespace {

// How a password in pgpool.conf is stored, for the user's instructions.
std::string PasswordSource(const Setting* s) {
  std::string where = s ? s->key + " (" + s->file + ":" + std::to_string(s->line) + ")" : "";
  if (!s || s->value.empty())
    return "Pgpool-II looked it up in pool_passwd: write the password in plain text";
  if (s->value.rfind("AES", 0) == 0)
    return where + " holds it AES-encrypted with the pool key: write the password in plain text";
  if (s->value.rfind("md5", 0) == 0)
    return where + " holds only an md5 hash: write the password in plain text";
  return where + " holds it in plain text: move it to this file and remove it from pgpool.conf";
}

}  // namespace

void Importer::Users() {
  auto& pg = spec().postgres;
  const Setting* ru = Take("recovery_user");
  if (ru && !ru->value.empty()) {
    pg.superuser.name = ru->value;
    Mapped(ru, "spec.postgres.superuser.name: " + ru->value +
                   " (pgvigil checks, promotes and rebuilds as it)");
  }
  const Setting* rp = Take("recovery_password");
  pg.superuser.passwordFile = ResolvePath(opt_.secretsDir, pg.superuser.name + ".password");
  const Setting* source = rp;
  // The checks' users: pgvigil checks as the superuser.
  for (const auto& [user, pass] :
       {std::pair<const char*, const char*>{"health_check_user", "health_check_password"},
        {"sr_check_user", "sr_check_password"},
        {"wd_lifecheck_user", "wd_lifecheck_password"}}) {
    const Setting* u = Take(user);
    const Setting* p = Take(pass);
    if (!u) {
      if (p && !p->value.empty()) Unnecessary(p, "pgvigil runs its checks as " + pg.superuser.name);
      continue;
    }
    if (u->value == pg.superuser.name || u->value.empty()) {
      Mapped(u, "pgvigil runs these checks as the superuser " + pg.superuser.name);
      if (p) Mapped(p, "the superuser's password");
      if (!source || source->value.empty()) source = p;
    } else {
      Unnecessary(u, "pgvigil runs its health and lag checks as the superuser " +
                         pg.superuser.name + " (spec.postgres.superuser); the role '" + u->value +
                         "' is not needed for them");
      if (p && !p->value.empty()) Unnecessary(p, "the password of a role pgvigil does not use");
    }
  }
  Secret(pg.superuser.passwordFile, "the password of the PostgreSQL superuser " + pg.superuser.name,
         PasswordSource(source));
  pg.replicationUser.name = opt_.replicationUser;
  pg.replicationUser.passwordFile =
      ResolvePath(opt_.secretsDir, opt_.replicationUser + ".password");
  Add(FindingKind::kNote, nullptr,
      "pgpool.conf names no replication role (the manual's scripts use REPL_USER=repl): "
      "spec.postgres.replicationUser: " +
          opt_.replicationUser + " (--replication-user)");
  Secret(pg.replicationUser.passwordFile,
         "the password of the replication role " + opt_.replicationUser,
         "Pgpool-II's scripts read it from ~postgres/.pgpass: write it in plain text");
  spec().api.tokenFile = ResolvePath(opt_.secretsDir, "api.token");
  Secret(spec().api.tokenFile,
         "the bearer token vigilctl needs for changes (pcp.conf's counterpart), the "
         "same on every host",
         "make a random one: openssl rand -hex 32");
}

void Importer::Auth() {
  auto& a = spec().proxy.auth;
  auto hba_on = Bool("enable_pool_hba");
  if (!auth_.hbaPath.empty()) {
    a.hbaFile = auth_.hbaPath;
    if (hba_on && *hba_on)
      Mapped(Peek("enable_pool_hba"), "spec.proxy.auth.hbaFile: " + a.hbaFile);
    else if (!opt_.hbaFile.empty())
      Add(FindingKind::kNote, Peek("enable_pool_hba"),
          "--hba given: spec.proxy.auth.hbaFile: " + a.hbaFile);
  } else {
    Unsupported(
        Peek("enable_pool_hba"),
        "without pool_hba Pgpool-II let PostgreSQL authenticate its clients; pgvigil's proxy "
        "without an hba file asks every client for scram-sha-256 against pool_passwd: give "
        "--hba FILE");
  }
  if (auto t = Int("authentication_timeout", Unit::kSeconds, 0, 600)) {
    if (*t == 0)
      Unsupported(Peek("authentication_timeout"),
                  "0 (no timeout) cannot be honoured: pgvigil's proxy always closes connections that "
                  "do not authenticate in time; spec keeps proxy.authenticationTimeout " +
                      std::to_string(spec().proxy.authenticationTimeout.count()) + "ms");
    else
      spec().proxy.authenticationTimeout = std::chrono::seconds(*t),
      Mapped(Peek("authentication_timeout"),
             "spec.proxy.authenticationTimeout: " + std::to_string(*t) + "s");
  }
  if (!a.hbaFile.empty()) {
    if (!auth_.hbaText) {
      Add(FindingKind::kWarning, nullptr,
          "cannot read " + a.hbaFile + ": not checked (the spec references it)");
    } else {
      // Every line whose method pgvigil's proxy does not have, then the proxy's own verdict.
      std::istringstream in(*auth_.hbaText);
      int n = 0;
      bool bad_method = false;
      for (std::string line; std::getline(in, line);) {
        ++n;
        std::istringstream words(line.substr(0, line.find('#')));
        std::vector<std::string> w;
        for (std::string x; words >> x;) w.push_back(x);
        if (w.size() < 4) continue;
        // The method follows the address, or the address and its netmask ("10.0.0.0 255.0.0.0").
        bool netmask = w.size() > 5 && w[3].find('/') == std::string::npos &&
                       w[4].find_first_not_of("0123456789.") == std::string::npos;
        size_t m = w[0] == "local" ? 3 : (netmask ? 5 : 4);
        if (m >= w.size()) continue;
        const std::string& method = w[m];
        if (method != "trust" && method != "md5" && method != "scram-sha-256" &&
            method != "reject") {
          Finding f;
          f.kind = FindingKind::kError, f.file = a.hbaFile, f.line = n;
          f.text = "method '" + method +
                   "' is not supported by pgvigil's proxy (trust, md5, scram-sha-256, "
                   "reject): the sidecar would refuse this file";
          out_->findings.push_back(f);
          bad_method = true;
        }
      }
      auto rules = proxy::HbaRules::Parse(*auth_.hbaText);
      if (!rules.ok() && !bad_method) {
        Add(FindingKind::kError, nullptr, a.hbaFile + ": " + rules.error());
      }
    }
  }
  const Setting* pw = Take("pool_passwd");
  if (!auth_.passwordPath.empty()) {
    a.passwordFile = auth_.passwordPath;
    Mapped(pw, "spec.proxy.auth.passwordFile: " + a.passwordFile);
    if (!auth_.passwordText) {
      Add(FindingKind::kWarning, nullptr,
          "cannot read " + a.passwordFile + ": not checked (the spec references it)");
    } else {
      bool aes = auth_.passwordText->find(":AES") != std::string::npos;
      if (!auth_.keyPath.empty()) {
        a.keyFile = auth_.keyPath;
      } else if (aes) {
        a.keyFile = ResolvePath(opt_.secretsDir, "pgpoolkey");
        Secret(a.keyFile, "the AES key of pool_passwd's AES entries",
               "Pgpool-II's ~/.pgpoolkey (of the user that "
               "ran pgpool): copy it (or give --pool-key)");
      }
      // Without the key AES entries cannot be read here; the sidecar reads them with a.keyFile.
      if (!aes || auth_.keyText) {
        auto parsed = proxy::ParsePasswordFile(*auth_.passwordText, auth_.keyText.value_or(""));
        for (const auto& w : parsed.warnings)
          Add(FindingKind::kWarning, nullptr, a.passwordFile + ": " + w);
      }
    }
  } else if (pw && pw->value.empty()) {
    Mapped(pw, "no password file");
  }
  if (auto b = Bool("ssl"); b && *b) {
    std::string cert = String("ssl_cert"), key = String("ssl_key");
    if (cert.empty() || key.empty()) {
      Error(Peek("ssl"), "ssl = on needs ssl_cert and ssl_key");
    } else {
      spec().proxy.tls.certFile = ResolvePath(confDir_, cert);
      spec().proxy.tls.keyFile = ResolvePath(confDir_, key);
      Mapped(Peek("ssl"),
             "spec.proxy.tls: " + spec().proxy.tls.certFile + ", " + spec().proxy.tls.keyFile);
    }
  } else {
    Take("ssl_cert");
    Take("ssl_key");
  }
}

void Importer::Logging() {
  if (const Setting* d = Take("log_destination")) {
    if (Lower(d->value).find("syslog") != std::string::npos)
      Note(d,
           "pgvigil's units log to syslog by default (PGVIGIL_LOG_OPTIONS in "
           "/etc/pgvigil/pgvigil.env: "
           "--log-format syslog)");
    else
      Mapped(d, "pgvigil logs to stderr (the journal) by default");
  }
  if (const Setting* f = Take("syslog_facility"))
    Note(f,
         "pgvigil's units log with --syslog-facility LOCAL1 by default; another facility goes in "
         "PGVIGIL_LOG_OPTIONS (/etc/pgvigil/pgvigil.env): --syslog-facility " +
             f->value);
  if (const Setting* l = Take("log_min_messages"))
    Note(l, "pgvigil's level is --log-level (trace, debug, info, warn, error)");
}

}  // namespace internal
}  // namespace pgvigil::pgpool
