#include "controller/kube/kube_main.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include <spdlog/spdlog.h>

#include "controller/kube/kube_config.h"
#include "controller/kube/kube_controller.h"

namespace pgvigil::kube {

const char* kKubernetesUsage =
    "usage: pgvigil-controller --kubernetes [options]\n"
    "  --kubeconfig FILE      outside a cluster: the current context of FILE\n"
    "                         (default: the in-cluster service account)\n"
    "  --context NAME         a kubeconfig context other than the current one\n"
    "  --lease-namespace NS   where Lease pgvigil-controller lives (default: the\n"
    "                         service account's or the context's namespace)\n"
    "  --watch-namespace NS   only PostgresClusters there (default: every namespace)\n"
    "  --pod-name NAME        this replica's name (default: $POD_NAME, else the host name)\n"
    "  --log-format F         text | json | syslog;  --log-level L\n";

int RunKubernetesController(const CommandLine& cl) {
  const std::string kubeconfig = cl.Value("--kubeconfig");
  const std::string context = cl.Value("--context");
  std::string lease_ns = cl.Value("--lease-namespace");
  const std::string watch_ns = cl.Value("--watch-namespace");
  std::string pod = cl.Value("--pod-name", GetEnv("POD_NAME"));
  if (!cl.Unknown().empty()) {
    std::cerr << "pgvigil-controller: unknown option " << cl.Unknown().front() << "\n" << kKubernetesUsage;
    return 2;
  }
  if (pod.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    pod = host;
  }
  Result<KubeConfig> config = kubeconfig.empty() ? InClusterConfig() : KubeconfigFile(kubeconfig, context);
  if (!config.ok()) {
    std::cerr << "pgvigil-controller: " << config.error() << "\n";
    return 1;
  }
  if (lease_ns.empty()) lease_ns = config->ns.empty() ? "default" : config->ns;
  KubeClient client(*config);
  auto crd = client.Get("/apis/pgvigil.io/v1alpha1");
  if (crd.ok() && crd->code == 404) {
    std::cerr << "pgvigil-controller: CRD not installed (GET /apis/pgvigil.io/v1alpha1: 404)\n";
    return 1;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ElectorSettings es;
  es.ns = lease_ns;
  es.identity = ElectorIdentity(pod);
  LeaseElector elector(&client, es);
  elector.Start();
  KubeControllerOptions ko;
  ko.watchNamespace = watch_ns;
  KubeController controller(&client, &elector, ko);
  controller.Start();
  spdlog::info("pgvigil-controller {} in Kubernetes mode at {} as {}: Lease {}/pgvigil-controller, clusters in {}",
               PGVIGIL_VERSION, config->server, es.identity, lease_ns,
               watch_ns.empty() ? "every namespace" : "namespace " + watch_ns);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}, stopping", strsignal(sig));
  controller.Stop();
  elector.Stop(true);  // release: the other replica need not wait for the lease to expire
  return 0;
}

}  // namespace pgvigil::kube
