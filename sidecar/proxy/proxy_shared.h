// State shared by every worker thread of the proxy (configuration, auth data,
// the current routing, counters, cancel keys) and the per-worker state (one
// io_context per thread with its sessions and idle backend pool). ProxyShared
// is thread-safe as documented per member; a Worker is touched only from its
// own thread.
#pragma once

#include "sidecar/health_view.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "common/metrics.h"
#include "common/spec.h"
#include "sidecar/proxy/avoid_list.h"
#include "sidecar/proxy/function_volatility.h"
#include "sidecar/proxy/hba.h"
#include "sidecar/proxy/host_resolver.h"
#include "sidecar/proxy/idle_pool.h"
#include "sidecar/proxy/pool_passwd.h"
#include "sidecar/proxy/routing.h"
#include "sidecar/proxy/scram.h"
#include "sidecar/proxy/sql_classifier.h"
#include "sidecar/proxy/tracked_params.h"
#include "sidecar/proxy/tx_backends.h"
#include "sidecar/proxy/wire_messages.h"
#include "sidecar/proxy/worker_mailbox.h"

namespace pgvigil::proxy {

class BackendConn;
class ClientSession;
struct Worker;

struct ProxyMetrics {
  explicit ProxyMetrics(MetricsRegistry& r);
  Gauge& clients;
  Counter& accepted;
  Counter& refusedMaxClients;
  Gauge& unauthenticated;
  Counter& unauthTimedOut;
  Counter& unauthEvicted;
  Counter& acceptFailures;
  Counter& authOk;
  Counter& authFailedPassword;
  Counter& authRejectedHba;
  Counter& protocolErrors;
  Counter& backendConnects;
  Counter& backendConnectFailures;
  Counter& backendReused;
  Counter& writesRefusedNoPrimary;
  Counter& sessionsClosedPrimaryChange;
  Counter& sessionsMovedPrimaryChange;
  Counter& cancelRequests;
  Counter& readsToStandby;
  Counter& readsToPrimary;
  Counter& poolWaits;
  Counter& poolWaitsRoutedOnce;
  Counter& poolGrantsAtHandlerEnd;
};

// A cancel key the proxy handed to a client: the client's session and its
// worker. A cancel request is posted to that worker, where the session sends
// it on to the backends it holds at that moment (ClientSession::ForwardCancel):
// nothing is shared or locked while a session attaches and releases backends
// (transaction pooling does so for every transaction). Set before the key is
// registered, constant after.
struct CancelTargets {
  Worker* worker = nullptr;
  std::weak_ptr<ClientSession> session;
};

struct ProxyShared {
  ClusterSpec spec;
  std::string nodeName;
  ClassifierConfig classifier;
  FunctionVolatility volatility;  // thread-safe
  std::shared_ptr<const HbaRules> hba;
  std::shared_ptr<const PasswordFile> passwords;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: TLS not offered
  ScramKeyCache backendKeys;                        // thread-safe
  std::unique_ptr<ProxyMetrics> metrics;
  std::shared_ptr<HealthView> health;  // the sidecar's; asked to check at once when a backend dies
  std::chrono::system_clock::time_point startTime = std::chrono::system_clock::now();

  // Routing in effect; replaced wholesale (atomic shared_ptr load/store: a
  // lock from libstdc++'s pool). Sessions read Worker::Routing() instead.
  std::shared_ptr<const EffectiveRouting> Routing() const { return std::atomic_load(&routing_); }
  // Publishes r unless the snapshot in effect is the same (SameRouting): then
  // that one stays, and false. Thread-safe.
  bool PublishRouting(std::shared_ptr<const EffectiveRouting> r);
  // Moves on every publication (after the store).
  uint64_t RoutingVersion() const { return routingVersion_.load(std::memory_order_acquire); }

  // SELECTs routed per node name (select_cnt). Thread-safe.
  std::atomic<uint64_t>& SelectCounter(const std::string& node);
  uint64_t SelectCount(const std::string& node) const;

