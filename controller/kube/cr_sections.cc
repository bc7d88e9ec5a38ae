// The PostgresCluster sections that the VM spec has too. Fields fixed by the
// image and ...File paths are refused; Secret references become mounted files.
#include <cctype>
#include <set>

#include "controller/kube/cr_sections.h"
#include "controller/kube/quantity.h"
#include "common/spec_sections.h"
#include "common/units.h"

namespace pgvigil::kube::cr_internal {

namespace {

const char kFixed[] = "fixed by the pgvigil image on Kubernetes; remove it";
const char kListen[] = "pods listen on :: (all addresses, dual stack); remove it";

bool IsSecretKey(const std::string& s) {
  if (s.empty() || s.size() > 253 || s == "." || s == "..") return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::string MountPath(const std::string& volume, const std::string& key) {
  return std::string(kSecretsDir) + "/" + volume + "/" + key;
}

// {name, key} at parent.key; on success adds the mount and returns its file path.
std::string SecretKeyRef(MapReader& parent, const std::string& key, const std::string& volume,
                         ClusterResource* res, ErrorSink* sink) {
  MapReader r(sink, parent.Take(key), parent.Child(key));
  if (!r.present()) return "";
  std::string name, item;
  r.String("name", &name, true);
  r.String("key", &item, true);
  bool ok = !name.empty() && !item.empty();
  if (!name.empty() && !IsDnsSubdomain(name)) {
    sink->AtPath(r.Child("name"), "'" + name + "' is not a valid Secret name");
    ok = false;
  }
  if (!item.empty() && !IsSecretKey(item)) {
    sink->AtPath(r.Child("key"), "'" + item + "' is not a valid Secret key (letters, digits, '-', '_', '.')");
    ok = false;
  }
  if (!ok) return "";
  res->secrets.push_back(SecretMount{volume, name, {item}});
  return MountPath(volume, item);
}

// {name} of a Secret whose keys are fixed (`keys`); returns whether it was given.
bool SecretRef(MapReader& parent, const std::string& volume, const std::vector<std::string>& keys,
               ClusterResource* res, ErrorSink* sink) {
  MapReader r(sink, parent.Take("secret"), parent.Child("secret"));
  if (!r.present()) return false;
  std::string name;
  r.String("name", &name, true);
  if (name.empty()) return false;
  if (!IsDnsSubdomain(name)) {
    sink->AtPath(r.Child("name"), "'" + name + "' is not a valid Secret name");
    return false;
  }
  res->secrets.push_back(SecretMount{volume, name, keys});
  return true;
}

void User(MapReader& parent, const std::string& key, const std::string& volume, UserRef* user,
          ClusterResource* res, ErrorSink* sink) {
  MapReader r(sink, parent.Take(key), parent.Child(key));
  r.String("name", &user->name);
  user->passwordFile = SecretKeyRef(r, "passwordSecret", volume, res, sink);
  Refuse(r, "passwordFile", "a Secret holds the password on Kubernetes: use passwordSecret {name, key}",
         sink);
}

void Tls(MapReader& parent, const std::string& volume, TlsSpec* tls, ClusterResource* res,
         ErrorSink* sink) {
  MapReader r(sink, parent.Take("tls"), parent.Child("tls"));
  if (SecretRef(r, volume, {"tls.crt", "tls.key"}, res, sink)) {
    tls->certFile = MountPath(volume, "tls.crt");
    tls->keyFile = MountPath(volume, "tls.key");
  }
  const std::string use = "a kubernetes.io/tls Secret holds it on Kubernetes: use secret {name}";
  Refuse(r, "certFile", use, sink);
  Refuse(r, "keyFile", use, sink);
}

void Postgres(MapReader& spec, ClusterResource* res, ErrorSink* sink) {
  PostgresSpec& p = res->spec.postgres;
  MapReader r(sink, spec.Take("postgres"), spec.Child("postgres"));
  r.Int("version", &p.version, 15, 15);  // the image's
  // Judged with the rest of the spec by the shared validator (common/spec_validate.cc).
  r.StringMap("parameters", &p.parameters);
  User(r, "superuser", "superuser", &p.superuser, res, sink);
  User(r, "replicationUser", "replication-user", &p.replicationUser, res, sink);
  for (const char* key : {"port", "dataDirectory", "binDirectory", "osUser"}) Refuse(r, key, kFixed, sink);
}

void Proxy(MapReader& spec, ClusterResource* res, ErrorSink* sink) {
  ProxySpec& p = res->spec.proxy;
  MapReader r(sink, spec.Take("proxy"), spec.Child("proxy"));
  r.Bool("enabled", &p.enabled);
  r.Port("port", &p.port);
  r.Int("threads", &p.threads, 0, 256);
  r.Int("maxClientConnections", &p.maxClientConnections, 1, 1000000);
  r.Int("maxUnauthenticatedConnections", &p.maxUnauthenticatedConnections, 1, 1000000);
  r.Duration("authenticationTimeout", &p.authenticationTimeout, Millis(100), std::chrono::minutes(10));
  r.Duration("pauseLimit", &p.pauseLimit, Millis(0), std::chrono::minutes(10));
  {
    auto& lb = p.loadBalancing;
    MapReader b(sink, r.Take("loadBalancing"), r.Child("loadBalancing"));
    b.Bool("enabled", &lb.enabled);
    ByteSize(b, "delayThreshold", &lb.delayThreshold, 0, 1ull << 40, sink);
    int w = b.Choice("disableOnWrite", {"transaction", "always", "off"});
    if (w >= 0) lb.disableOnWrite = static_cast<DisableOnWrite>(w);
    b.StringList("readOnlyFunctions", &lb.readOnlyFunctions);
    b.StringList("writeFunctions", &lb.writeFunctions);
    b.Bool("readYourWrites", &lb.readYourWrites);
  }
  spec_internal::ReadProxyPoolSection(r, &p.pool, sink);
  {
    MapReader b(sink, r.Take("backendAuth"), r.Child("backendAuth"));
    b.Bool("allowCleartext", &p.backendAuth.allowCleartext);
    b.Bool("allowMd5", &p.backendAuth.allowMd5);
  }
  {
    MapReader a(sink, r.Take("auth"), r.Child("auth"));
    if (SecretRef(a, "proxy-auth", {"pool_hba.conf", "pool_passwd", "pgpoolkey"}, res, sink)) {
      p.auth.hbaFile = MountPath("proxy-auth", "pool_hba.conf");
      p.auth.passwordFile = MountPath("proxy-auth", "pool_passwd");
      p.auth.keyFile = MountPath("proxy-auth", "pgpoolkey");
    }
    const std::string use =
        "a Secret holds it on Kubernetes: use secret {name} (keys pool_hba.conf, pool_passwd, pgpoolkey)";
    for (const char* key : {"hbaFile", "passwordFile", "keyFile"}) Refuse(a, key, use, sink);
  }
  Tls(r, "proxy-tls", &p.tls, res, sink);
  Refuse(r, "listen", kListen, sink);
  p.listen = kListenAll;
}

void Watchdog(MapReader& spec, ClusterResource* res, ErrorSink* sink) {
  WatchdogSpec& w = res->spec.watchdog;
  MapReader r(sink, spec.Take("watchdog"), spec.Child("watchdog"));
  if (r.Has("enabled")) {
    r.Bool("enabled", &w.enabled);
    if (!w.enabled) {
      sink->AtPath(r.Child("enabled"),
                   "must stay true on Kubernetes: the primary's write lease comes from the watchdog");
      w.enabled = true;
    }
  } else {
    r.Take("enabled");
  }
  r.Port("port", &w.port);
  r.Port("heartbeatPort", &w.heartbeatPort);
  r.Duration("heartbeatInterval", &w.heartbeatInterval, Millis(50), std::chrono::seconds(10));
  r.Duration("deadTime", &w.deadTime, Millis(100), std::chrono::minutes(5));
  w.authKeyFile = SecretKeyRef(r, "authKeySecret", "watchdog-auth-key", res, sink);
  Refuse(r, "authKeyFile", "a Secret holds the key on Kubernetes: use authKeySecret {name, key}", sink);
}

void Api(MapReader& spec, ClusterResource* res, ErrorSink* sink) {
  ApiSpec& a = res->spec.api;
  MapReader r(sink, spec.Take("api"), spec.Child("api"));
  r.Port("port", &a.port);
  r.Port("controllerPort", &a.controllerPort);
  a.tokenFile = SecretKeyRef(r, "tokenSecret", "api-token", res, sink);
  Tls(r, "api-tls", &a.tls, res, sink);
  r.Duration("headerTimeout", &a.headerTimeout, Millis(100), std::chrono::minutes(5));
  r.Duration("requestTimeout", &a.requestTimeout, Millis(100), std::chrono::minutes(30));
  r.Duration("idleTimeout", &a.idleTimeout, Millis(100), std::chrono::hours(1));
  r.Int("maxConnections", &a.maxConnections, 1, 100000);
  Refuse(r, "tokenFile", "a Secret holds the token on Kubernetes: use tokenSecret {name, key}", sink);
  Refuse(r, "listen", kListen, sink);
  a.listen = kListenAll;
}

}  // namespace

bool IsDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  return std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::isalnum(static_cast<unsigned char>(s.back()));
}

void Refuse(MapReader& r, const std::string& key, const std::string& reason, ErrorSink* sink) {
  YAML::Node n = r.Take(key);
  if (n.IsDefined() && !n.IsNull()) sink->At(n.Mark(), r.Child(key), reason);
}

void ByteSize(MapReader& r, const std::string& key, uint64_t* out, uint64_t min, uint64_t max,
              ErrorSink* sink) {
  YAML::Node n = r.Take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  auto v = n.IsScalar() ? ParseByteSize(n.Scalar()) : std::nullopt;
  if (!v) {
    sink->At(n.Mark(), r.Child(key), "expected a size such as 16MB, 16Mi or a number of bytes" +
                                         (n.IsScalar() ? ", got '" + n.Scalar() + "'" : std::string()));
    return;
  }
  if (*v < min || *v > max) {
    sink->At(n.Mark(), r.Child(key), "out of range: " + n.Scalar() + " (allowed " + FormatSize(min) +
                                         ".." + FormatSize(max) + ")");
    return;
  }
  *out = *v;
}

void ReadSharedSections(MapReader& spec, ClusterResource* res, ErrorSink* sink) {
  ClusterSpec& s = res->spec;
  Postgres(spec, res, sink);
  ReadHealthCheckSection(spec, &s.healthCheck, sink);
  {
    MapReader r(sink, spec.Take("failover"), spec.Child("failover"));
    r.Bool("automatic", &s.failover.automatic);
    r.Bool("requireConsensus", &s.failover.requireConsensus);
    if (!s.failover.requireConsensus) {
      sink->AtPath(r.Child("requireConsensus"),
                   "must stay true on Kubernetes: the write lease relies on majority reports");
      s.failover.requireConsensus = true;
    }
    ByteSize(r, "maximumLagBytes", &s.failover.maximumLagBytes, 0, 1ull << 50, sink);
  }
  ReadRecoverySection(spec, &s.recovery, sink);
  ReadReplicationSection(spec, &s.replication, sink);
  Proxy(spec, res, sink);
  Watchdog(spec, res, sink);
  Api(spec, res, sink);
}

}  // namespace pgvigil::kube::cr_internal
