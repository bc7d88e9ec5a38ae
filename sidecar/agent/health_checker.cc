#include "sidecar/agent/health_checker.h"

#include <spdlog/spdlog.h>

#include "common/files.h"

namespace pgvigil {

namespace {
constexpr std::chrono::milliseconds kLostHostGrace{500};
constexpr std::chrono::milliseconds kMinCheckGap{50};
}  // namespace

std::optional<uint64_t> ReplayLag(const std::vector<BackendHealth>& view, uint64_t standby_lsn) {
  const BackendHealth* primary = nullptr;
  for (const auto& b : view) {
    if (!b.up || b.role != BackendRole::kPrimary) continue;
    if (!primary || b.timeline > primary->timeline) primary = &b;
  }
  if (!primary) return std::nullopt;
  return primary->lsn > standby_lsn ? primary->lsn - standby_lsn : 0;
}

bool RefusedConnection(const std::string& error) {
  // libpq's text for ECONNREFUSED, and a server that is going away (Pgpool's
  // failover_on_backend_shutdown). Other refusals (starting up, too many
  // clients) come from a server that stays: retried.
  return error.find("Connection refused") != std::string::npos ||
         error.find("the database system is shutting down") != std::string::npos;
}

HealthChecker::HealthChecker(const ClusterSpec& spec, std::string self,
                             std::shared_ptr<HealthView> view,
                             std::shared_ptr<MetricsRegistry> metrics)
    : spec_(spec),
      self_(std::move(self)),
      view_(std::move(view)),
      registry_(std::move(metrics)),
      metrics_(*registry_) {}

HealthChecker::~HealthChecker() { Stop(); }

Status HealthChecker::Start() {
  for (size_t i = 0; i < spec_.nodes.size(); ++i) {
    BackendHealth h;
    h.node = spec_.nodes[i].name;
    h.lastError = "not checked yet";
    view_->Update(h);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    selfLoopAt_ = std::chrono::steady_clock::now();  // alive from the start
    selfError_ = "not checked yet";
  }
  SetNodes(spec_.nodes);
  spdlog::info("agent: health checker started for {} backends (period {} ms, timeout {} ms, "
               "{} retries every {} ms)",
               spec_.nodes.size(), spec_.healthCheck.period.count(),
               spec_.healthCheck.timeout.count(), spec_.healthCheck.maxRetries,
               spec_.healthCheck.retryDelay.count());
  return Status::Ok();
}

void HealthChecker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard<std::mutex> nodes(nodesMu_);
  for (auto& t : threads_)
    if (t.thread.joinable()) t.thread.join();
  for (auto& t : retired_)
    if (t.joinable()) t.join();
  threads_.clear();
  retired_.clear();
}

void HealthChecker::SetNodes(const std::vector<NodeSpec>& nodes) {
  std::lock_guard<std::mutex> lock(nodesMu_);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
  }
  auto same = [this](const NodeSpec& a, const NodeSpec& b) {
    return a.name == b.name && a.host == b.host && spec_.PgPort(a) == spec_.PgPort(b);
  };
  std::vector<NodeThread> keep;
  for (auto& t : threads_) {
    bool stays = false;
    for (const auto& n : nodes) stays = stays || same(t.node, n);
    if (stays) {
      keep.push_back(std::move(t));
      continue;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      *t.leave = true;
    }
    spdlog::info("agent: health checks of {} stop: it left the membership", t.node.name);
    retired_.push_back(std::move(t.thread));
  }
  cv_.notify_all();
  for (const auto& n : nodes) {
    bool running = false;
    for (const auto& t : keep) running = running || same(t.node, n);
    if (running) continue;
    BackendHealth h;
    h.node = n.name;
    h.lastError = "not checked yet";
    BackendHealth had;
    if (!view_->Get(n.name, &had)) view_->Update(h);
    NodeThread t{n, std::make_shared<bool>(false), {}};
    t.thread = std::thread([this, n, leave = t.leave] { Loop(n, leave); });
    if (!threads_.empty()) spdlog::info("agent: health checks of {} ({}) start: it joined the membership", n.name, n.host);
    keep.push_back(std::move(t));
  }
  threads_ = std::move(keep);
}

void HealthChecker::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++pokes_;
  }
  cv_.notify_all();
}

