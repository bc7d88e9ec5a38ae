// vigilctl on Kubernetes: where the API server is and which PostgresCluster a
// command is about, kubectl-plugin style. Only the API server is talked to
// (no port-forward, no pod access).
//  - kubeconfig: --kubeconfig FILE, else the first existing file of $KUBECONFIG
//    (a ':'-separated list, as kubectl reads it), else ~/.kube/config;
//    --context NAME picks a context other than the current one;
//  - namespace: -n/--namespace, else the context's namespace, else "default";
//  - cluster: --cluster NAME, else the name the command was given, else the one
//    an instance name belongs to ("demo-1" -> "demo"), else the only
//    PostgresCluster in the namespace.
// Errors say what is missing or refused (no kubeconfig, 401, 403, no such cluster).
#pragma once

#include <memory>
#include <string>

#include <cpprest/json.h>

#include "common/cli.h"
#include "common/result.h"
#include "controller/kube/kube_client.h"

namespace pgvigil {

// Whether this invocation is in Kubernetes mode: run as kubectl-pgvigil, or
// given --kubeconfig, --context or -n/--namespace.
bool KubeMode(const std::string& argv0, const CommandLine& cl);

struct KubeTarget {
  std::unique_ptr<kube::KubeClient> client;
  std::string kubeconfig;  // the file read
  std::string ns;
  std::string cluster;
  std::string Path(const std::string& sub = "") const;  // the PostgresCluster's API path
  std::string Name() const { return "PostgresCluster " + ns + "/" + cluster; }
};

// Marks the options KubeTarget reads (--kubeconfig, --context, -n,
// --namespace, --cluster) as known.
void MarkKubeOptions(const CommandLine& cl);

// The client and namespace from the options; `cluster` (may be "") as the
// command named it, `instance` (may be "") to derive it from.
Result<KubeTarget> ResolveKubeTarget(const CommandLine& cl, const std::string& cluster, const std::string& instance);

// GET of the PostgresCluster; errors in words (not found, forbidden, ...).
Result<web::json::value> GetCluster(KubeTarget& t);

// An API answer that is not 2xx, in words for `what` ("get", "patch").
std::string DescribeApiError(const KubeTarget& t, const std::string& what, const kube::ApiReply& r);

}  // namespace pgvigil
