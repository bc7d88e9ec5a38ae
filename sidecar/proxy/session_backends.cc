// ClientSession, backend side: attaching backends (idle pool or a new login),
// relaying their answers to the client in order (swallowing what the proxy
// injected), and reacting to backends closing and to routing changes.
#include <spdlog/spdlog.h>

#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

bool ClientSession::Connect(Target t, int node, const EffectiveRouting& r) {
  const RouteNode& nd = r.nodes[size_t(node)].node;
  std::string key = nd.name + '\0' + LoginKey();
  while (auto b = worker_->TakeIdle(key)) {
    if (t == Target::kPrimary && b->inHotStandby()) {
      b->Close("pooled connection is to a node in recovery");
      continue;
    }
    b->Adopt(this);
    Conn(t) = b;
    Parsed(t).clear();
    ReplaySessionSets(b.get());
    shared_->metrics->backendReused.Inc();
    UpdateCancelTargets();
    if (state_ == State::kLogin) {
      auto it = worker_->paramCache.find(LoginKey());
      SendLoginCompletion(it != worker_->paramCache.end() ? it->second : b->params());
    }
    return true;
  }
  BackendLogin login;
  login.node = nd.name;
  login.host = nd.host;
  login.port = nd.port;
  login.user = user_;
  login.database = database_;
  login.extraParams = extraParams_;
  if (secret_) {
    login.password = secret_->password;
    login.md5Hash = secret_->md5Hash;
  }
  (t == Target::kPrimary ? connectingPrimary_ : connectingStandby_) = true;
  auto b = std::make_shared<BackendConn>(worker_->io, std::move(login), node, &shared_->backendKeys);
  auto self = shared_from_this();
  b->Start([this, self, b, t](const std::string& error, const ErrorFields* pg) {
    (t == Target::kPrimary ? connectingPrimary_ : connectingStandby_) = false;
    if (state_ == State::kClosed) {
      if (error.empty()) b->Close("session closed while connecting");
      return;
    }
    std::string err = error;
    if (err.empty() && t == Target::kPrimary && b->inHotStandby()) {
      err = "node " + b->login().node + " is in recovery (in_hot_standby=on); writes refused (fail closed)";
      b->Close(err);
    }
    if (!err.empty()) {
      shared_->metrics->backendConnectFailures.Inc();
      if (shared_->health) shared_->health->RequestCheck();
      spdlog::warn("proxy: backend login to node {} for user \"{}\" (client {}) failed: {}", b->login().node,
                   user_, peer_, err);
      if (pg && !pg->code.empty() && pg->code.substr(0, 2) != "57" && pg->code.substr(0, 2) != "08") {
        // The backend refused this user/database: the client sees PostgreSQL's own error.
        if (state_ == State::kLogin) return Fatal(pg->code, pg->message, "backend refused login");
        pendingErrorState_ = pg->code;
        pendingError_ = pg->message;
        return Process();
      }
      if (t == Target::kStandby) {
        worker_->avoidUntil[b->login().node] = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        if (state_ == State::kLogin) return ConnectForLogin();
        return Process();
      }
      if (state_ == State::kLogin && !loginAvoidPrimary_) {
        loginAvoidPrimary_ = true;  // reads can still work; writes get the error when they come
        return ConnectForLogin();
      }
      if (state_ == State::kLogin) return Fatal("08006", "cannot connect to the primary: " + err, err);
      pendingErrorState_ = "08006";
      pendingError_ = "cannot connect to the primary node " + b->login().node + ": " + err;
      return Process();
    }
    shared_->metrics->backendConnects.Inc();
    b->SetOwner(this);
    Conn(t) = b;
    Parsed(t).clear();
    ReplaySessionSets(b.get());
    UpdateCancelTargets();
    worker_->paramCache[LoginKey()] = b->params();
    if (state_ == State::kLogin) return SendLoginCompletion(b->params());
    Process();
  });
  return false;
}

