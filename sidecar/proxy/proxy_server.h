// ProxyServer: owns the worker threads (one io_context each, all accepting on
// the same port with SO_REUSEPORT), the shared state, and the routing refresh
// (every 100 ms from the health view, or at once on SetRouting). Start/Stop from
// the owner's thread; ProxyApi methods are thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

#include "sidecar/component.h"
#include "sidecar/proxy/accept_backoff.h"
#include "sidecar/proxy/proxy_api.h"
#include "sidecar/proxy/proxy_shared.h"

namespace pgvigil::proxy {

class ProxyServer : public Component, public ProxyApi {
 public:
  explicit ProxyServer(SidecarContext& ctx);
  ~ProxyServer() override;

  const char* name() const override { return "proxy"; }
  Status Start() override;
  void Stop() override;
  web::json::value Summary() const override;

  Status SetRouting(const RoutingTable& table) override;
  Status CheckRouting(const RoutingTable& table) const override;
  RoutingTable Routing() const override;
  void PauseNewTransactions() override;
  void ResumeNewTransactions() override;
  bool Paused() const override;
  std::vector<PoolNodeRow> PoolNodes() const override;
  int ClientConnections() const override { return shared_.clientCount.load(); }
  int SessionsInTransaction() const override { return shared_.primaryBusySessions.load(); }

  int port() const { return port_; }
  // Open client sessions per worker (new connections go to the worker with the fewest).
  std::vector<int> WorkerSessions() const;
  // Recomputes routing now (tests call it after changing the health view). With
  // wait, returns once every worker has closed sessions bound to an old primary
  // (never call with wait from a worker thread).
  void RefreshRouting(bool wait = true);

 private:
  std::string WriteFence(const RoutingTable& table, bool fromController) const;
  void Accept(size_t worker);
  // A Start that failed part way: what it made, before any thread ran.
  void DropWorkers();
  void ScheduleRefresh();
  // Closes each worker's connections past proxy.authenticationTimeout (on that
  // worker's thread, oldest first).
  void ScheduleSweep(size_t worker);

  SidecarContext& ctx_;
  ProxyShared shared_;
  int port_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<AcceptBackoff> acceptBackoff_;                                // per acceptor, its worker's thread
  std::vector<std::unique_ptr<boost::asio::steady_timer>> acceptTimers_;   // per acceptor
  std::vector<std::unique_ptr<boost::asio::steady_timer>> sweepTimers_;    // per worker
  std::vector<std::thread> threads_;
  std::unique_ptr<boost::asio::steady_timer> refreshTimer_;
  bool started_ = false;

  mutable std::mutex mu_;
  std::optional<RoutingTable> controllerTable_;  // guarded by mu_
  int membershipSub_ = 0;  // ctx.membership: OnMembers
  // The membership changed: the installed table keeps only members (KeepMembers).
  void OnMembers();
  std::string routingSignature_;                 // guarded by mu_
};

}  // namespace pgvigil::proxy
