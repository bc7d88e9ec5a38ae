// Checks that span several fields of a spec, run after every field was read.
#include <arpa/inet.h>
#include <sys/stat.h>

#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/logging.h"
#include "common/spec_reader.h"

namespace pgvigil::spec_internal {

namespace {

constexpr size_t kMaxWatchdogNodes = 255;

bool ParseIpv4(const std::string& s, uint32_t* out) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

// A host PostgreSQL clients can be pointed at: an IPv4/IPv6 literal or a DNS name
// (labels of letters, digits, '-' and '_', separated by dots). Rejects spaces and
// other characters that would break a libpq conninfo or a URL.
bool IsHostName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  in6_addr a6{};
  if (s.find(':') != std::string::npos) return inet_pton(AF_INET6, s.c_str(), &a6) == 1;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_'))
        return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

// A name PostgreSQL's configuration file lexer reads: an identifier (letters,
// digits and '_', not starting with a digit), or two joined by a dot for an
// extension's setting ("auto_explain.log_min_duration"). Non-ASCII is refused.
bool IsSettingName(const std::string& name) {
  if (name.empty() || name.size() > 127) return false;
  const size_t dot = name.find('.');
  auto ident = [](const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
  };
  if (dot == std::string::npos) return ident(name);
  return ident(name.substr(0, dot)) && ident(name.substr(dot + 1));
}

std::string NodePath(size_t i) { return "spec.nodes[" + std::to_string(i) + "]"; }

// Why an absolute path cannot be a data directory, or "" when it can.
std::string UnsafeDataDirectory(const std::string& p) {
  for (char c : p)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string part = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "." || part == "..") return "must not contain '.' or '..' components";
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.empty()) return "is the root directory";
  static const std::set<std::string> kSystem = {
      "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt", "/opt",
      "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib",
      "/var/lib/postgresql", "/usr/lib", "/usr/local"};
  std::string normal;
  for (const auto& part : parts) normal += "/" + part;
  if (kSystem.count(normal)) return "is a system directory; use a directory of its own";
  return "";
}

class Validator {
 public:
  Validator(const ClusterSpec& s, const SpecParseOptions& o, ErrorSink* sink)
      : s_(s), options_(o), sink_(sink) {}

  void Run(bool with_body) {
    Metadata();
    if (!with_body) return;
    Paths();
    Parameters();
    Nodes();
    Vip();
    Timing();
    Replication();
    Tls("spec.proxy.tls", s_.proxy.tls);
    Tls("spec.api.tls", s_.api.tls);
    Secrets();
    Ports();
  }

 private:
  void Error(const std::string& path, const std::string& reason) { sink_->AtPath(path, reason); }

  void Metadata() {
    if (!s_.name.empty() && !IsDnsLabel(s_.name))
      Error("metadata.name", "'" + s_.name +
                                 "' is not a valid name (lower-case letters, digits and '-', at most 63)");
  }

  void Paths() {
    auto absolute = [&](const std::string& path, const std::string& value) {
      if (!value.empty() && value[0] != '/') {
        Error(path, "must be an absolute path, got '" + value + "'");
        return false;
      }
      return true;
    };
    // The agent deletes, moves and rebuilds a data directory: it must name one
    // directory of its own, not / or a system directory, and say so plainly.
    auto data_dir = [&](const std::string& path, const std::string& value) {
      if (!absolute(path, value) || value.empty()) return;
      if (std::string why = UnsafeDataDirectory(value); !why.empty())
        Error(path, "'" + LogEscape(value) + "' " + why);
    };
    data_dir("spec.postgres.dataDirectory", s_.postgres.dataDirectory);
    absolute("spec.postgres.binDirectory", s_.postgres.binDirectory);
    for (size_t i = 0; i < s_.nodes.size(); ++i)
      data_dir(NodePath(i) + ".dataDirectory", s_.nodes[i].dataDirectory);
  }

  // postgres.parameters: names PostgreSQL accepts, values that fit on one line of
  // pgvigil.conf, none of the settings pgvigil manages itself (KUBERNETES.md §3),
  // and a wal_level that streaming replication works with.
  void Parameters() {
    for (const auto& [name, value] : s_.postgres.parameters) {
      const std::string path = "spec.postgres.parameters." + name;
      std::string why = RefuseParameter(name, value);
      if (!why.empty()) Error(path, why);
    }
  }

