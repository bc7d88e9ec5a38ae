// Where the Kubernetes API is and who we are to it: in a pod (the service
// account directory and KUBERNETES_SERVICE_HOST/PORT) or from a kubeconfig
// file's current context. Certificates are kept as PEM text; a token file is
// remembered so the client can re-read a rotated token. Reads files only;
// errors say which file or field.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"

namespace pgvigil::kube {

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

struct KubeConfig {
  std::string server;     // "https://10.96.0.1:443", "https://[fd00::1]:443"
  std::string caPem;      // trusted CA certificates (empty: the system's)
  std::string token;      // bearer token (empty with a client certificate)
  std::string tokenFile;  // re-read when set (bound service-account tokens rotate)
  std::string clientCertPem, clientKeyPem;
  std::string ns;         // the default namespace
  bool insecureSkipVerify = false;
};

// Environment lookup, injectable for tests (default: getenv).
using EnvLookup = std::function<std::string(const std::string&)>;
std::string GetEnv(const std::string& name);

// In a pod. `sa_dir` holds ca.crt, token and namespace; PGVIGIL_KUBE_SA_DIR
// in the environment overrides the default path (tests).
Result<KubeConfig> InClusterConfig(const EnvLookup& env = GetEnv, std::string sa_dir = "");

// A kubeconfig file's current context: cluster server and CA (file or data),
// user token, tokenFile or client certificate and key (file or data), namespace.
Result<KubeConfig> KubeconfigFile(const std::string& path, const std::string& context = "");

// "https://HOST:PORT" with an IPv6 host in brackets.
std::string ServerUrl(const std::string& host, const std::string& port);

}  // namespace pgvigil::kube