bool ClientSession::OnBackendFrame(BackendConn* b, const Frame& f) {
  Target t = b == primary_.get() ? Target::kPrimary : b == standby_.get() ? Target::kStandby : Target::kNone;
  if (t == Target::kNone) return true;
  const char* raw = reinterpret_cast<const char*>(f.body) - 5;
  if (b->outstanding.empty()) {
    // Unsolicited: notifications, parameter changes, notices, a FATAL before closing.
    if (t == Target::kStandby && (f.type == 'E' || f.type == 'S' || f.type == 'N')) {
      if (f.type == 'E') {
        ErrorFields e;
        (void)ParseErrorFields(f, &e);
        spdlog::info("proxy: idle standby {} of {} said {}: {}", b->login().node, peer_, e.code, e.message);
      }
      return true;
    }
    if (t == Target::kPrimary && f.type == 'E') {
      // A FATAL before closing (e.g. 57P01 at a clean shutdown of the old primary):
      // kept from the client, which may move to the new primary (OnBackendClosed).
      ErrorFields e;
      (void)ParseErrorFields(f, &e);
      if (e.severity == "FATAL" || e.severity == "PANIC") {
        spdlog::info("proxy: idle primary {} of {} said {} {}: {}", b->login().node, peer_, e.severity, e.code,
                     e.message);
        primaryFatal_ = e.code + " " + e.message;
        return true;
      }
    }
    out_.pending.append(raw, f.size);
    return true;
  }
  if (f.type == '1' && b->skipParseComplete > 0) {
    b->skipParseComplete--;
    return true;
  }
  if (f.type == '3' && b->skipCloseComplete > 0) {
    b->skipCloseComplete--;
    return true;
  }
  bool silent = b->outstanding.front().silent;
  if (f.type == 'Z') {
    b->txStatus = f.bodyLen ? char(f.body[0]) : 'I';
    b->outstanding.erase(b->outstanding.begin());
    if (b->outstanding.empty()) b->skipParseComplete = b->skipCloseComplete = 0;
    if (!silent) {
      txStatus_ = b->txStatus;
      copyTarget_ = Target::kNone;
      if (txStatus_ == 'I') {
        portals_.clear();
        standbyInTx_ = false;
        if (shared_->spec.proxy.loadBalancing.disableOnWrite == DisableOnWrite::kTransaction) wrote_ = false;
      }
      out_.pending.append(raw, f.size);
    }
    needProcess_ = true;
    return true;
  }
  if (silent) {
    if (f.type == 'E') {
      ErrorFields e;
      (void)ParseErrorFields(f, &e);
      spdlog::warn("proxy: node {} failed a statement replayed for session state ({}): {}", b->login().node,
                   e.code, e.message);
    }
    return true;
  }
  if (f.type == 'G') copyTarget_ = t;
  out_.pending.append(raw, f.size);
  if (out_.pending.size() > (256u << 10)) {
    FlushClient();
    if (out_.Queued() > (4u << 20)) return false;  // resumed when the client write completes
  }
  return true;
}

void ClientSession::OnBackendReadDone(BackendConn*) {
  UpdateBusyCount();
  FlushClient();
  if (needProcess_ && state_ == State::kReady) {
    needProcess_ = false;
    Process();
  }
}

void ClientSession::OnBackendClosed(BackendConn* b, const std::string& reason) {
  Target t = b == primary_.get() ? Target::kPrimary : b == standby_.get() ? Target::kStandby : Target::kNone;
  if (t == Target::kNone || state_ == State::kClosed) return;
  std::shared_ptr<BackendConn> hold = Conn(t);
  const std::string node = b->login().node;
  // A backend connection that dies may be a crashed server: have it checked now.
  if (worker_->shared->health) worker_->shared->health->RequestCheck();
  if (t == Target::kPrimary) {
    // An idle session moves to whatever primary routing names next (the old one
    // was stopped in a switchover, or crashed); one with state there ends.
    std::string what = "the primary node " + node + " closed the connection (" +
                       (primaryFatal_.empty() ? reason : primaryFatal_) + ")";
    primaryFatal_.clear();
    if (!LeavePrimary(node, what) && state_ == State::kReady) Process();
    return;
  }
  bool busy = copyTarget_ == t || pinned_ == t || b->ClientCycleOutstanding();
  Conn(t).reset();
  Parsed(t).clear();
  standbyInTx_ = false;
  UpdateCancelTargets();
  worker_->avoidUntil[node] = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  // An idle standby is simply replaced on the next read.
  if (busy) {
    Terminate("57P01", "terminating connection because backend node " + node + " closed: " + reason,
              "backend " + node + " lost mid-statement: " + reason);
    return;
  }
  spdlog::info("proxy: idle backend {} of session {} closed ({}); reconnecting on demand", node, peer_, reason);
  if (state_ == State::kReady) Process();
}

void ClientSession::OnRoutingChanged(const EffectiveRouting& r) {
  if (!primary_ || state_ == State::kClosed) return;
  const std::string& bound = primary_->login().node;
  int i = r.Find(bound);
  bool demoted = i >= 0 && r.nodes[size_t(i)].healthKnown && r.nodes[size_t(i)].healthRole == BackendRole::kStandby;
  bool moved = !r.intendedPrimary.empty() && r.intendedPrimary != bound;
  if (moved || demoted || i < 0 || r.writesFenced) {
    std::string now = r.primary >= 0 ? r.nodes[size_t(r.primary)].node.name
                      : r.writesFenced ? "none: " + r.noPrimaryReason
                      : r.intendedPrimary.empty() ? std::string("none confirmed")
                                                  : r.intendedPrimary + ", not confirmed";
    LeavePrimary(bound, "the primary changed (was " + bound + ", now " + now + ")");
  }
}

}  // namespace pgvigil::proxy