BackendHealth HealthChecker::CheckOnce(const NodeSpec& node, PgStatusSession* session,
                                       PgObservation* obs) {
  BackendHealth h;
  h.node = node.name;
  ConnParams p;
  p.host = node.host;
  p.port = spec_.PgPort(node);
  p.user = spec_.postgres.superuser.name;
  p.dbname = spec_.healthCheck.database;
  p.connectTimeoutMs = static_cast<int>(spec_.healthCheck.timeout.count());
  p.statementTimeoutMs = static_cast<int>(spec_.healthCheck.timeout.count());
  p.applicationName = "pgvigil-health-check";
  if (!spec_.postgres.superuser.passwordFile.empty()) {
    auto pw = ReadSecretFile(spec_.postgres.superuser.passwordFile);
    if (!pw.ok()) {
      h.lastError = "superuser password: " + pw.error();
      return h;
    }
    p.password = *pw;
  }
  // A node whose host's watchdog member is lost (no heartbeats): its host does
  // not answer, so one attempt that gives up after kLostHostGrace, no retries.
  // A server that is up answers a check within milliseconds.
  const auto lost = [this, &node] { return view_->HostLost(node.name); };
  int attempts = 1 + std::max(0, spec_.healthCheck.maxRetries);
  for (int a = 0; a < attempts; ++a) {
    if (a > 0) {
      if (lost()) break;
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, spec_.healthCheck.retryDelay, [this] { return stopping_; })) break;
    }
    const auto started = std::chrono::steady_clock::now();
    p.giveUp = [&] {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return true;  // Stop() need not wait for a silent host
      }
      return std::chrono::steady_clock::now() - started >= kLostHostGrace && lost();
    };
    p.giveUpReason = "no answer within " + std::to_string(kLostHostGrace.count()) +
                     " ms and its host's watchdog member is lost";
    auto o = session->Observe(p);
    if (o.ok()) {
      *obs = *o;
      h.up = true;
      h.role = o->role;
      h.timeline = o->timeline;
      h.lsn = o->lsn;
      h.receivedLsn = o->receivedLsn;
      h.replicas = o->replicas;
      h.lastError.clear();
      return h;
    }
    h.lastError = o.error();
    metrics_.ChecksFailed(node.name).Inc();
    if (RefusedConnection(h.lastError)) break;  // no server listens: retries only delay failover
    spdlog::debug("agent: health check of {} attempt {}/{} failed: {}", node.name, a + 1,
                  attempts, o.error());
  }
  return h;
}

void HealthChecker::Loop(NodeSpec node, std::shared_ptr<bool> leave) {
  const bool is_self = node.name == self_;
  uint64_t seen_pokes = 0;
  std::chrono::steady_clock::time_point last_start{};
  PgStatusSession session;  // kept between checks
  while (true) {
    {
      // Asked-for checks (pokes) come in bursts (every client of a dead server,
      // every heartbeat): at most one check per kMinCheckGap.
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, last_start + kMinCheckGap, [&] { return stopping_ || *leave; });
      if (*leave) {
        lock.unlock();
        view_->Remove(node.name);  // after this thread's last Update
        return;
      }
      if (stopping_) return;
      seen_pokes = pokes_;
    }
    last_start = std::chrono::steady_clock::now();
    PgObservation obs;
    BackendHealth h = CheckOnce(node, &session, &obs);
    auto now = std::chrono::system_clock::now();
    h.lastCheck = now;
    BackendHealth before;
    bool had = view_->Get(node.name, &before);
    h.lastChange = (!had || before.up != h.up || before.role != h.role) ? now : before.lastChange;
    if (had && (before.up != h.up || before.role != h.role) && before.lastCheck.time_since_epoch().count()) {
      if (h.up)
        spdlog::info("agent: backend {} is up as {} (timeline {})", node.name, ToString(h.role),
                     h.timeline);
      else
        spdlog::warn("agent: backend {} is down: {}", node.name, h.lastError);
    }
    if (h.up && h.role == BackendRole::kStandby) {
      auto lag = ReplayLag(view_->Snapshot(), h.lsn);
      h.replayLagBytes = lag.value_or(0);
    }
    view_->Update(h);
    metrics_.Checks(node.name).Inc();
    metrics_.BackendUp(node.name).Set(h.up ? 1 : 0);
    metrics_.BackendLag(node.name).Set(static_cast<double>(h.replayLagBytes));
    std::unique_lock<std::mutex> lock(mu_);
    if (is_self) {
      selfObs_ = obs;
      selfUp_ = h.up;
      selfError_ = h.lastError;
      selfLoopAt_ = std::chrono::steady_clock::now();
    }
    cv_.wait_for(lock, spec_.healthCheck.period,
                 [&] { return stopping_ || *leave || pokes_ != seen_pokes; });
  }
}

LocalPgStatus HealthChecker::Local() const {
  LocalPgStatus s;
  const NodeSpec* self = spec_.FindNode(self_);
  s.noLoadBalance = self && self->noLoadBalance;
  std::chrono::steady_clock::time_point loop_at;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.running = selfUp_;
    s.lastError = selfError_;
    if (selfUp_) {
      s.role = selfObs_.role;
      s.timeline = selfObs_.timeline;
      s.lsn = selfObs_.lsn;
      s.receivedLsn = selfObs_.receivedLsn;
      s.walReceiver = selfObs_.walReceiver;
      s.upstreamHost = selfObs_.upstreamHost;
      s.upstreamPort = selfObs_.upstreamPort;
    }
    loop_at = selfLoopAt_;
  }
  if (s.running && s.role == BackendRole::kStandby) s.replayLagBytes = ReplayLag(view_->Snapshot(), s.lsn);
  // Alive when the self check completed within a few worst-case cycles.
  const auto& hc = spec_.healthCheck;
  auto worst = hc.period + (hc.timeout * 2 + hc.retryDelay) * (1 + std::max(0, hc.maxRetries));
  s.checkerAlive = loop_at.time_since_epoch().count() != 0 &&
                   std::chrono::steady_clock::now() - loop_at < 2 * worst + std::chrono::seconds(1);
  return s;
}

}  // namespace pgvigil
