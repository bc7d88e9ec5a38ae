#include "sidecar/proxy/proxy_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <future>

#include <unistd.h>

#include "common/sidecar_status.h"
#include "sidecar/proxy/pool_nodes.h"
#include "sidecar/proxy/proxy_component.h"
#include "sidecar/proxy/proxy_threads.h"
#include "sidecar/proxy/routing_check.h"
#include "sidecar/proxy/session.h"
#include "sidecar/watchdog/watchdog_api.h"

namespace pgvigil::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

ProxyServer::ProxyServer(SidecarContext& ctx) : ctx_(ctx) {
  shared_.spec = ctx.spec;
  shared_.nodeName = ctx.nodeName;
  shared_.health = ctx.health;
  shared_.metrics = std::make_unique<ProxyMetrics>(*ctx.metrics);
  for (const auto& f : ctx.spec.proxy.loadBalancing.readOnlyFunctions) shared_.classifier.readOnlyFunctions.insert(f);
  for (const auto& f : ctx.spec.proxy.loadBalancing.writeFunctions) shared_.classifier.writeFunctions.insert(f);
}

ProxyServer::~ProxyServer() { Stop(); }

Status ProxyServer::Start() {
  const ProxySpec& ps = ctx_.spec.proxy;
  if (ps.auth.hbaFile.empty()) {
    // No trust unless a hba file says so: every client proves its password.
    shared_.hba = std::make_shared<HbaRules>(HbaRules::ScramEverywhere());
    spdlog::info("proxy: no spec.proxy.auth.hbaFile: scram-sha-256 for every client connection");
  } else {
    auto h = HbaRules::Load(ps.auth.hbaFile);
    if (!h.ok()) return h.status().Context("proxy hba file");
    shared_.hba = std::make_shared<HbaRules>(std::move(*h));
  }
  if (!ps.auth.passwordFile.empty()) {
    auto p = LoadPasswordFile(ps.auth.passwordFile, ps.auth.keyFile);
    if (!p.ok()) return p.status().Context("proxy password file");
    for (const auto& w : p->warnings) spdlog::warn("proxy: {}: {}", ps.auth.passwordFile, w);
    shared_.passwords = std::make_shared<PasswordFile>(std::move(*p));
  }
  if (ps.tls.enabled()) {
    try {
      auto c = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
      c->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      c->use_certificate_chain_file(ps.tls.certFile);
      c->use_private_key_file(ps.tls.keyFile, asio::ssl::context::pem);
      shared_.tls = c;
    } catch (const std::exception& e) {
      return Status::Error(std::string("proxy TLS: ") + e.what());
    }
  }
  const NodeSpec* self = ctx_.spec.FindNode(ctx_.nodeName);
  port_ = self ? ctx_.spec.ProxyPort(*self) : ps.port;
  unsigned n = unsigned(ps.threads);
  if (n == 0) {
    const CpuBudget cpus = ReadCpuBudget();
    n = DefaultProxyThreads(cpus);
    spdlog::info("proxy: {}", DescribeDefaultThreads(cpus));
  }
  shared_.workerCount = int(n);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(ps.listen, ec);
  if (ec) return Status::Error("proxy listen address '" + ps.listen + "': " + ec.message());
  tcp::endpoint ep(addr, uint16_t(port_));
  for (unsigned i = 0; i < n; ++i) {
    try {
      workers_.push_back(std::make_unique<Worker>(&shared_, int(i)));
    } catch (const std::exception& e) {  // no eventfd for its mailbox (out of descriptors)
      DropWorkers();
      return Status::Error(std::string("proxy worker: ") + e.what());
    }
    shared_.workers.push_back(workers_.back().get());
    auto acc = std::make_unique<tcp::acceptor>(workers_.back()->io);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    // listen "::": dual stack (IPv4 clients too), whatever net.ipv6.bindv6only says.
    if (!ec && addr.is_v6() && addr.is_unspecified()) acc->set_option(asio::ip::v6_only(false), ec);
    int one = 1;
    if (!ec) ::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(1024, ec);
    if (ec) {
      acc.reset();
      DropWorkers();
      return Status::Error("proxy cannot listen on " + ps.listen + ":" + std::to_string(port_) + ": " + ec.message());
    }
    acceptors_.push_back(std::move(acc));
    acceptTimers_.push_back(std::make_unique<asio::steady_timer>(workers_.back()->io));
    sweepTimers_.push_back(std::make_unique<asio::steady_timer>(workers_.back()->io));
  }
  acceptBackoff_.assign(workers_.size(), AcceptBackoff());
  RefreshRouting();
  for (size_t i = 0; i < workers_.size(); ++i) {
    Accept(i);
    workers_[i]->StartIdleSweep();
    ScheduleSweep(i);
  }
  refreshTimer_ = std::make_unique<asio::steady_timer>(workers_[0]->io);
  ScheduleRefresh();
  for (auto& w : workers_) {
    Worker* wp = w.get();
    threads_.emplace_back([wp] {
      for (;;) {
        try {
          wp->io.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("proxy: worker loop error: {}", e.what());
        }
      }
    });
  }
  started_ = true;
  if (ctx_.membership)
    membershipSub_ = ctx_.membership->Subscribe(
        [this](const std::shared_ptr<const NodeList>&, uint64_t) { OnMembers(); });
  spdlog::info("proxy listening on {}:{} with {} worker(s)", ps.listen, port_, workers_.size());
  return Status::Ok();
}

