#include "controller/vigilctl/kube_target.h"

#include <sys/stat.h>

#include <cstdlib>

#include "common/strings.h"
#include "controller/kube/kube_request.h"

namespace pgvigil {

using web::json::value;

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0;
}

// The kubeconfig file to read, or an error saying where it looked.
Result<std::string> KubeconfigPath(const CommandLine& cl) {
  std::string flag = cl.Value("--kubeconfig");
  if (!flag.empty()) {
    if (!Exists(flag)) return Result<std::string>::Error("--kubeconfig " + flag + ": no such file");
    return flag;
  }
  const char* env = std::getenv("KUBECONFIG");
  std::string tried;
  if (env && *env) {
    std::string list = env;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      std::string p = list.substr(start, end - start);
      if (Exists(p)) return p;
      if (!p.empty()) tried += (tried.empty() ? "" : ", ") + p;
      start = end + 1;
    }
  }
  const char* home = std::getenv("HOME");
  if (home && *home) {
    std::string p = std::string(home) + "/.kube/config";
    if (Exists(p)) return p;
    tried += (tried.empty() ? "" : ", ") + p;
  }
  return Result<std::string>::Error("no kubeconfig: pass --kubeconfig FILE or set KUBECONFIG (tried: " +
                                    (tried.empty() ? std::string("nothing, HOME is not set") : tried) + ")");
}

std::string Str(const value& o, const char* k) { return o.has_string_field(k) ? o.at(k).as_string() : ""; }

}  // namespace

bool KubeMode(const std::string& argv0, const CommandLine& cl) {
  std::string base = argv0.substr(argv0.rfind('/') == std::string::npos ? 0 : argv0.rfind('/') + 1);
  if (base == "kubectl-pgvigil") return true;
  for (const char* k : {"--kubeconfig", "--context", "-n", "--namespace"})
    if (cl.Has(k)) return true;
  return false;
}

void MarkKubeOptions(const CommandLine& cl) {
  for (const char* k : {"--kubeconfig", "--context", "-n", "--namespace", "--cluster"}) (void)cl.Value(k);
}

std::string KubeTarget::Path(const std::string& sub) const {
  return kube::ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", ns, cluster, sub);
}

std::string DescribeApiError(const KubeTarget& t, const std::string& what, const kube::ApiReply& r) {
  switch (r.code) {
    case 401:
      return "the API server refused the credentials of " + t.kubeconfig + " (HTTP 401): " + r.message();
    case 403:
      return "forbidden (HTTP 403): the kubeconfig's user may not " + what + " " + t.Name() + ": " + r.message();
    case 404:
      return t.Name() + " not found (kubectl -n " + t.ns + " get postgresclusters lists them): " + r.message();
    default:
      return what + " " + t.Name() + ": " + r.Describe();
  }
}

Result<KubeTarget> ResolveKubeTarget(const CommandLine& cl, const std::string& cluster, const std::string& instance) {
  auto path = KubeconfigPath(cl);
  if (!path.ok()) return path.status();
  auto config = kube::KubeconfigFile(*path, cl.Value("--context"));
  if (!config.ok()) return config.status();
  KubeTarget t;
  t.kubeconfig = *path;
  t.ns = cl.Value("-n", cl.Value("--namespace", config->ns.empty() ? "default" : config->ns));
  kube::ClientOptions o;
  o.timeout = std::chrono::milliseconds(10000);
  o.maxAttempts = 3;
  t.client = std::make_unique<kube::KubeClient>(*config, o);
  t.cluster = cl.Value("--cluster", cluster);
  if (t.cluster.empty()) t.cluster = kube::ClusterOfInstance(instance);
  if (!t.cluster.empty()) return t;
  // The only PostgresCluster in the namespace.
  const std::string collection = kube::ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", t.ns);
  auto r = t.client->Call("GET", collection);
  if (!r.ok()) return Result<KubeTarget>::Error(t.client->config().server + ": " + r.error());
  if (!r->ok()) {
    t.cluster = "*";
    return Result<KubeTarget>::Error(DescribeApiError(t, "list", *r));
  }
  std::vector<std::string> names;
  if (r->body.has_array_field("items"))
    for (const auto& item : r->body.at("items").as_array())
      if (item.has_object_field("metadata")) names.push_back(Str(item.at("metadata"), "name"));
  if (names.size() == 1) {
    t.cluster = names.front();
    return t;
  }
  if (names.empty())
    return Result<KubeTarget>::Error("no PostgresCluster in namespace " + t.ns + " (pass -n NAMESPACE)");
  const std::string list = Join(names);
  return Result<KubeTarget>::Error("namespace " + t.ns + " has several PostgresClusters (" + list +
                                   "): name one (--cluster NAME)");
}

Result<value> GetCluster(KubeTarget& t) {
  auto r = t.client->Get(t.Path());
  if (!r.ok()) return Result<value>::Error(t.client->config().server + ": " + r.error());
  if (!r->ok()) return Result<value>::Error(DescribeApiError(t, "get", *r));
  return r->body;
}

}  // namespace pgvigil