  // Pause of new transactions (switchover). Thread-safe.
  std::atomic<bool> paused{false};
  std::atomic<int64_t> pausedSinceMs{0};  // steady clock ms
  bool HoldNewTransactions() const;
  std::atomic<int64_t> resumedAtMs{0};  // steady clock ms of the last resume (0: never)
  // A statement that needs the primary while routing confirms none waits rather
  // than failing: while new transactions are held, and for up to pauseLimit after
  // a resume (the proxy confirms the new primary with a health check that may
  // come a moment after the controller's publication and resume).
  bool AwaitPrimary() const;
  // Sessions with a transaction or a statement in progress on their primary
  // backend (a switchover waits for none before stopping the old primary).
  std::atomic<int> primaryBusySessions{0};

  // Cancel keys. Thread-safe. RegisterCancel refuses (false) a key in use.
  bool RegisterCancel(uint64_t key, std::shared_ptr<CancelTargets> t);
  void UnregisterCancel(uint64_t key);
  std::shared_ptr<CancelTargets> FindCancel(uint64_t key) const;

  std::atomic<int> clientCount{0};           // authenticated sessions (maxClientConnections)
  std::atomic<int> unauthenticatedCount{0};  // sessions before the end of authentication
  int workerCount = 1;                       // set by the server before any session starts
  // Each worker's share of spec.proxy.maxUnauthenticatedConnections.
  size_t UnauthenticatedShare() const;
  // Idle pooled backends of every worker together (capped by spec.proxy.pool.maxIdle).
  std::atomic<int> idleBackends{0};
  // Every worker, set by the server before any session starts and constant
  // while they run (the admin console asks each for its rows on its thread).
  std::vector<Worker*> workers;
  bool TransactionPooling() const { return spec.proxy.pool.mode == PoolMode::kTransaction; }