void ProxyServer::DropWorkers() {
  acceptors_.clear();  // the workers' objects before their io_contexts
  acceptTimers_.clear();
  sweepTimers_.clear();
  workers_.clear();
  shared_.workers.clear();
}

void ProxyServer::Accept(size_t i) {
  Worker* w = workers_[i].get();
  acceptors_[i]->async_accept(w->io, [this, i, w](const boost::system::error_code& ec, WorkerSocket sock) {
    if (ec == asio::error::operation_aborted) return;
    AcceptBackoff& b = acceptBackoff_[i];
    if (!ec) {
      if (b.Succeeded())
        spdlog::info("proxy: accepting connections again (after {} failed accept(s))", b.lastRunFailures());
      shared_.metrics->accepted.Inc();
      // The kernel spreads connections over the SO_REUSEPORT listeners by a
      // hash of the addresses, unevenly for a few dozen clients (25 and 38 of
      // 63 in bench/proxy_counts.sh): the connection goes to the worker with
      // the fewest sessions, this one when tied.
      Worker* to = w;
      for (auto& o : workers_)
        if (o->openSessions.load(std::memory_order_relaxed) < to->openSessions.load(std::memory_order_relaxed))
          to = o.get();
      if (to == w) {
        std::make_shared<ClientSession>(w, std::move(sock))->Start();
      } else {
        boost::system::error_code rec;
        const tcp::endpoint::protocol_type proto = sock.local_endpoint(rec).protocol();
        const int fd = rec ? -1 : sock.release(rec);
        if (fd < 0 || rec) {
          std::make_shared<ClientSession>(w, std::move(sock))->Start();
        } else {
          // Closed with the handler if it never runs (the proxy stopping).
          struct OwnedFd {
            int fd = -1;
            ~OwnedFd() {
              if (fd >= 0) ::close(fd);
            }
          };
          auto owned = std::make_shared<OwnedFd>();
          owned->fd = fd;
          to->openSessions.fetch_add(1, std::memory_order_relaxed);  // counted now: the next accept sees it
          to->Post([to, owned, proto] {
            to->openSessions.fetch_sub(1, std::memory_order_relaxed);  // Start counts it
            WorkerSocket moved(to->io);
            boost::system::error_code aec;
            moved.assign(proto, owned->fd, aec);
            if (aec) return;
            owned->fd = -1;
            std::make_shared<ClientSession>(to, std::move(moved))->Start();
          });
        }
      }
      Accept(i);
      return;
    }
    shared_.metrics->acceptFailures.Inc();
    // Out of descriptors or memory: the connection stays queued and accept()
    // would fail again at once; wait (50 ms doubling to 1 s) instead of spinning.
    const int e = ec.category() == boost::system::system_category() ? ec.value() : 0;
    const bool resource = e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
    AcceptBackoff::Step step = b.Failed(std::chrono::steady_clock::now(), resource);
    if (step.warn)
      spdlog::warn("proxy: accept failed: {} ({} failure(s) since the last warning; {}next warning in {} s at the "
                   "earliest)",
                   ec.message(), step.failuresSinceWarn,
                   resource ? "retrying with a back-off of up to 1 s; " : "", AcceptBackoff::kWarnEvery.count());
    if (step.wait.count() == 0) return Accept(i);
    acceptTimers_[i]->expires_after(step.wait);
    acceptTimers_[i]->async_wait([this, i](const boost::system::error_code& tec) {
      if (!tec) Accept(i);
    });
  });
}

