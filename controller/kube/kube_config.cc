#include "controller/kube/kube_config.h"

#include <cstdint>
#include <cstdlib>

#include <yaml-cpp/yaml.h>

#include "common/files.h"

namespace pgvigil::kube {

std::string GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? v : "";
}

std::string ServerUrl(const std::string& host, const std::string& port) {
  bool v6 = host.find(':') != std::string::npos && host.front() != '[';
  return "https://" + (v6 ? "[" + host + "]" : host) + ":" + port;
}

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<std::string> Base64Decode(const std::string& in, const std::string& what) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  // Unsigned: only the low bits not yet emitted matter, the high ones may wrap
  // (a signed int overflowed after five characters: UBSan, kube_client_unit_test).
  uint32_t val = 0;
  int bits = -8;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    size_t pos = kAlphabet.find(c);
    if (pos == std::string::npos) return Result<std::string>::Error(what + ": not base64");
    val = (val << 6) | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

// A kubeconfig value given as "<key>" (a file, relative to the kubeconfig's
// directory) or "<key>-data" (base64).
Result<std::string> FileOrData(const YAML::Node& m, const std::string& key, const std::string& dir,
                               const std::string& where) {
  if (m[key + "-data"]) return Base64Decode(m[key + "-data"].Scalar(), where + "." + key + "-data");
  if (!m[key]) return std::string();
  std::string path = m[key].Scalar();
  if (!path.empty() && path[0] != '/') path = dir + "/" + path;
  auto text = ReadFile(path);
  if (!text.ok()) return Result<std::string>::Error(where + "." + key + ": " + text.error());
  return *text;
}

// The `field` of the list entry called `name`; null when there is none.
YAML::Node Named(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list || !list.IsSequence()) return YAML::Node();
  for (const auto& item : list)
    if (item["name"] && item["name"].Scalar() == name && item[field]) return item[field];
  return YAML::Node();
}

bool Missing(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

}  // namespace

Result<KubeConfig> InClusterConfig(const EnvLookup& env, std::string sa_dir) {
  if (sa_dir.empty()) sa_dir = env("PGVIGIL_KUBE_SA_DIR");
  if (sa_dir.empty()) sa_dir = kServiceAccountDir;
  std::string host = env("KUBERNETES_SERVICE_HOST"), port = env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty())
    return Result<KubeConfig>::Error("not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  KubeConfig c;
  c.server = ServerUrl(host, port);
  auto ca = ReadFile(sa_dir + "/ca.crt");
  if (!ca.ok()) return Result<KubeConfig>::Error("service account CA: " + ca.error());
  c.caPem = *ca;
  c.tokenFile = sa_dir + "/token";
  auto token = ReadFile(c.tokenFile);
  if (!token.ok()) return Result<KubeConfig>::Error("service account token: " + token.error());
  c.token = Trim(*token);
  auto ns = ReadFile(sa_dir + "/namespace");
  if (!ns.ok()) return Result<KubeConfig>::Error("service account namespace: " + ns.error());
  c.ns = Trim(*ns);
  return c;
}

Result<KubeConfig> KubeconfigFile(const std::string& path, const std::string& context_name) {
  auto text = ReadFile(path);
  if (!text.ok()) return Result<KubeConfig>::Error("kubeconfig: " + text.error());
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  try {
    YAML::Node doc = YAML::Load(*text);
    std::string name = context_name.empty() && doc["current-context"] ? doc["current-context"].Scalar() : context_name;
    if (name.empty()) return Result<KubeConfig>::Error(path + ": no current-context");
    YAML::Node ctx = Named(doc["contexts"], name, "context");
    if (Missing(ctx)) return Result<KubeConfig>::Error(path + ": context '" + name + "' not found");
    std::string cluster_name = ctx["cluster"] ? ctx["cluster"].Scalar() : "";
    std::string user_name = ctx["user"] ? ctx["user"].Scalar() : "";
    YAML::Node cluster = Named(doc["clusters"], cluster_name, "cluster");
    if (Missing(cluster) || !cluster["server"])
      return Result<KubeConfig>::Error(path + ": cluster '" + cluster_name + "' not found or has no server");
    KubeConfig c;
    c.server = cluster["server"].Scalar();
    c.ns = ctx["namespace"] ? ctx["namespace"].Scalar() : "default";
    c.insecureSkipVerify = cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    std::string where = path + ": cluster '" + cluster_name + "'";
    auto ca = FileOrData(cluster, "certificate-authority", dir, where);
    if (!ca.ok()) return ca.status();
    c.caPem = *ca;
    YAML::Node user = Named(doc["users"], user_name, "user");
    if (!Missing(user)) {
      where = path + ": user '" + user_name + "'";
      if (user["token"]) c.token = user["token"].Scalar();
      if (user["tokenFile"]) {
        c.tokenFile = user["tokenFile"].Scalar();
        auto t = ReadFile(c.tokenFile);
        if (!t.ok()) return Result<KubeConfig>::Error(where + ".tokenFile: " + t.error());
        c.token = Trim(*t);
      }
      auto cert = FileOrData(user, "client-certificate", dir, where);
      auto key = FileOrData(user, "client-key", dir, where);
      if (!cert.ok()) return cert.status();
      if (!key.ok()) return key.status();
      c.clientCertPem = *cert;
      c.clientKeyPem = *key;
      if (c.clientCertPem.empty() != c.clientKeyPem.empty())
        return Result<KubeConfig>::Error(where + ": client-certificate and client-key go together");
    }
    return c;
  } catch (const YAML::Exception& e) {
    return Result<KubeConfig>::Error(path + ": " + e.what());
  }
}

}  // namespace pgvigil::kube