 private:
  std::shared_ptr<const EffectiveRouting> routing_ = std::make_shared<EffectiveRouting>();
  std::atomic<uint64_t> routingVersion_{0};
  std::mutex publishMu_;  // one PublishRouting at a time (compare, then store)
  mutable std::mutex countersMu_;
  std::map<std::string, std::unique_ptr<std::atomic<uint64_t>>> selectCounts_;  // guarded (insert only)
  mutable std::mutex cancelMu_;
  std::unordered_map<uint64_t, std::shared_ptr<CancelTargets>> cancels_;  // guarded by cancelMu_
};

// One event loop thread.
struct Worker {
  // index: this worker's place among s->workerCount (its share of proxy.pool.size).
  Worker(ProxyShared* s, int index);
  ProxyShared* shared;
  // Run by this worker's thread alone, and every socket and timer of it is
  // touched from that thread only (a connection handed over by another
  // worker's acceptor arrives as a bare descriptor, see ProxyServer::Accept):
  // Asio's locks are off (kWorkerConcurrencyHint, worker_mailbox.h).
  // No other thread posts to io, stops it or touches its objects; they go
  // through Post (the mailbox).
  boost::asio::io_context io{kWorkerConcurrencyHint};
  WorkerMailbox mailbox{io};
  // Runs f on this worker's thread: posted to io from that thread, through
  // the mailbox from any other (routing changes, a connection handed over, a
  // cancel request, the admin console's gather, Stop: none per transaction).
  void Post(std::function<void()> f);
  // Backends' host names, looked up on a thread of its own and answered
  // through Post (host_resolver.h): Asio's resolver needs the scheduler's lock
  // this loop runs without. Declared after the mailbox, so destroyed (its
  // thread joined) before it; ProxyServer::Stop stops it first anyway.
  HostResolver resolver{[this](std::function<void()> f) { Post(std::move(f)); }};
  std::set<ClientSession*> sessions;
  // The numbers of the clients' values of the parameters that follow them
  // (ClientSession::paramsStamp_ and BackendConn::paramsStamp, transaction
  // pooling): equal values, one number, on this worker.
  TrackedValuesIds paramsIds;
  // sessions.size(), readable from other workers' threads: an accepting worker
  // hands a new connection to the worker with the fewest (ProxyServer::Accept).
  std::atomic<int> openSessions{0};
  // Sessions that have not finished startup + authentication, oldest first
  // (each session keeps its own iterator; see ClientSession::Start/Close).
  std::list<ClientSession*> unauthenticated;
  // Rate limit of the warning about unauthenticated connections the proxy closed.
  std::chrono::steady_clock::time_point unauthWarnedAt{};
  uint64_t unauthClosedSinceWarn = 0;
  // Idle backend connections by login key (node|user|db|params), reset with DISCARD ALL.
  IdlePool<std::shared_ptr<BackendConn>> idle;
  // ParameterStatus set last seen per login key without node (for logins without a backend).
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>> paramCache;
  // Nodes this worker avoids for a while (a connect there failed).
  AvoidList avoidUntil;
  std::mt19937_64 rng;
  // The routing snapshot as this worker last loaded it: reloaded (one lock in
  // ProxyShared::Routing) only when RoutingVersion moved, about every 100 ms
  // with the refresh, not for every message.
  std::shared_ptr<const EffectiveRouting> Routing() {
    uint64_t v = shared->RoutingVersion();
    if (v != routingSeen_ || !routing_) {
      routing_ = shared->Routing();
      routingSeen_ = v;
      routingSerial_ = NextRoutingSerial();
    }
    return routing_;
  }
  // The snapshot Routing() holds now, and a number for that load of it: a
  // new one at every load, never reused in the process (answers computed from
  // a snapshot can be remembered by it; see ClientSession::StandbyIndex).
  const EffectiveRouting* RoutingHeld() const { return routing_.get(); }
  uint64_t RoutingSerial() const { return routingSerial_; }
  // Routing() would return the snapshot of load `serial` now, without loading
  // it (no reference count): that load is the one held and RoutingVersion has
  // not moved since.
  bool RoutingStill(uint64_t serial) const {
    return serial == routingSerial_ && routing_ && shared->RoutingVersion() == routingSeen_;
  }
  // Transaction pooling (proxy.pool.mode transaction); null in session mode.
  std::shared_ptr<TxBackends> tx;
  // Transaction pooling: the proxy's name for each distinct prepared statement
  // (query text and parameter types), shared by every client of this worker.
  // At most max(10000, 10 x proxy.pool.maxPreparedStatements) texts; then it
  // starts afresh (statementSeq numbers the names, never reused).
  std::unordered_map<std::string, std::string> statementNames;
  uint64_t statementSeq = 0;
  const std::string& StatementName(std::string_view definition);
  // ... and those a backend of this worker completed a Parse of, per login
  // (user, database, options, then the name): a client's Parse of one of them
  // with the same login outside a transaction is answered by the proxy, and
  // parsed on a backend when the client uses it (a client library that
  // prepares with a blocking call must not wait for a backend then, while its
  // other connections hold the pool's backends in their transactions).
  std::unordered_set<std::string> parsedOk;
  std::shared_ptr<BackendConn> TakeIdle(const std::string& key);
  void PutIdle(const std::string& key, std::shared_ptr<BackendConn> b);
  size_t IdleCount() const { return idle.size(); }
  // Closes idle backends past spec.proxy.pool.idleTimeout, every second (worker thread).
  void StartIdleSweep();

 private:
  void SweepIdle();
  std::unique_ptr<boost::asio::steady_timer> sweepTimer_;
  static uint64_t NextRoutingSerial() {
    static std::atomic<uint64_t> serial{0};
    return serial.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  std::shared_ptr<const EffectiveRouting> routing_;
  uint64_t routingSeen_ = 0;
  uint64_t routingSerial_ = 0;
};

// The worker's routing snapshot, loaded (Worker::Routing) on first use and
// held until destroyed: a dispatch that needs none (a message of a sequence
// pinned to the standby) costs no load and no reference count. One dispatch
// on the worker's thread.
class RoutingOnUse {
 public:
  explicit RoutingOnUse(Worker* w) : worker_(w) {}
  const EffectiveRouting& operator*() { return *Get(); }
  const EffectiveRouting* operator->() { return Get(); }
  // The snapshot itself, loaded if need be (to hold it past this dispatch).
  const std::shared_ptr<const EffectiveRouting>& Held() {
    Get();
    return held_;
  }

 private:
  const EffectiveRouting* Get() {
    if (!held_) held_ = worker_->Routing();
    return held_.get();
  }
  Worker* worker_;
  std::shared_ptr<const EffectiveRouting> held_;
};

}  // namespace pgvigil::proxy