void ProxyServer::ScheduleSweep(size_t i) {
  const auto timeout = ctx_.spec.proxy.authenticationTimeout;
  auto period = std::clamp(timeout / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  sweepTimers_[i]->expires_after(period);
  sweepTimers_[i]->async_wait([this, i, timeout](const boost::system::error_code& ec) {
    if (ec) return;
    Worker* w = workers_[i].get();
    auto now = std::chrono::steady_clock::now();
    while (!w->unauthenticated.empty() && now - w->unauthenticated.front()->acceptedAt() >= timeout)
      w->unauthenticated.front()->CloseUnauthenticated(false);
    ScheduleSweep(i);
  });
}

void ProxyServer::ScheduleRefresh() {
  refreshTimer_->expires_after(std::chrono::milliseconds(100));
  refreshTimer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    RefreshRouting(false);
    ScheduleRefresh();
  });
}

// The watchdog's view that can invalidate the table in effect (see WriteFenceReason).
std::string ProxyServer::WriteFence(const RoutingTable& table, bool fromController) const {
  FenceInputs f;
  if (ctx_.watchdog) {
    f.watchdogEnabled = true;
    WatchdogApi::Leadership l = ctx_.watchdog->GetLeadership();
    f.quorum = l.quorum;
    f.leader = l.leader;
    f.registerCurrent = l.registerCurrent;
    if (ctx_.kubernetes) {
      f.self = ctx_.nodeName;
      f.selfLeaseLost = !ctx_.watchdog->GetWriteLease().Held(std::chrono::steady_clock::now());
    }
    FenceFromClusterState(ctx_.watchdog->ReadRegister().doc, &f);
  }
  return WriteFenceReason(f, table, fromController);
}

void ProxyServer::RefreshRouting(bool wait) {
  RoutingInputs in;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (controllerTable_) {
      in.table = *controllerTable_;
      in.fromController = true;
    }
  }
  if (!in.fromController) {
    const auto members = ctx_.Nodes();  // the members now (PUT /v1/node/spec); held while read
    for (const auto& n : *members)
      in.table.nodes.push_back({n.name, n.host, ctx_.spec.PgPort(n), n.noLoadBalance ? 0 : n.weight, true});
  }
  in.health = ctx_.health->Snapshot();
  in.writeFence = WriteFence(in.table, in.fromController);
  in.delayThreshold = ctx_.spec.proxy.loadBalancing.delayThreshold;
  in.loadBalance = ctx_.spec.proxy.loadBalancing.enabled;
  std::shared_ptr<const EffectiveRouting> r = std::make_shared<EffectiveRouting>(ComputeRouting(in));
  if (!shared_.PublishRouting(r)) r = shared_.Routing();  // the same: sessions keep the one they hold
  std::string sig = std::to_string(r->generation) + "|" +
                    (r->primary >= 0 ? r->nodes[size_t(r->primary)].node.name : "-");
  for (const auto& n : r->nodes)
    sig += "|" + n.node.name + ":" + (n.up ? "u" : "d") + std::to_string(int(n.healthRole)) + (n.lbEligible ? "e" : "-");
  bool changed = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (sig != routingSignature_) {
      if (!routingSignature_.empty())
        spdlog::info("proxy: routing now {} (primary {}{})", sig,
                     r->primary >= 0 ? r->nodes[size_t(r->primary)].node.name : "none",
                     r->primary >= 0 ? "" : ": " + r->noPrimaryReason);
      routingSignature_ = sig;
      changed = true;
    }
  }
  if (!changed) return;
  std::vector<std::future<void>> done;
  for (auto& w : workers_) {
    Worker* wp = w.get();
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    wp->Post([wp, r, promise] {
      std::vector<ClientSession*> sessions(wp->sessions.begin(), wp->sessions.end());
      for (auto* s : sessions)
        if (wp->sessions.count(s)) s->OnRoutingChanged(*r);
      promise->set_value();
    });
  }
  if (wait && started_)
    for (auto& f : done) f.wait_for(std::chrono::seconds(2));
}

void ProxyServer::Stop() {
  if (!started_) return;
  started_ = false;
  if (membershipSub_) ctx_.membership->Unsubscribe(membershipSub_);
  membershipSub_ = 0;
  // Through the mailbox, as every way into a worker from another thread:
  // stop() runs on each loop's own thread (it ends run() once that handler
  // returns), which stays right under a lock-free kWorkerConcurrencyHint.
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->Post([wp] { wp->io.stop(); });
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  // After the loops: an answer its thread still delivers waits in a mailbox
  // no loop reads, and is destroyed with it.
  for (auto& w : workers_) w->resolver.Stop();
  for (auto& w : workers_) {
    std::vector<ClientSession*> open(w->sessions.begin(), w->sessions.end());
    w->sessions.clear();
    w->unauthenticated.clear();
    for (auto* s : open) s->Abandon();
  }
  refreshTimer_.reset();
  acceptTimers_.clear();
  sweepTimers_.clear();
  acceptors_.clear();
  workers_.clear();
  shared_.workers.clear();
  spdlog::info("proxy stopped");
}

