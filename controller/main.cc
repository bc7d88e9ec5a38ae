// pgvigil-controller: reconciles the cluster spec against observed PostgreSQL
// state (controller/reconciler.h) and serves the cluster's status over REST.
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <iostream>

#include <spdlog/spdlog.h>

#include "common/cli.h"
#include "common/files.h"
#include "common/http_server.h"
#include "common/process.h"
#include "common/logging.h"
#include "common/sd_notify.h"
#include "common/spec_reload.h"
#include "common/spec_parser.h"
#include "controller/api/controller_api.h"
#include "controller/kube/kube_main.h"
#include "controller/reconciler.h"

using namespace pgvigil;

namespace {

const char* kUsage =
    "usage: pgvigil-controller -f SPEC.yaml --node NAME [options]\n"
    "  -f, --config FILE      cluster spec (YAML); an applied spec is written back here\n"
    "  --node NAME            the node whose sidecar runs beside this controller\n"
    "  --standalone           no watchdog: this is the only controller and it always acts\n"
    "  --state-dir DIR        standalone mode: where the cluster state is kept\n"
    "                         (default /var/lib/pgvigil/controller)\n"
    "  --listen ADDR          REST address (default: spec.api.listen)\n"
    "  --log-format F         text | json | syslog;  --log-level L;  --syslog-facility F\n"
    "  --kubernetes           Kubernetes mode (PostgresClusters, a Lease): --kubernetes --help\n"
    "  --version, --help\n"
    "Signals: TERM/INT stop; HUP reads the spec file again and, when it is valid and\n"
    "differs, takes it into use as `vigilctl apply` would (the file is not rewritten;\n"
    "passwords and the API token are read at start only).\n";

// SIGHUP: the spec file read again, validated and, when changed, taken into use.
void ReloadSpec(const std::string& config, const ReconcilerOptions& opt, Reconciler& reconciler) {
  (void)NotifyServiceManager("RELOADING=1");
  SpecLoad load = LoadSpecFile(config);
  SpecReload r = CompareReloadedSpec(reconciler.spec(), load, opt.localNode);
  if (r.outcome == SpecReload::Outcome::kChanged && !opt.standalone && !load.spec->watchdog.enabled) {
    r.outcome = SpecReload::Outcome::kInvalid;
    r.errors = {"spec.watchdog.enabled: false needs a controller started with --standalone"};
  }
  switch (r.outcome) {
    case SpecReload::Outcome::kInvalid:
      spdlog::error("reload of {}: {}", config, r.Summary());
      break;
    case SpecReload::Outcome::kUnchanged:
      spdlog::info("reload of {}: {}", config, r.Summary());
      break;
    case SpecReload::Outcome::kChanged:
      spdlog::info("reload of {}: {}; taken into use", config, r.Summary());
      reconciler.UseSpec(*load.spec, "reloaded from " + config);
      break;
  }
  (void)NotifyServiceManager("READY=1\nSTATUS=" + r.Summary());
}

}  // namespace

int main(int argc, char** argv) {
  CommandLine cl(argc, argv);
  if (cl.Has("--help") || cl.Has("-h")) {
    std::cout << (cl.Has("--kubernetes") ? kube::kKubernetesUsage : kUsage);
    return 0;
  }
  if (cl.Has("--version")) {
    std::cout << "pgvigil-controller " << PGVIGIL_VERSION << "\n";
    return 0;
  }
  LogOptions log;
  log.ident = "pgvigil-controller";
  if (Status s = ConfigureLoggingFromFlags(cl, &log); !s.ok()) {
    std::cerr << "pgvigil-controller: " << s.message() << "\n";
    return 2;
  }
  if (cl.Has("--kubernetes")) return kube::RunKubernetesController(cl);
  std::string config = cl.Value("-f", cl.Value("--config"));
  ReconcilerOptions opt;
  opt.localNode = cl.Value("--node");
  opt.standalone = cl.Has("--standalone");
  opt.stateDir = cl.Value("--state-dir", "/var/lib/pgvigil/controller");
  std::string listen = cl.Value("--listen");
  if (!cl.Unknown().empty()) {
    std::cerr << "pgvigil-controller: unknown option " << cl.Unknown().front() << "\n" << kUsage;
    return 2;
  }
  if (config.empty() || opt.localNode.empty()) {
    std::cerr << "pgvigil-controller: -f SPEC.yaml and --node NAME are required\n" << kUsage;
    return 2;
  }
  SpecLoad load = LoadSpecFile(config);
  if (!load.ok()) {
    std::cerr << load.ErrorText() << "\n";
    return 1;
  }
  const ClusterSpec& spec = *load.spec;
  if (!spec.FindNode(opt.localNode)) {
    std::cerr << "pgvigil-controller: node '" << opt.localNode << "' is not in " << config << "\n";
    return 2;
  }
  if (!opt.standalone && !spec.watchdog.enabled) {
    std::cerr << "pgvigil-controller: the spec disables the watchdog; run one controller with "
                 "--standalone\n";
    return 2;
  }
  opt.specPath = config;
  auto password = ReadSecretFile(spec.postgres.superuser.passwordFile);
  if (!password.ok()) {
    std::cerr << "pgvigil-controller: superuser password: " << password.error() << "\n";
    return 1;
  }
  opt.pg.user = spec.postgres.superuser.name;
  opt.pg.password = *password;
  opt.pg.database = spec.healthCheck.database;
  opt.pg.connectTimeoutSeconds =
      std::max<int>(1, static_cast<int>(spec.healthCheck.timeout.count() / 1000));
  std::string token;
  if (!spec.api.tokenFile.empty()) {
    auto t = ReadSecretFile(spec.api.tokenFile);
    if (!t.ok()) {
      std::cerr << "pgvigil-controller: api token: " << t.error() << "\n";
      return 1;
    }
    token = *t;
  }
  opt.token = token;
  if (opt.standalone) {
    auto mk = RunProcess({"mkdir", "-p", opt.stateDir});
    (void)mk;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  MetricsRegistry metrics;
  Reconciler reconciler(spec, opt);
  HttpServer server(
      "controller", listen.empty() ? spec.api.listen : listen, spec.api.controllerPort, spec.api.tls,
      [&](const ApiRequest& req) { return HandleControllerRequest(req, reconciler, token, metrics); },
      [&](const ApiRequest& head) { return ControllerAdmitBeforeBody(head, token); },
      LimitsFromSpec(spec.api));
  if (Status s = server.Start(); !s.ok()) {
    spdlog::critical("controller REST on port {}: {}", spec.api.controllerPort, s.message());
    return 1;
  }
  if (Status s = reconciler.Start(); !s.ok()) {
    spdlog::critical("reconciler: {}", s.message());
    return 1;
  }
  spdlog::info("pgvigil-controller {} for cluster '{}' beside node {} ({}), REST on {}",
               PGVIGIL_VERSION, spec.name, opt.localNode,
               opt.standalone ? "standalone" : "acts when its watchdog member leads", server.url());
  (void)NotifyServiceManager("READY=1\nSTATUS=cluster " + spec.name + ", REST on " + server.url());
  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) ReloadSpec(config, opt, reconciler);
  spdlog::info("received {}, stopping", strsignal(sig));
  (void)NotifyServiceManager("STOPPING=1");
  reconciler.Stop();
  server.Stop();
  return 0;
}
