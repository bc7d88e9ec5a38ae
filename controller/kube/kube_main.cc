#include "controller/kube/kube_main.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include <spdlog/spdlog.h>

#include "common/http_server.h"
#include "controller/kube/kube_api.h"
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
    "  --listen ADDR          REST address (default 0.0.0.0; \"::\" for IPv6)\n"
    "  --port N               REST port: GET /healthz, GET /v1/replica (default 9900)\n"
    "  --lease-duration-ms N, --renew-deadline-ms N, --retry-period-ms N\n"
    "                         election timing (defaults 15000, 10000, 2000; tests shorten them)\n"
    "  --log-format F         text | json | syslog;  --log-level L\n";

int RunKubernetesController(const CommandLine& cl) {
  const std::string kubeconfig = cl.Value("--kubeconfig");
  const std::string context = cl.Value("--context");
  std::string lease_ns = cl.Value("--lease-namespace");
  const std::string watch_ns = cl.Value("--watch-namespace");
  const std::string listen = cl.Value("--listen", "0.0.0.0");
  const std::string port_text = cl.Value("--port", "9900");
  int port = 0;
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      (port = std::stoi(port_text)) < 1 || port > 65535) {
    std::cerr << "pgvigil-controller: --port: '" << port_text << "' is not a port number\n";
    return 2;
  }
  std::string pod = cl.Value("--pod-name", GetEnv("POD_NAME"));
  ElectorSettings es;
  struct Knob {
    const char* flag;
    std::chrono::milliseconds* value;
  } knobs[] = {{"--lease-duration-ms", &es.leaseDuration},
               {"--renew-deadline-ms", &es.renewDeadline},
               {"--retry-period-ms", &es.retryPeriod}};
  for (const auto& k : knobs) {
    const std::string text = cl.Value(k.flag);
    if (text.empty()) continue;
    if (text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos || std::stol(text) <= 0) {
      std::cerr << "pgvigil-controller: " << k.flag << ": '" << text << "' is not a positive number of milliseconds\n";
      return 2;
    }
    *k.value = std::chrono::milliseconds(std::stol(text));
  }
  if (es.renewDeadline >= es.leaseDuration || es.retryPeriod >= es.renewDeadline) {
    std::cerr << "pgvigil-controller: election timing needs retry period < renew deadline < lease duration\n";
    return 2;
  }
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
  es.identity = ElectorIdentity(pod);
  ClientOptions co;
  co.userAgent = std::string("pgvigil-controller/") + PGVIGIL_VERSION + " (" + es.identity + ")";
  KubeClient client(*config, co);
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

  es.ns = lease_ns;
  LeaseElector elector(&client, es);
  elector.Start();
  KubeControllerOptions ko;
  ko.watchNamespace = watch_ns;
  KubeController controller(&client, &elector, ko);
  HttpServer server("controller", listen, port, TlsSpec{}, [&](const ApiRequest& req) {
    KubeControllerView view;
    view.identity = elector.identity();
    view.role = ToString(elector.role());
    view.actingTerm = elector.ActingTerm();
    view.clusters = controller.Running();
    view.status = [&controller](const std::string& key) { return controller.ClusterStatusOf(key); };
    return HandleKubeRequest(req, view);
  });
  if (Status s = server.Start(); !s.ok()) {
    spdlog::critical("REST on {} port {}: {}", listen, port, s.message());
    elector.Stop(false);
    return 1;
  }
  controller.Start();
  spdlog::info(
      "pgvigil-controller {} in Kubernetes mode at {} as {}: Lease {}/pgvigil-controller, clusters in {}, REST on {}",
      PGVIGIL_VERSION, config->server, es.identity, lease_ns,
      watch_ns.empty() ? "every namespace" : "namespace " + watch_ns, server.url());
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}, stopping", strsignal(sig));
  controller.Stop();
  elector.Stop(true);
  server.Stop();  // release: the other replica need not wait for the lease to expire
  return 0;
}

}  // namespace pgvigil::kube
