// pgvigil-sidecar: one per PostgreSQL host. Proxy + watchdog member + node agent
// with the REST API. Thin: parses flags, loads the spec, starts the components.
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/cli.h"
#include "common/logging.h"
#include "common/sd_notify.h"
#include "common/spec_parser.h"
#include "common/spec_reload.h"
#include "sidecar/agent/agent_component.h"
#include "sidecar/component.h"
#include "sidecar/proxy/proxy_component.h"
#include "sidecar/watchdog/vip_release.h"
#include "sidecar/watchdog/watchdog_component.h"

using namespace pgvigil;

namespace {

const char* kUsage =
    "usage: pgvigil-sidecar -f SPEC.yaml --node NAME [options]\n"
    "       pgvigil-sidecar release-vip -f SPEC.yaml   remove the spec's VIP from this host\n"
    "         (if configured here; for systemd ExecStopPost, which also runs after SIGKILL)\n"
    "  -f, --config FILE      cluster spec (YAML)\n"
    "  --node NAME            this host's node name in the spec\n"
    "  --state-dir DIR        persistent state (default /var/lib/pgvigil/NAME)\n"
    "  --no-proxy | --no-watchdog   disable a part\n"
    "  --log-format F         text | json | syslog (default text)\n"
    "  --log-level L          trace|debug|info|warn|error (default: spec or info)\n"
    "  --syslog-facility F    LOCAL0..LOCAL7 (default LOCAL1)\n"
    "  --version, --help\n"
    "Signals: TERM/INT stop (the watchdog resigns first); HUP reads the spec again,\n"
    "validates it and logs what changed; a changed spec is taken into use at the\n"
    "next start of the sidecar (the running one is kept).\n";

// SIGHUP: re-read and validate the spec file; report, never act on it (the proxy,
// watchdog and agent are built from one spec and keep it for their lifetime).
void ReloadSpec(const std::string& config, const SidecarContext& ctx) {
  (void)NotifyServiceManager("RELOADING=1");
  SpecReload r = CompareReloadedSpec(ctx.spec, LoadSpecFile(config), ctx.nodeName);
  switch (r.outcome) {
    case SpecReload::Outcome::kInvalid:
      spdlog::error("reload of {}: {}", config, r.Summary());
      break;
    case SpecReload::Outcome::kUnchanged:
      spdlog::info("reload of {}: {}", config, r.Summary());
      break;
    case SpecReload::Outcome::kChanged:
      spdlog::warn("reload of {}: {}; the sidecar keeps the spec it started with and takes "
                   "this one into use when it is restarted (systemctl restart pgvigil-sidecar)",
                   config, r.Summary());
      break;
  }
  (void)NotifyServiceManager("READY=1\nSTATUS=" + r.Summary());
}

}  // namespace

int main(int argc, char** argv) {
  CommandLine cl(argc, argv);
  if (cl.Has("--help") || cl.Has("-h")) {
    std::cout << kUsage;
    return 0;
  }
  if (cl.Has("--version")) {
    std::cout << "pgvigil-sidecar " << PGVIGIL_VERSION << "\n";
    return 0;
  }
  if (!cl.Positional().empty() && cl.Positional()[0] == "release-vip") {
    std::string spec_file = cl.Value("-f", cl.Value("--config"));
    (void)cl.Value("--node");  // accepted, not needed: the VIP is the same on every host
    if (spec_file.empty() || cl.Positional().size() > 1 || !cl.Unknown().empty()) {
      std::cerr << "pgvigil-sidecar: release-vip needs -f SPEC and nothing else\n" << kUsage;
      return 2;
    }
    SpecLoad spec = LoadSpecFile(spec_file);
    if (!spec.ok()) {
      std::cerr << spec.ErrorText() << "\n";
      return 1;
    }
    return watchdog::ReleaseVip(spec.spec->vip, std::cout, std::cerr);
  }
  LogOptions log;
  log.ident = "pgvigil-sidecar";
  if (Status s = ConfigureLoggingFromFlags(cl, &log); !s.ok()) {
    std::cerr << "pgvigil-sidecar: " << s.message() << "\n";
    return 2;
  }
  std::string config = cl.Value("-f", cl.Value("--config"));
  std::string node = cl.Value("--node");
  if (config.empty() || node.empty()) {
    std::cerr << "pgvigil-sidecar: -f SPEC and --node NAME are required\n" << kUsage;
    return 2;
  }
  std::string state_dir = cl.Value("--state-dir", "/var/lib/pgvigil/" + node);
  bool no_proxy = cl.Has("--no-proxy");
  bool no_watchdog = cl.Has("--no-watchdog");
  if (!cl.Unknown().empty()) {
    std::cerr << "pgvigil-sidecar: unknown option " << cl.Unknown().front() << "\n" << kUsage;
    return 2;
  }
  SpecLoad load = LoadSpecFile(config);
  if (!load.ok()) {
    std::cerr << load.ErrorText() << "\n";
    return 1;
  }
  SidecarContext ctx;
  ctx.spec = *load.spec;
  ctx.nodeName = node;
  if (!ctx.spec.FindNode(node)) {
    std::cerr << "pgvigil-sidecar: node '" << node << "' is not in " << config << "\n";
    return 2;
  }
  ctx.stateDir = state_dir;

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::unique_ptr<Component>> parts;
  if (ctx.spec.proxy.enabled && !no_proxy) parts.push_back(MakeProxyComponent(ctx));
  if (ctx.spec.watchdog.enabled && !no_watchdog)
    parts.push_back(MakeWatchdogComponent(ctx));
  parts.push_back(MakeAgentComponent(ctx, &parts));  // REST server; sees the others' summaries
  for (auto& p : parts) {
    if (Status s = p->Start(); !s.ok()) {
      spdlog::critical("starting {}: {}", p->name(), s.message());
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) (*it)->Stop();
      return 1;
    }
    spdlog::info("{} started", p->name());
  }
  spdlog::info("pgvigil-sidecar {} running as node {}", PGVIGIL_VERSION, node);
  (void)NotifyServiceManager("READY=1\nSTATUS=running as node " + node);
  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) ReloadSpec(config, ctx);
  spdlog::info("received {}, stopping", strsignal(sig));
  (void)NotifyServiceManager("STOPPING=1");
  // Watchdog first (resign and drop the VIP at once), then the rest in reverse order.
  for (auto& p : parts)
    if (std::strcmp(p->name(), "watchdog") == 0) p->Stop();
  for (auto it = parts.rbegin(); it != parts.rend(); ++it)
    if (std::strcmp((*it)->name(), "watchdog") != 0) (*it)->Stop();
  spdlog::info("pgvigil-sidecar stopped");
  return 0;
}