  void Nodes() {
    if (s_.nodes.empty()) return;  // reported while reading spec.nodes
    // Heartbeats carry each member's and each backend's index in one byte, and at
    // most 255 health entries (sidecar/watchdog/wire_message.h).
    if (s_.watchdog.enabled && s_.nodes.size() > kMaxWatchdogNodes)
      Error("spec.nodes", "at most " + std::to_string(kMaxWatchdogNodes) +
                              " nodes when the watchdog is enabled (heartbeats index members in one "
                              "byte), got " + std::to_string(s_.nodes.size()));
    std::map<std::string, size_t> names, addresses;
    for (size_t i = 0; i < s_.nodes.size(); ++i) {
      const NodeSpec& n = s_.nodes[i];
      if (!n.name.empty()) {
        if (!IsDnsLabel(n.name)) {
          Error(NodePath(i) + ".name",
                "'" + n.name + "' is not a valid node name (lower-case letters, digits and '-')");
        } else if (auto [it, fresh] = names.emplace(n.name, i); !fresh) {
          Error(NodePath(i) + ".name", "duplicate node name '" + n.name + "' (also " +
                                           NodePath(it->second) + ")");
        }
      }
      if (!n.host.empty() && !IsHostName(n.host)) {
        Error(NodePath(i) + ".host", "'" + n.host + "' is not an IP address or host name");
      } else if (!n.host.empty()) {
        std::string addr = n.host + ":" + std::to_string(s_.PgPort(n));
        if (auto [it, fresh] = addresses.emplace(addr, i); !fresh)
          Error(NodePath(i) + ".host", "duplicate address " + addr + " (also " +
                                           NodePath(it->second) + ")");
      }
    }
    if (!s_.primary.empty() && !s_.FindNode(s_.primary))
      Error("spec.primary", "'" + s_.primary + "' is not among spec.nodes");
  }

  void Vip() {
    if (!s_.vip.enabled()) return;
    const std::string& a = s_.vip.address;
    auto slash = a.find('/');
    uint32_t ip = 0;
    int prefix = 32;
    if (slash != std::string::npos) {
      std::string p = a.substr(slash + 1);
      bool digits = !p.empty() && p.size() <= 2 && p.find_first_not_of("0123456789") == std::string::npos;
      prefix = digits ? std::stoi(p) : -1;
    }
    if (!ParseIpv4(a.substr(0, slash), &ip) || prefix < 1 || prefix > 32) {
      Error("spec.vip.address", "'" + a + "' is not an IPv4 address with prefix such as 10.0.0.150/24");
      return;
    }
    if (s_.vip.interface.empty()) Error("spec.vip.interface", "required when vip.address is set");
    if (s_.vip.upCommand.empty()) Error("spec.vip.upCommand", "required when vip.address is set");
    if (s_.vip.downCommand.empty()) Error("spec.vip.downCommand", "required when vip.address is set");
    uint32_t mask = prefix == 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
    bool any_ip_host = false, inside = false;
    for (size_t i = 0; i < s_.nodes.size(); ++i) {
      uint32_t host;
      if (!ParseIpv4(s_.nodes[i].host, &host)) continue;
      any_ip_host = true;
      if (host == ip) Error("spec.vip.address", "the VIP must not be a node's own address (" + NodePath(i) + ")");
      if ((host & mask) == (ip & mask)) inside = true;
    }
    if (any_ip_host && !inside)
      Error("spec.vip.address", "'" + a + "' is inside no node's subnet: hosts on other subnets cannot take it over");
  }

  void Timing() {
    const auto& w = s_.watchdog;
    if (w.enabled && w.deadTime <= 2 * w.heartbeatInterval)
      Error("spec.watchdog.deadTime", "must be more than 2 x heartbeatInterval (" +
                                          std::to_string(w.heartbeatInterval.count()) + "ms), got " +
                                          std::to_string(w.deadTime.count()) + "ms");
    const auto& h = s_.healthCheck;
    if (h.timeout > h.period * 10 && h.timeout > std::chrono::seconds(60))
      Error("spec.healthCheck.timeout", "must not exceed 10 x period (or 60s)");
  }

  void Replication() {
    if (s_.replication.mode == ReplicationMode::kSync && !s_.nodes.empty() &&
        s_.replication.synchronousCount > static_cast<int>(s_.nodes.size()) - 1)
      Error("spec.replication.synchronousCount",
            "cannot exceed the number of standbys (" + std::to_string(s_.nodes.size() - 1) + ")");
  }

  void Tls(const std::string& path, const TlsSpec& t) {
    if (t.certFile.empty() != t.keyFile.empty())
      Error(path + (t.certFile.empty() ? ".certFile" : ".keyFile"), "certFile and keyFile go together");
  }

  // A referenced file must exist; one holding a secret must also be private
  // (common/files.h CheckSecretFileMode: refused when group/world can read it).
  void SecretFile(const std::string& path, const std::string& file, bool secret = true) {
    if (file.empty() || !options_.checkSecretFiles) return;
    struct stat st{};
    if (stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      Error(path, "file '" + file + "' does not exist or is not a regular file");
      return;
    }
    if (!secret) return;
    if (Status s = CheckSecretFileMode(file); !s.ok()) Error(path, s.message());
  }

