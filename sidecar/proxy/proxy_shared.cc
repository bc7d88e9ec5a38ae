#include "sidecar/proxy/proxy_shared.h"

#include <algorithm>

#include "sidecar/proxy/backend_conn.h"
#include "sidecar/proxy/tx_statement_names.h"

namespace pgvigil::proxy {

ProxyMetrics::ProxyMetrics(MetricsRegistry& r)
    : clients(r.GetGauge("pgvigil_proxy_client_connections", "Client connections open")),
      accepted(r.GetCounter("pgvigil_proxy_accepted_total", "Client connections accepted")),
      refusedMaxClients(r.GetCounter("pgvigil_proxy_refused_total", "Client connections refused",
                                     "reason=\"max_clients\"")),
      unauthenticated(r.GetGauge("pgvigil_proxy_unauthenticated_connections",
                                 "Client connections that have not finished startup and authentication")),
      unauthTimedOut(r.GetCounter("pgvigil_proxy_unauthenticated_closed_total",
                                  "Unauthenticated connections closed by the proxy", "reason=\"timeout\"")),
      unauthEvicted(r.GetCounter("pgvigil_proxy_unauthenticated_closed_total",
                                 "Unauthenticated connections closed by the proxy", "reason=\"evicted\"")),
      acceptFailures(r.GetCounter("pgvigil_proxy_accept_failures_total",
                                  "accept() failures on the proxy port (descriptors exhausted, ...)")),
      authOk(r.GetCounter("pgvigil_proxy_auth_total", "Client authentications", "result=\"ok\"")),
      authFailedPassword(r.GetCounter("pgvigil_proxy_auth_failures_total", "Client authentication failures",
                                      "reason=\"password\"")),
      authRejectedHba(r.GetCounter("pgvigil_proxy_auth_failures_total", "Client authentication failures",
                                   "reason=\"hba\"")),
      protocolErrors(r.GetCounter("pgvigil_proxy_protocol_errors_total", "Clients closed for protocol violations")),
      backendConnects(r.GetCounter("pgvigil_proxy_backend_connects_total", "New backend connections")),
      backendConnectFailures(
          r.GetCounter("pgvigil_proxy_backend_connect_failures_total", "Failed backend connections or logins")),
      backendReused(r.GetCounter("pgvigil_proxy_backend_reused_total", "Backend connections taken from the pool")),
      writesRefusedNoPrimary(r.GetCounter("pgvigil_proxy_writes_refused_total",
                                          "Statements refused because no primary is confirmed",
                                          "reason=\"no_primary\"")),
      sessionsClosedPrimaryChange(r.GetCounter("pgvigil_proxy_sessions_closed_total",
                                               "Sessions closed by the proxy", "reason=\"primary_changed\"")),
      sessionsMovedPrimaryChange(r.GetCounter("pgvigil_proxy_sessions_moved_total",
                                              "Idle sessions moved off a primary that changed or went away")),
      cancelRequests(r.GetCounter("pgvigil_proxy_cancel_requests_total", "Cancel requests received")),
      readsToStandby(r.GetCounter("pgvigil_proxy_reads_total", "Read statements routed", "target=\"standby\"")),
      readsToPrimary(r.GetCounter("pgvigil_proxy_reads_total", "Read statements routed", "target=\"primary\"")),
      poolWaits(r.GetCounter("pgvigil_proxy_pool_waits_total",
                             "Transaction pooling: times a client queued for a backend of a full pool")),
      poolWaitsRoutedOnce(r.GetCounter("pgvigil_proxy_pool_waits_routed_once_total",
                                       "Transaction pooling: waits whose statement was sent at the grant on the "
                                       "routing decision made before the wait (nothing it rests on changed)")),
      poolGrantsAtHandlerEnd(r.GetCounter("pgvigil_proxy_pool_grants_at_handler_end_total",
                                          "Transaction pooling: backends (or slots) handed to a queued client as the "
                                          "socket read handler that freed them returned, not posted behind the "
                                          "loop's other ready handlers")) {}

bool ProxyShared::PublishRouting(std::shared_ptr<const EffectiveRouting> r) {
  std::lock_guard<std::mutex> l(publishMu_);
  const auto now = Routing();
  if (now && r && SameRouting(*now, *r)) return false;
  std::atomic_store(&routing_, std::move(r));
  routingVersion_.fetch_add(1, std::memory_order_release);
  return true;
}

std::atomic<uint64_t>& ProxyShared::SelectCounter(const std::string& node) {
  std::lock_guard<std::mutex> l(countersMu_);
  auto& p = selectCounts_[node];
  if (!p) p = std::make_unique<std::atomic<uint64_t>>(0);
  return *p;
}

uint64_t ProxyShared::SelectCount(const std::string& node) const {
  std::lock_guard<std::mutex> l(countersMu_);
  auto it = selectCounts_.find(node);
  return it == selectCounts_.end() ? 0 : it->second->load(std::memory_order_relaxed);
}

bool ProxyShared::HoldNewTransactions() const {
  if (!paused.load()) return false;
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  return now - pausedSinceMs.load() < spec.proxy.pauseLimit.count();
}

bool ProxyShared::AwaitPrimary() const {
  if (HoldNewTransactions()) return true;
  int64_t resumed = resumedAtMs.load();
  if (resumed == 0) return false;
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  return now - resumed < spec.proxy.pauseLimit.count();
}

bool ProxyShared::RegisterCancel(uint64_t key, std::shared_ptr<CancelTargets> t) {
  std::lock_guard<std::mutex> l(cancelMu_);
  return cancels_.emplace(key, std::move(t)).second;
}

size_t ProxyShared::UnauthenticatedShare() const {
  size_t workers = size_t(std::max(1, workerCount));
  size_t cap = size_t(std::max(1, spec.proxy.maxUnauthenticatedConnections));
  return (cap + workers - 1) / workers;
}
void ProxyShared::UnregisterCancel(uint64_t key) {
  std::lock_guard<std::mutex> l(cancelMu_);
  cancels_.erase(key);
}
std::shared_ptr<CancelTargets> ProxyShared::FindCancel(uint64_t key) const {
  std::lock_guard<std::mutex> l(cancelMu_);
  auto it = cancels_.find(key);
  return it == cancels_.end() ? nullptr : it->second;
}

Worker::Worker(ProxyShared* s, int index)
    : shared(s),
      idle(&s->idleBackends, s->spec.proxy.pool.maxIdle, s->spec.proxy.pool.idleTimeout),
      rng(std::random_device{}()) {
  if (s->TransactionPooling())
    tx = std::make_shared<TxBackends>(this, s->spec.proxy.pool.size, s->workerCount, index);
}

void Worker::Post(std::function<void()> f) {
  if (io.get_executor().running_in_this_thread())
    boost::asio::post(io, std::move(f));
  else
    mailbox.Post(std::move(f));
}

const std::string& Worker::StatementName(std::string_view definition) {
  auto it = statementNames.find(std::string(definition));
  if (it != statementNames.end()) return it->second;
  // Bounded: past the limit the table starts afresh (names are never reused,
  // so a backend still holding an old one is never confused; clients that
  // prepare the same text later only share a new name).
  const size_t limit = size_t(std::max(10000, 10 * shared->spec.proxy.pool.maxPreparedStatements));
  if (statementNames.size() >= limit) {
    statementNames.clear();
    parsedOk.clear();
  }
  std::string name = std::string(kProxyStatementPrefix) + std::to_string(++statementSeq);
  return statementNames.emplace(std::string(definition), std::move(name)).first->second;
}

namespace {
bool Usable(const std::shared_ptr<BackendConn>& b) { return b && b->state() == BackendConn::State::kIdle; }
void CloseAll(std::vector<std::shared_ptr<BackendConn>>& v, const std::string& why) {
  for (auto& b : v)
    if (b) b->Close(why);
}
}  // namespace

std::shared_ptr<BackendConn> Worker::TakeIdle(const std::string& key) {
  std::vector<std::shared_ptr<BackendConn>> dead;
  auto b = idle.Take(key, Usable, &dead);
  CloseAll(dead, "closed while idle");
  return b;
}

void Worker::PutIdle(const std::string& key, std::shared_ptr<BackendConn> b) {
  auto out = idle.Put(key, std::move(b), std::chrono::steady_clock::now());
  CloseAll(out, "idle pool full (proxy.pool.maxIdle)");
}

void Worker::StartIdleSweep() {
  sweepTimer_ = std::make_unique<boost::asio::steady_timer>(io);
  SweepIdle();
}

void Worker::SweepIdle() {
  auto out = idle.Expire(std::chrono::steady_clock::now(), Usable);
  CloseAll(out, "idle longer than proxy.pool.idleTimeout");
  if (tx) tx->Sweep(shared->spec.proxy.pool.idleTimeout);
  sweepTimer_->expires_after(std::chrono::seconds(1));
  sweepTimer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) SweepIdle();
  });
}

}  // namespace pgvigil::proxy
