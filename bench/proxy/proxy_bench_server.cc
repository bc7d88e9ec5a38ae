// Benchmark helper: runs the pgvigil proxy alone (no watchdog, no agent) in
// front of given PostgreSQL nodes, node 0 marked primary and the rest standbys
// in the health view. Client authentication: the given pool_hba.conf, or else
// a file it writes with trust for 127.0.0.1 only (trust is never the proxy's
// default; the benchmark writes it explicitly, as PgBouncer's auth_type =
// trust there). With --health-check MS the sidecar's own health checker (as
// the superuser postgres, no password) checks the nodes every MS milliseconds,
// so roles, lag and the standbys' replay LSN (read-your-writes) are real;
// without it the view stays as written at start (replay LSN unknown: after a
// session's first write its reads stay on the primary). Stops on SIGTERM/SIGINT.
//   pgvigil-proxy-bench --port 9999 --nodes 127.0.0.1:5432,127.0.0.1:5433 [--threads N]
//                       [--no-read-your-writes] [--no-load-balance] [--hba FILE]
//                       [--health-check MS] [--pool-max-idle N (proxy.pool.maxIdle, 20)]
//                       [--pool-idle-timeout MS (proxy.pool.idleTimeout, 600000)]
//                       [--pool-mode session|transaction] [--pool-size N (proxy.pool.size, 20)]
//                       [--session-state refuse|pin (proxy.pool.sessionState, refuse)]
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "common/cli.h"
#include "sidecar/agent/health_checker.h"
#include "sidecar/proxy/proxy_server.h"

using namespace pgvigil;

int main(int argc, char** argv) {
  CommandLine cl(argc, argv);
  SidecarContext ctx;
  ctx.spec.proxy.listen = "127.0.0.1";
  ctx.spec.proxy.threads = std::stoi(cl.Value("--threads", "0"));
  ctx.spec.proxy.maxClientConnections = 20000;
  ctx.spec.proxy.loadBalancing.readYourWrites = !cl.Has("--no-read-your-writes");
  ctx.spec.proxy.loadBalancing.enabled = !cl.Has("--no-load-balance");
  ctx.spec.proxy.pool.maxIdle = std::stoi(cl.Value("--pool-max-idle", "20"));
  ctx.spec.proxy.pool.size = std::stoi(cl.Value("--pool-size", "20"));
  if (cl.Has("--pool-idle-timeout"))
    ctx.spec.proxy.pool.idleTimeout = pgvigil::Millis(std::stoll(cl.Value("--pool-idle-timeout")));
  const std::string mode = cl.Value("--pool-mode", "session");
  if (mode != "session" && mode != "transaction") {
    std::cerr << "--pool-mode: '" << mode << "' is not session or transaction\n";
    return 2;
  }
  ctx.spec.proxy.pool.mode = mode == "transaction" ? PoolMode::kTransaction : PoolMode::kSession;
  const std::string state = cl.Value("--session-state", "refuse");
  if (state != "refuse" && state != "pin") {
    std::cerr << "--session-state: '" << state << "' is not refuse or pin\n";
    return 2;
  }
  ctx.spec.proxy.pool.sessionState = state == "pin" ? SessionStatePolicy::kPin : SessionStatePolicy::kRefuse;
  ctx.spec.proxy.maxUnauthenticatedConnections = 20000;  // connection storms are part of the benchmark
  std::string trust_file;
  ctx.spec.proxy.auth.hbaFile = cl.Value("--hba", "");
  if (ctx.spec.proxy.auth.hbaFile.empty()) {
    char tmpl[] = "/tmp/pgvigil-proxy-bench-hba-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) {
      std::cerr << "cannot create a hba file\n";
      return 1;
    }
    const std::string rules = "host all all 127.0.0.1/32 trust\n";
    bool written = write(fd, rules.data(), rules.size()) == ssize_t(rules.size());
    close(fd);
    if (!written) return 1;
    trust_file = ctx.spec.proxy.auth.hbaFile = tmpl;
  }
  std::stringstream nodes(cl.Value("--nodes"));
  std::string item;
  int i = 0;
  while (std::getline(nodes, item, ',')) {
    NodeSpec n;
    n.name = "node" + std::to_string(i++);
    n.host = item.substr(0, item.find(':'));
    n.port = std::stoi(item.substr(item.find(':') + 1));
    n.proxyPort = std::stoi(cl.Value("--port", "9999"));
    ctx.spec.nodes.push_back(n);
  }
  if (ctx.spec.nodes.empty()) {
    std::cerr << "usage: pgvigil-proxy-bench --port P --nodes host:port[,host:port...] [--threads N] [--hba FILE]"
                 " [--no-load-balance] [--no-read-your-writes] [--health-check MS] [--pool-max-idle N] [--pool-idle-timeout MS]"
                 " [--pool-mode session|transaction] [--pool-size N] [--session-state refuse|pin]\n";
    return 2;
  }
  ctx.nodeName = "node0";
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);
  proxy::ProxyServer server(ctx);
  if (Status s = server.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  for (size_t k = 0; k < ctx.spec.nodes.size(); ++k) {
    BackendHealth h;
    h.node = ctx.spec.nodes[k].name;
    h.up = true;
    h.role = k == 0 ? BackendRole::kPrimary : BackendRole::kStandby;
    h.lastCheck = std::chrono::system_clock::now();
    ctx.health->Update(h);
  }
  server.RefreshRouting();
  std::unique_ptr<HealthChecker> checker;
  if (int ms = std::stoi(cl.Value("--health-check", "0")); ms > 0) {
    ctx.spec.healthCheck.period = std::chrono::milliseconds(ms);
    checker = std::make_unique<HealthChecker>(ctx.spec, ctx.nodeName, ctx.health, ctx.metrics);
    if (Status s = checker->Start(); !s.ok()) {
      std::cerr << "health checker: " << s.message() << "\n";
      server.Stop();
      return 1;
    }
  }
  int sig = 0;
  sigwait(&stop, &sig);
  if (checker) checker->Stop();
  server.Stop();
  if (!trust_file.empty()) unlink(trust_file.c_str());
  return 0;
}