  void Secrets() {
    SecretFile("spec.postgres.superuser.passwordFile", s_.postgres.superuser.passwordFile);
    SecretFile("spec.postgres.replicationUser.passwordFile", s_.postgres.replicationUser.passwordFile);
    if (s_.postgres.superuser.name.empty()) Error("spec.postgres.superuser.name", "must not be empty");
    if (s_.postgres.replicationUser.name.empty())
      Error("spec.postgres.replicationUser.name", "must not be empty");
    SecretFile("spec.proxy.auth.hbaFile", s_.proxy.auth.hbaFile, false);
    SecretFile("spec.proxy.auth.passwordFile", s_.proxy.auth.passwordFile);
    SecretFile("spec.proxy.auth.keyFile", s_.proxy.auth.keyFile);
    SecretFile("spec.proxy.tls.certFile", s_.proxy.tls.certFile, false);
    SecretFile("spec.proxy.tls.keyFile", s_.proxy.tls.keyFile);
    SecretFile("spec.api.tls.certFile", s_.api.tls.certFile, false);
    SecretFile("spec.api.tls.keyFile", s_.api.tls.keyFile);
    SecretFile("spec.api.tokenFile", s_.api.tokenFile);
    if (s_.watchdog.enabled && s_.watchdog.authKeyFile.empty())
      Error("spec.watchdog.authKeyFile", "required when the watchdog is enabled: heartbeats must be authenticated");
    SecretFile("spec.watchdog.authKeyFile", s_.watchdog.authKeyFile);
  }

  // Two listeners of one host must not share a TCP port.
  void Ports() {
    for (size_t i = 0; i < s_.nodes.size(); ++i) {
      const NodeSpec& n = s_.nodes[i];
      std::map<int, std::string> used;
      auto claim = [&](int port, const std::string& what, bool on) {
        if (!on) return;
        auto [it, fresh] = used.emplace(port, what);
        if (!fresh)
          Error(NodePath(i), "port " + std::to_string(port) + " is used by both " + it->second +
                                 " and " + what + " on " + n.host);
      };
      claim(s_.PgPort(n), "postgres.port", true);
      claim(s_.ProxyPort(n), "proxy.port", s_.proxy.enabled);
      claim(s_.ApiPort(n), "api.port", true);
      claim(s_.api.controllerPort, "api.controllerPort", true);
      claim(s_.WatchdogPort(n), "watchdog.port", s_.watchdog.enabled);
    }
    // Several nodes on one host (tests on loopback) need distinct sidecar ports.
    std::map<std::string, size_t> endpoints;
    for (size_t i = 0; i < s_.nodes.size(); ++i) {
      const NodeSpec& n = s_.nodes[i];
      if (n.host.empty()) continue;
      std::vector<std::pair<std::string, int>> eps = {{"proxy", s_.ProxyPort(n)},
                                                      {"api", s_.ApiPort(n)},
                                                      {"heartbeat", s_.HeartbeatPort(n)}};
      if (s_.watchdog.enabled) eps.emplace_back("watchdog", s_.WatchdogPort(n));
      for (const auto& [what, port] : eps) {
        std::string key = what + " " + n.host + ":" + std::to_string(port);
        if (auto [it, fresh] = endpoints.emplace(key, i); !fresh)
          Error(NodePath(i), "the " + what + " port " + std::to_string(port) + " on " + n.host +
                                 " is also " + NodePath(it->second) +
                                 "'s: nodes sharing a host need their own " + what + "Port");
      }
    }
  }

  const ClusterSpec& s_;
  const SpecParseOptions& options_;
  ErrorSink* sink_;
};

}  // namespace

std::string RefuseParameter(const std::string& name, const std::string& value) {
  static const std::set<std::string> kManaged = {
      "listen_addresses", "port", "data_directory", "hba_file", "ident_file", "config_file",
      "cluster_name", "hot_standby", "primary_conninfo", "primary_slot_name",
      "synchronous_standby_names", "restore_command", "promote_trigger_file"};
  if (!IsSettingName(name))
    return "'" + name + "' is not a PostgreSQL setting name (letters, digits, '_' and '.')";
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (kManaged.count(lower) || lower.rfind("recovery_target", 0) == 0)
    return "pgvigil sets " + lower + " itself; remove it from postgres.parameters";
  if (value.find_first_of(std::string("\n\r\0", 3)) != std::string::npos)
    return "the value must be one line (no line breaks or NUL)";
  if (lower == "wal_level" && value != "replica" && value != "logical")
    return "must be replica or logical (streaming replication needs at least replica), got '" + value + "'";
  return "";
}

void ValidateSpec(const ClusterSpec& spec, const SpecParseOptions& options, bool with_body,
                  ErrorSink* sink) {
  Validator(spec, options, sink).Run(with_body);
}

}  // namespace pgvigil::spec_internal
