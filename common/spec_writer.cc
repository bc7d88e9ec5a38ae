// Canonical YAML and JSON forms of a spec: every field, defaults included, in
// schema order. Strings are always double-quoted (valid in both YAML and JSON).
#include <cstdio>
#include <sstream>
#include <variant>

#include "common/spec_parser.h"
#include "common/units.h"

namespace pgvigil {

namespace {

struct Value;
using Fields = std::vector<std::pair<std::string, Value>>;
using List = std::vector<Value>;

struct Value {
  std::variant<std::string, int64_t, bool, Fields, List> v;
  Value(std::string s) : v(std::move(s)) {}             // NOLINT
  Value(const char* s) : v(std::string(s)) {}           // NOLINT
  Value(int i) : v(static_cast<int64_t>(i)) {}          // NOLINT
  Value(bool b) : v(b) {}                               // NOLINT
  Value(Fields f) : v(std::move(f)) {}                  // NOLINT
  Value(List l) : v(std::move(l)) {}                    // NOLINT
};

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

Value StringList(const std::vector<std::string>& items) {
  List l;
  for (const auto& s : items) l.emplace_back(s);
  return l;
}

Value Parameters(const std::map<std::string, std::string>& params) {
  Fields f;
  for (const auto& [name, value] : params) f.emplace_back(name, value);
  return f;
}

Value Tls(const TlsSpec& t) { return Fields{{"certFile", t.certFile}, {"keyFile", t.keyFile}}; }

Value Node(const NodeSpec& n) {
  List tags;
  if (n.noFailover) tags.emplace_back("noFailover");
  if (n.noLoadBalance) tags.emplace_back("noLoadBalance");
  return Fields{{"name", n.name},
                {"host", n.host},
                {"port", n.port},
                {"dataDirectory", n.dataDirectory},
                {"weight", n.weight},
                {"tags", tags},
                {"proxyPort", n.proxyPort},
                {"apiPort", n.apiPort},
                {"watchdogPort", n.watchdogPort},
                {"heartbeatPort", n.heartbeatPort}};
}

Value Tree(const ClusterSpec& s) {
  List nodes;
  for (const auto& n : s.nodes) nodes.push_back(Node(n));
  const auto& p = s.postgres;
  const auto& lb = s.proxy.loadBalancing;
  Fields spec{
      {"postgres",
       Fields{{"version", p.version},
              {"port", p.port},
              {"dataDirectory", p.dataDirectory},
              {"binDirectory", p.binDirectory},
              {"osUser", p.osUser},
              {"parameters", Parameters(p.parameters)},
              {"superuser", Fields{{"name", p.superuser.name}, {"passwordFile", p.superuser.passwordFile}}},
              {"replicationUser", Fields{{"name", p.replicationUser.name},
                                         {"passwordFile", p.replicationUser.passwordFile}}}}},
      {"nodes", nodes},
      {"primary", s.primary},
      {"vip", Fields{{"address", s.vip.address},
                     {"interface", s.vip.interface},
                     {"upCommand", s.vip.upCommand},
                     {"downCommand", s.vip.downCommand},
                     {"arpingCommand", s.vip.arpingCommand},
                     {"dadCommand", s.vip.dadCommand}}},
      {"healthCheck", Fields{{"period", FormatDuration(s.healthCheck.period)},
                             {"timeout", FormatDuration(s.healthCheck.timeout)},
                             {"maxRetries", s.healthCheck.maxRetries},
                             {"retryDelay", FormatDuration(s.healthCheck.retryDelay)},
                             {"database", s.healthCheck.database}}},
      {"failover", Fields{{"automatic", s.failover.automatic},
                          {"requireConsensus", s.failover.requireConsensus},
                          {"maximumLagBytes", FormatSize(s.failover.maximumLagBytes)}}},
      {"recovery", Fields{{"automatic", s.recovery.automatic}, {"method", ToString(s.recovery.method)}}},
      {"replication", Fields{{"mode", ToString(s.replication.mode)},
                             {"synchronousCount", s.replication.synchronousCount},
                             {"slots", s.replication.slots}}},
      {"proxy", Fields{{"enabled", s.proxy.enabled},
                       {"port", s.proxy.port},
                       {"listen", s.proxy.listen},
                       {"threads", s.proxy.threads},
                       {"maxClientConnections", s.proxy.maxClientConnections},
                       {"maxUnauthenticatedConnections", s.proxy.maxUnauthenticatedConnections},
                       {"authenticationTimeout", FormatDuration(s.proxy.authenticationTimeout)},
                       {"pauseLimit", FormatDuration(s.proxy.pauseLimit)},
                       {"loadBalancing", Fields{{"enabled", lb.enabled},
                                                {"delayThreshold", FormatSize(lb.delayThreshold)},
                                                {"disableOnWrite", ToString(lb.disableOnWrite)},
                                                {"readYourWrites", lb.readYourWrites},
                                                {"readOnlyFunctions", StringList(lb.readOnlyFunctions)},
                                                {"writeFunctions", StringList(lb.writeFunctions)}}},
                       {"pool", Fields{{"maxIdle", s.proxy.pool.maxIdle},
                                       {"idleTimeout", FormatDuration(s.proxy.pool.idleTimeout)},
                                       {"mode", ToString(s.proxy.pool.mode)},
                                       {"size", s.proxy.pool.size},
                                       {"queueTimeout", FormatDuration(s.proxy.pool.queueTimeout)},
                                       {"sessionState", ToString(s.proxy.pool.sessionState)},
                                       {"maxPreparedStatements", s.proxy.pool.maxPreparedStatements}}},
                       {"auth", Fields{{"hbaFile", s.proxy.auth.hbaFile},
                                       {"passwordFile", s.proxy.auth.passwordFile},
                                       {"keyFile", s.proxy.auth.keyFile}}},
                       {"backendAuth", Fields{{"allowCleartext", s.proxy.backendAuth.allowCleartext},
                                              {"allowMd5", s.proxy.backendAuth.allowMd5}}},
                       {"tls", Tls(s.proxy.tls)}}},
      {"watchdog", Fields{{"enabled", s.watchdog.enabled},
                          {"port", s.watchdog.port},
                          {"heartbeatPort", s.watchdog.heartbeatPort},
                          {"heartbeatInterval", FormatDuration(s.watchdog.heartbeatInterval)},
                          {"deadTime", FormatDuration(s.watchdog.deadTime)},
                          {"authKeyFile", s.watchdog.authKeyFile}}},
      {"api", Fields{{"port", s.api.port},
                     {"controllerPort", s.api.controllerPort},
                     {"listen", s.api.listen},
                     {"tokenFile", s.api.tokenFile},
                     {"tls", Tls(s.api.tls)},
                     {"headerTimeout", FormatDuration(s.api.headerTimeout)},
                     {"requestTimeout", FormatDuration(s.api.requestTimeout)},
                     {"idleTimeout", FormatDuration(s.api.idleTimeout)},
                     {"maxConnections", s.api.maxConnections}}},
  };
  return Fields{{"apiVersion", s.apiVersion},
                {"kind", s.kind},
                {"metadata", Fields{{"name", s.name}}},
                {"spec", spec}};
}

std::string Scalar(const Value& v) {
  if (auto s = std::get_if<std::string>(&v.v)) return Quote(*s);
  if (auto i = std::get_if<int64_t>(&v.v)) return std::to_string(*i);
  if (auto b = std::get_if<bool>(&v.v)) return *b ? "true" : "false";
  return "";
}

bool IsEmptyCollection(const Value& v) {
  if (auto f = std::get_if<Fields>(&v.v)) return f->empty();
  if (auto l = std::get_if<List>(&v.v)) return l->empty();
  return false;
}

bool IsScalar(const Value& v) {
  return std::holds_alternative<std::string>(v.v) || std::holds_alternative<int64_t>(v.v) ||
         std::holds_alternative<bool>(v.v);
}

void Yaml(std::ostringstream& out, const Value& v, int indent);

// Writes "key: value" pairs of a mapping, each line at `indent`.
void YamlFields(std::ostringstream& out, const Fields& f, int indent, bool first_inline) {
  bool first = true;
  for (const auto& [k, val] : f) {
    if (!(first && first_inline)) out << std::string(indent, ' ');
    first = false;
    out << k << ":";
    if (IsScalar(val)) {
      out << " " << Scalar(val) << "\n";
    } else if (IsEmptyCollection(val)) {
      out << (std::holds_alternative<List>(val.v) ? " []\n" : " {}\n");
    } else {
      out << "\n";
      Yaml(out, val, indent + 2);
    }
  }
}

void Yaml(std::ostringstream& out, const Value& v, int indent) {
  if (auto f = std::get_if<Fields>(&v.v)) {
    YamlFields(out, *f, indent, false);
  } else if (auto l = std::get_if<List>(&v.v)) {
    for (const auto& item : *l) {
      out << std::string(indent, ' ') << "- ";
      if (auto fi = std::get_if<Fields>(&item.v)) {
        YamlFields(out, *fi, indent + 2, true);
      } else {
        out << Scalar(item) << "\n";
      }
    }
  }
}

void Json(std::ostringstream& out, const Value& v) {
  if (auto f = std::get_if<Fields>(&v.v)) {
    out << "{";
    bool first = true;
    for (const auto& [k, val] : *f) {
      out << (first ? "" : ",") << Quote(k) << ":";
      Json(out, val);
      first = false;
    }
    out << "}";
  } else if (auto l = std::get_if<List>(&v.v)) {
    out << "[";
    for (size_t i = 0; i < l->size(); ++i) {
      if (i) out << ",";
      Json(out, (*l)[i]);
    }
    out << "]";
  } else {
    out << Scalar(v);
  }
}

}  // namespace

std::string SpecToYaml(const ClusterSpec& spec) {
  std::ostringstream out;
  Yaml(out, Tree(spec), 0);
  return out.str();
}

std::string SpecToJson(const ClusterSpec& spec) {
  std::ostringstream out;
  Json(out, Tree(spec));
  return out.str();
}

}  // namespace pgvigil
