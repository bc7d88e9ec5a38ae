// pgvigil-sidecar: one per PostgreSQL host. Proxy + watchdog member + node agent
// with the REST API. Thin: parses flags, loads the spec, starts the components.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/child_reaper.h"
#include "common/cli.h"
#include "common/files.h"
#include "common/node_spec_push.h"
#include "common/logging.h"
#include "common/sd_notify.h"
#include "common/spec_parser.h"
#include "common/spec_reload.h"
#include "sidecar/agent/agent_component.h"
#include "sidecar/agent/pod_lifecycle.h"
#include "sidecar/agent/start_parameter_check.h"
#include "sidecar/agent/spec_update.h"
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
    "  --kubernetes           the main process of a PostgresCluster pod (PID 1): reaps\n"
    "                         orphans, starts a standby itself, refuses a spec with vip,\n"
    "                         fences a primary that loses its write lease (immediate stop),\n"
    "                         and on TERM checkpoints and stops PostgreSQL before exiting\n"
    "  --grace-seconds N      --kubernetes: the pod's termination grace period (default 60)\n"
    "  --log-format F         text | json | syslog (default text)\n"
    "  --log-level L          trace|debug|info|warn|error (default: spec or info)\n"
    "  --syslog-facility F    LOCAL0..LOCAL7 (default LOCAL1)\n"
    "  --version, --help\n"
    "Signals: TERM/INT stop (the watchdog resigns first); HUP reads the spec again,\n"
    "validates it and logs what changed; a changed spec is taken into use at the\n"
    "next start of the sidecar (the running one is kept). PUT /v1/node/spec (REST,\n"
    "term-checked) takes a new member list live and stores any other change in\n"
    "STATE/spec.json for the next start (the newer of it and -f's file wins).\n";

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
  const bool kubernetes = cl.Has("--kubernetes");
  const std::string grace_text = cl.Value("--grace-seconds", "60");
  if (!cl.Unknown().empty()) {
    std::cerr << "pgvigil-sidecar: unknown option " << cl.Unknown().front() << "\n" << kUsage;
    return 2;
  }
  SpecLoad load = LoadSpecFile(config);
  if (!load.ok()) {
    std::cerr << load.ErrorText() << "\n";
    return 1;
  }
  int grace_seconds = 0;
  try {
    grace_seconds = std::stoi(grace_text);
  } catch (const std::exception&) {
    grace_seconds = -1;
  }
  if (grace_seconds < 5 || grace_seconds > 3600) {
    std::cerr << "pgvigil-sidecar: --grace-seconds must be 5..3600, got '" << grace_text << "'\n";
    return 2;
  }
  if (kubernetes) {
    // KUBERNETES.md §3/§4.5.2: Services replace the VIP, and the write lease (the
    // watchdog's) is what keeps an isolated primary from taking writes.
    if (load.spec->vip.enabled()) {
      std::cerr << config << ": spec.vip: refused with --kubernetes (Services replace the VIP; "
                << "remove vip)\n";
      return 2;
    }
    if (no_watchdog || !load.spec->watchdog.enabled) {
      std::cerr << config << ": spec.watchdog.enabled: must stay true with --kubernetes (the "
                << "write lease that fences an isolated primary needs the watchdog)\n";
      return 2;
    }
  }
  // The spec file or the copy PUT /v1/node/spec stored, whichever is newer by
  // generation (KUBERNETES.md §4.3; sidecar/agent/spec_update.h).
  auto file_text = ReadFile(config);
  const uint64_t file_generation = file_text.ok() ? SpecFileGeneration(*file_text) : 0;
  // Refused postgres.parameters set aside (sidecar/agent/refused_parameters.h), and
  // those PostgreSQL would not start with (sidecar/agent/start_parameter_check.h).
  StartSpec start = PrepareStartSpec(*load.spec, file_generation, config, state_dir, node);
  SidecarContext ctx;
  ctx.spec = start.spec;
  ctx.parametersSetAside = start.setAside;
  ctx.kubernetes = kubernetes;
  ctx.nodeName = node;
  if (!ctx.spec.FindNode(node)) {
    std::cerr << "pgvigil-sidecar: node '" << node << "' is not in " << config << "\n";
    return 2;
  }
  ctx.stateDir = state_dir;
  ctx.InitMembership(start.generation);

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (kubernetes) {
    // PID 1 (or a subreaper in the lab): orphans such as the postmaster pg_ctl
    // started come to us; statuses of our own runners' children stay theirs.
    if (Status s = child_reaper::StartReaper(/*subreaper=*/true); !s.ok()) {
      spdlog::critical("{}", s.message());
      return 1;
    }
  }
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
  if (kubernetes) {
    // The pod is going away: CHECKPOINT, fast stop (immediate when that does not
    // finish), then resign; all within the grace period, less a margin for the rest.
    const auto budget = std::chrono::seconds(std::max(3, grace_seconds - 10));
    const auto began = std::chrono::steady_clock::now();
    Status s = ShutdownPostgres(LocalNode::From(ctx.spec, node, state_dir), budget);
    if (!s.ok()) spdlog::error("stopping PostgreSQL: {}", s.message());
    spdlog::info("PostgreSQL stopped in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      std::chrono::steady_clock::now() - began)
                                                      .count());
  }
  // Watchdog first (resign and drop the VIP at once), then the rest in reverse order.
  for (auto& p : parts)
    if (std::strcmp(p->name(), "watchdog") == 0) p->Stop();
  for (auto it = parts.rbegin(); it != parts.rend(); ++it)
    if (std::strcmp((*it)->name(), "watchdog") != 0) (*it)->Stop();
  spdlog::info("pgvigil-sidecar stopped");
  return 0;
}