std::vector<int> ProxyServer::WorkerSessions() const {
  std::vector<int> v;
  for (const auto& w : workers_) v.push_back(w->openSessions.load(std::memory_order_relaxed));
  return v;
}

// components.proxy of GET /v1/status (common/sidecar_status.h).
web::json::value ProxyServer::Summary() const {
  ProxySummary v;
  auto r = shared_.Routing();
  v.port = port_;
  v.clients = shared_.clientCount.load();
  v.routingGeneration = r->generation;
  v.primary = r->primary >= 0 ? r->nodes[size_t(r->primary)].node.name : "";
  if (r->primary < 0) v.noPrimaryReason = r->noPrimaryReason;
  v.paused = Paused();
  v.inTransaction = SessionsInTransaction();
  v.workerSessions = WorkerSessions();
  size_t i = 0;
  for (const auto& row : PoolNodes()) {
    ProxySummaryNode n;
    n.node = r->nodes[i].node.name;
    n.status = row.status;
    n.role = row.role;
    n.selectCount = shared_.SelectCount(r->nodes[i].node.name);
    n.loadBalance = r->nodes[i].lbEligible;
    if (!n.loadBalance) n.why = r->nodes[i].why;
    v.nodes.push_back(n);
    ++i;
  }
  return pgvigil::ToJson(v);
}

Status ProxyServer::CheckRouting(const RoutingTable& table) const {
  // Against the members in use now: a table naming a node that joined after
  // the start is accepted once PUT /v1/node/spec brought it in.
  return CheckRoutingAgainstSpec(ctx_.LiveSpec(), table);
}

void ProxyServer::OnMembers() {
  std::vector<std::string> dropped;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!controllerTable_) return;
    *controllerTable_ = KeepMembers(ctx_.LiveSpec(), *controllerTable_, &dropped);
    generation = controllerTable_->generation;
  }
  if (dropped.empty()) return;
  std::string names;
  for (const auto& n : dropped) names += (names.empty() ? "" : ", ") + n;
  spdlog::info("proxy: routing table generation {}: {} left the membership, no longer routed", generation, names);
  RefreshRouting();
}

Status ProxyServer::SetRouting(const RoutingTable& table) {
  if (Status s = CheckRouting(table); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (controllerTable_ && table.generation <= controllerTable_->generation)
      return Status::Error("routing generation " + std::to_string(table.generation) + " is not newer than " +
                           std::to_string(controllerTable_->generation));
    bool found = table.primary.empty();
    for (const auto& n : table.nodes) found = found || n.name == table.primary;
    if (!found) return Status::Error("primary '" + table.primary + "' is not among the table's nodes");
    controllerTable_ = table;
  }
  spdlog::info("proxy: routing table generation {} installed (primary '{}')", table.generation, table.primary);
  RefreshRouting();
  return Status::Ok();
}

RoutingTable ProxyServer::Routing() const {
  auto r = shared_.Routing();
  RoutingTable t;
  t.generation = r->generation;
  if (r->primary >= 0) t.primary = r->nodes[size_t(r->primary)].node.name;
  for (const auto& n : r->nodes) {
    RouteNode rn = n.node;
    rn.up = n.up;
    t.nodes.push_back(rn);
  }
  return t;
}

void ProxyServer::PauseNewTransactions() {
  shared_.pausedSinceMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count();
  shared_.paused = true;
  spdlog::info("proxy: new transactions paused (limit {} ms)", ctx_.spec.proxy.pauseLimit.count());
}

void ProxyServer::ResumeNewTransactions() {
  shared_.resumedAtMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  shared_.paused = false;
  spdlog::info("proxy: new transactions resumed ({} session(s) in a transaction on the primary)",
               SessionsInTransaction());
}

bool ProxyServer::Paused() const { return shared_.HoldNewTransactions(); }

std::vector<PoolNodeRow> ProxyServer::PoolNodes() const {
  return BuildPoolNodes(shared_, *shared_.Routing(), "");
}

}  // namespace pgvigil::proxy

namespace pgvigil {
std::unique_ptr<Component> MakeProxyComponent(SidecarContext& ctx) {
  ctx.InitMembership();
  auto p = std::make_unique<proxy::ProxyServer>(ctx);
  ctx.proxy = p.get();
  return p;
}
}  // namespace pgvigil
