// ClientSession, backend side: attaching backends (idle pool or a new login),
// relaying their answers to the client in order (swallowing what the proxy
// injected), and reacting to backends closing and to routing changes.
#include <spdlog/spdlog.h>

#include <cstring>

#include "sidecar/proxy/sequence_failure.h"
#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

bool ClientSession::Connect(Target t, int node, const EffectiveRouting& r) {
  const RouteNode& nd = r.nodes[size_t(node)].node;
  const PoolKeyEntry& key = PoolKey(nd.name, node);
  std::shared_ptr<TxSlot> slot;
  if (TxMode()) {
    for (;;) {
      std::shared_ptr<BackendConn> b;
      std::chrono::steady_clock::time_point queued_at{};
      auto got = worker_->tx->Acquire(key.tx, {this, txWaitTicket_ + 1}, &b, &slot, &queued_at);
      if (got == TxBackends::Pool::Got::kConnect) break;
      if (got == TxBackends::Pool::Got::kQueued) {
        WaitForPool(t, nd, r, key.tx, queued_at);
        return false;
      }
      if (t == Target::kPrimary && b->inHotStandby()) {
        b->Close("pooled connection is to a node in recovery");
        continue;
      }
      AttachPooled(t, std::move(b));
      return true;
    }
  } else {
    while (auto b = worker_->TakeIdle(key.key)) {
      if (t == Target::kPrimary && b->inHotStandby()) {
        b->Close("pooled connection is to a node in recovery");
        continue;
      }
      AttachPooled(t, std::move(b));
      return true;
    }
  }
  StartLogin(t, nd, node, std::move(slot));
  return false;
}

void ClientSession::AttachPooled(Target t, std::shared_ptr<BackendConn>&& conn) {
  // Moved into its place: no reference count up and down (a queued
  // transaction attaches one at every grant).
  BackendConn* b = conn.get();
  b->Adopt(this);
  // Attached while Process handles a client read: its messages leave in one
  // write when Process ends (it uncorks the session's backends), not posted.
  if (processing_) b->Cork();
  Conn(t) = std::move(conn);
  if (t == Target::kStandby) ++standbyJoins_;
  ForgetParsed(t);
  ReplaySessionSets(b);
  shared_->metrics->backendReused.Inc();
  if (state_ == State::kLogin) {
    auto it = worker_->paramCache.find(LoginKey());
    SendLoginCompletion(it != worker_->paramCache.end() ? it->second : b->params());
  }
}

void ClientSession::StartLogin(Target t, const RouteNode& nd, int node, std::shared_ptr<TxSlot> slot) {
  BackendLogin login;
  login.node = nd.name;
  login.host = nd.host;
  login.port = nd.port;
  login.user = user_;
  login.database = database_;
  login.extraParams = extraParams_;
  login.allowCleartext = shared_->spec.proxy.backendAuth.allowCleartext;
  login.allowMd5 = shared_->spec.proxy.backendAuth.allowMd5;
  if (secret_) {
    login.password = secret_->password;
    login.md5Hash = secret_->md5Hash;
  }
  (t == Target::kPrimary ? connectingPrimary_ : connectingStandby_) = true;
  auto b = std::make_shared<BackendConn>(worker_->io, std::move(login), node, &shared_->backendKeys,
                                         &worker_->resolver);
  b->poolSlot = std::move(slot);
  auto self = shared_from_this();
  // b is held weakly: a callback stored in b that owns b is a cycle, and b (with
  // this session) leaked when the worker stopped before the login ended (LSan).
  // While b runs the callback, its own pending handler still owns it.
  b->Start([this, self, wb = std::weak_ptr<BackendConn>(b), t](const std::string& error,
                                                              const ErrorFields* pg) {
    std::shared_ptr<BackendConn> b = wb.lock();
    if (!b) return;
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
        worker_->avoidUntil.Avoid(b->login().node, std::chrono::steady_clock::now() + std::chrono::seconds(5));
        if (state_ == State::kLogin) return ConnectForLogin();
        return Process();
      }
      if (state_ == State::kLogin && !loginAvoidPrimary_) {
        loginAvoidPrimary_ = true;  // reads can still work; writes get the error when they come
        loginPrimaryError_ = err;
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
    if (t == Target::kStandby) ++standbyJoins_;
    Parsed(t).clear();
    ReplaySessionSets(b.get());
    worker_->paramCache[LoginKey()] = b->params();
    if (state_ == State::kLogin) return SendLoginCompletion(b->params());
    Process();
  });
}

bool ClientSession::FlushLargeRelay() {
  FlushClient();
  return out_.Queued() <= (4u << 20);  // false: resumed when the client write completes
}

bool ClientSession::OnBackendFrame(BackendConn* b, const Frame& f) {
  // Most messages (a row, a description, a statement's completion) answer the
  // client's own cycle on one of its backends: relayed without the checks of
  // OnSpecialFrame (nor its larger call). The message types OnSpecialFrame
  // looks at there are the ones PlainRelayType refuses (plain_run.h).
  if (PlainRelayType(f.type) && RelaysPlainly(b)) return RelayChecked(reinterpret_cast<const char*>(f.body) - 5, f.size);
  return OnSpecialFrame(b, f);
}

BackendOwner::RunTaken ClientSession::OnBackendRun(BackendConn* b, const uint8_t* data, size_t n) {
  // What OnBackendFrame does with each of these messages when RelaysPlainly
  // holds, and relaying changes nothing RelaysPlainly depends on (a client
  // write's failure is reported later, by its handler). The backpressure
  // check comes once for the run: reading may pause a run later than frame
  // by frame, holding at most one backend read buffer more.
  if (!RelaysPlainly(b)) return RunTaken::kOneByOne;
  return RelayChecked(reinterpret_cast<const char*>(data), n) ? RunTaken::kRelayed : RunTaken::kRelayedPause;
}

bool ClientSession::OnSpecialFrame(BackendConn* b, const Frame& f) {
  Target t = b == primary_.get() ? Target::kPrimary : b == standby_.get() ? Target::kStandby : Target::kNone;
  if (t == Target::kNone) return true;
  if (f.type == 'S' && TxMode()) NoteParameterStatus(b, t, f);
  const char* raw = reinterpret_cast<const char*>(f.body) - 5;
  bool fatal = false;
  ErrorFields e;
  if (f.type == 'E') {
    (void)ParseErrorFields(f, &e);
    if (e.severity == "FATAL" || e.severity == "PANIC") {
      // Kept: if the backend closes next, this is the one error the client gets.
      fatal = true;
      b->fatal.assign(raw, f.size);
      b->fatalText = e.code + " " + e.message;
      spdlog::info("proxy: node {} of session {} said {} {}: {}", b->login().node, peer_, e.severity, e.code,
                   e.message);
    }
  }
  if (b->outstanding.empty()) {
    // Lent (transaction pooling, between the client's transactions): as for a
    // backend idle in the pool, anything unasked for ends it; the client does
    // not hear of it.
    if (b->lent) {
      b->Close("unexpected message from a backend idle between its client's transactions");
      return true;
    }
    // Unsolicited: notifications, parameter changes, notices, a FATAL before closing.
    if (fatal) return true;  // OnBackendClosed decides what the client sees
    if (t == Target::kStandby && (f.type == 'E' || f.type == 'S' || f.type == 'N')) return true;
    FlushRelayed();
    out_.pending.append(raw, f.size);
    return true;
  }
  if (f.type == '1' && !b->parsesPending.empty()) {  // transaction pooling: a Parse done
    b->outstanding.front().parsesDone++;
    if (!b->parsesPending.front().empty()) {
      b->prepared.insert(b->parsesPending.front());
      worker_->parsedOk.insert(LoginKey() + '\0' + b->parsesPending.front());
      if (!txUnconfirmed_.empty()) txUnconfirmed_.erase(b->parsesPending.front());
    }
    b->parsesPending.pop_front();
  }
  BackendConn::Cycle& cur = b->outstanding.front();
  // The answer to a Parse or Close the proxy added: not the client's. The
  // client's Close of a statement closes it now.
  if ((f.type == '1' || f.type == '3') &&
      cur.added.Answer(f.type, [&](const std::string& name, uint64_t version, const std::string& wire) {
        ClientClosed(t, name, version, wire);
      }))
    return true;
  if (f.type == 'Z') {
    BackendConn::Cycle done = std::move(cur);
    // Shown to the client unless it is the proxy's own (silent, or its Sync
    // moving a sequence): in one piece with the messages relayed before it,
    // and before anything below adds to out_.pending.
    if (!done.silent && !done.swallowZ) RelayToClient(raw, f.size);
    FlushRelayed();
    // Parses of this entry skipped after an error: never prepared.
    for (int i = done.parsesDone; i < done.parses && !b->parsesPending.empty(); ++i) {
      if (!txUnconfirmed_.empty()) ForgetFailedParse(b->parsesPending.front());
      b->parsesPending.pop_front();
    }
    b->txStatus = f.bodyLen ? char(f.body[0]) : 'I';
    b->outstanding.erase(b->outstanding.begin());
    if (done.added.any()) ForgetUnansweredParses(t, done.added, !done.silent);
    if (!done.silent) {
      txStatus_ = b->txStatus;
      if (done.watchTags) SetCycleAnswered(done, txStatus_);
      copyTarget_ = Target::kNone;
      if (txStatus_ == 'I') {
        portals_.Clear();
        standbyInTx_ = standbyTxDeferred_ = false;
        if (shared_->spec.proxy.loadBalancing.disableOnWrite == DisableOnWrite::kTransaction) wrote_ = false;
      }
      // The proxy's own Sync (a sequence moving to the other backend, or ended
      // by the proxy's error): not shown; after an error of the client's
      // statements there the rest of the client's sequence is skipped (and an
      // error of the proxy's for it is not given: PostgreSQL reports only the
      // first error of a sequence).
      if (done.swallowZ && done.sawError) skipUntilSync_ = true;
      if (!done.swallowZ) AfterClientCycle(b, t);
      if (txStatus_ == 'E') FailTransactionElsewhere(t);
    } else if (done.capture != BackendConn::Capture::kNone) {
      OnCaptureDone(b, done.capture, done.sawError);
    }
    needProcess_ = true;
    return true;
  }
  if (f.type == 'E' && cur.failSent && IsSequenceFailure(e)) {
    // The proxy's own message failing the sequence (EndSequence): the client
    // gets the proxy's error instead.
    FlushRelayed();
    return true;
  }
  if (f.type == 'E') cur.sawError = true;
  if (f.type == 'C' && cur.watchTags) {
    const std::string_view tag(reinterpret_cast<const char*>(f.body), f.bodyLen ? f.bodyLen - 1 : 0);
    cur.tags |= CommandTagBits(tag);
    if (cur.queryStatements || cur.sequenceSteps) cur.tagCodes += CommandTagCode(tag);
  }
  // An Execute's other answers: an empty query, a portal suspended.
  if ((f.type == 'I' || f.type == 's') && cur.sequenceSteps) cur.tagCodes += 'o';
  if (f.type == 'C' && cur.discardAll && f.bodyLen >= 11 && std::memcmp(f.body, "DISCARD ALL", 11) == 0)
    DiscardedAll(t, cur.discardAllAt, cur.discardSetsAt, !cur.silent);
  if (cur.silent) {
    FlushRelayed();
    // A notification may arrive during the proxy's own statement (the LSN
    // asked after a write, a replayed SET): it is the client's all the same.
    if (f.type == 'A') {
      out_.pending.append(raw, f.size);
      return true;
    }
    if (f.type == 'D' && cur.capture != BackendConn::Capture::kNone) OnCapturedRow(b, cur.capture, f);
    if (f.type == 'E' && cur.capture == BackendConn::Capture::kTrackedParameter) {
      spdlog::warn("proxy: node {} (backend {}) refused the SET bringing it to client {}'s value of a parameter "
                   "that follows the client ({}: {}); the client's statement runs with the backend's value",
                   b->login().node, b->cancelKey().pid, peer_, e.code, e.message);
    } else if (f.type == 'E' && cur.capture != BackendConn::Capture::kFailTransaction) {
      spdlog::warn("proxy: node {} failed a statement replayed for session state ({}): {}", b->login().node,
                   e.code, e.message);
    }
    return true;
  }
  if (fatal) b->fatalForwarded = true;
  if (f.type == 'G') copyTarget_ = t;
  return RelayChecked(raw, f.size);
}

void ClientSession::OnBackendReadDone(BackendConn*) {
  FlushRelayed();
  UpdateBusyCount();
  FlushClient();
  if (needProcess_ && state_ == State::kReady) {
    needProcess_ = false;
    if (!processing_ && !cycle_.active && in_.size() == 0 && reading_) {
      // Nothing waits (no message held back or buffered, the client read in
      // flight): what Process would do then, without its per-batch setup.
      if (TxMode()) MaybeReturnToPool();
      FlushClient();
      in_.Shrink(2048);
      return;
    }
    Process();
  } else if (TxMode()) {
    MaybeReturnToPool();
  }
}

void ClientSession::EndWithBackendError(const std::string& fatal, const std::string& node,
                                        const std::string& reason) {
  if (!fatal.empty()) {
    out_.pending += fatal;
    Close("backend node " + node + " ended the session: " + reason);
    return;
  }
  Fatal("08006", "server closed the connection unexpectedly (backend node " + node + ": " + reason + ")",
        "backend " + node + " lost: " + reason);
}

void ClientSession::OnBackendClosed(BackendConn* b, const std::string& reason) {
  FlushRelayed();  // what b sent before closing, in its read buffer
  Target t = b == primary_.get() ? Target::kPrimary : b == standby_.get() ? Target::kStandby : Target::kNone;
  if (t == Target::kNone || state_ == State::kClosed) return;
  if (b->closedWhileLent) {
    // Idle between the client's transactions: as if it had been in the pool.
    OnLentTaken(b);
    return;
  }
  std::shared_ptr<BackendConn> hold = Conn(t);
  const std::string node = b->login().node;
  // A backend connection that dies may be a crashed server: have it checked now.
  if (worker_->shared->health) worker_->shared->health->RequestCheck();
  std::string why = b->fatalText.empty() ? reason : b->fatalText;
  if (b->fatalForwarded) {
    // The client has the backend's FATAL already: close, adding nothing.
    Close("backend node " + node + " ended the session: " + why);
    return;
  }
  bool waiting = copyTarget_ == t || pinned_ == t || b->ClientCycleOutstanding();
  if (waiting) return EndWithBackendError(b->fatal, node, why);
  // Idle: the backend alone ended, or its node went away? Find out before the
  // next statement runs (it waits while probing_).
  if (t == Target::kPrimary) {
    parsedOnPrimary_.clear();
    portals_.DropOn(Target::kPrimary);
  } else {
    parsedOnStandby_.clear();
    standbyInTx_ = false;
  }
  BackendLogin login = b->login();
  std::string fatal = b->fatal, fatal_text = b->fatalText;
  Conn(t).reset();
  UpdateBusyCount();
  ProbeAfterIdleClose(t, login, fatal, fatal_text, reason);
}

void ClientSession::ProbeAfterIdleClose(Target t, const BackendLogin& login, const std::string& fatal,
                                        const std::string& fatal_text, const std::string& reason) {
  const std::string node = login.node;
  std::string what = (t == Target::kPrimary ? "the primary node " : "node ") + node + " closed the connection (" +
                     (fatal_text.empty() ? reason : fatal_text) + ")";
  auto node_gone = [this, t, node, what] {
    if (t == Target::kPrimary) {
      // An idle session moves to whatever primary routing names next (the old
      // one was stopped in a switchover, or crashed); one with state there ends.
      if (!LeavePrimary(node, what) && state_ == State::kReady) Process();
      return;
    }
    worker_->avoidUntil.Avoid(node, std::chrono::steady_clock::now() + std::chrono::seconds(5));
    spdlog::info("proxy: idle standby {} of session {} went away ({}); another is used on demand", node, peer_,
                 what);
    if (state_ == State::kReady) Process();
  };
  auto r = worker_->Routing();
  int i = r->Find(node);
  bool still_routed = i >= 0 && r->nodes[size_t(i)].up &&
                      (t == Target::kStandby ? r->nodes[size_t(i)].lbEligible : r->primary == i);
  if (!still_routed || shared_->HoldNewTransactions()) return node_gone();
  probing_ = true;
  auto probe = std::make_shared<BackendConn>(worker_->io, login, i, &shared_->backendKeys, &worker_->resolver);
  auto self = shared_from_this();
  // Weakly held, as in Connect: a callback stored in probe must not own probe.
  probe->Start([this, self, wp = std::weak_ptr<BackendConn>(probe), t, node, fatal, fatal_text, reason,
                node_gone](const std::string& error, const ErrorFields*) {
    std::shared_ptr<BackendConn> probe = wp.lock();
    if (!probe) return;
    bool serving = error.empty() && (t == Target::kStandby || !probe->inHotStandby());
    probe->Close("probe done");
    probing_ = false;
    if (state_ == State::kClosed) return;
    if (!serving) {
      spdlog::info("proxy: node {} does not serve after a backend of session {} closed ({}): the node went away",
                   node, peer_, error.empty() ? "in recovery" : error);
      return node_gone();
    }
    // The node serves: only this backend was ended. PostgreSQL would tell the client.
    EndWithBackendError(fatal, node, fatal_text.empty() ? reason : fatal_text);
  });
}

void ClientSession::OnRoutingChanged(const EffectiveRouting& r) {
  if (state_ == State::kClosed) return;
  ReturnStaleLent(r);
  if (standby_) {
    // A standby that routing dropped or marks down: a statement waiting there
    // gets an error now (the node may be unreachable: its answer may never come).
    const std::string node = standby_->login().node;
    int i = r.Find(node);
    if (i < 0 || !r.nodes[size_t(i)].up) {
      std::string why = i < 0 ? "it left the routing table" : "routing marks it down (" + r.nodes[size_t(i)].why + ")";
      bool waiting = copyTarget_ == Target::kStandby || pinned_ == Target::kStandby ||
                     standby_->ClientCycleOutstanding();
      if (waiting) {
        Terminate("57P01", "terminating connection because routing dropped node " + node +
                               " while a statement was running there: " + why,
                  "standby " + node + " dropped by routing mid-statement: " + why);
        return;
      }
      DropStandby("standby " + node + " dropped by routing: " + why);
    }
  }
  if (!primary_) return;
  const std::string& bound = primary_->login().node;
  int i = r.Find(bound);
  bool demoted = i >= 0 && r.nodes[size_t(i)].healthKnown && r.nodes[size_t(i)].healthRole == BackendRole::kStandby;
  bool down = i >= 0 && !r.nodes[size_t(i)].up;
  bool moved = !r.intendedPrimary.empty() && r.intendedPrimary != bound;
  if (moved || demoted || down || i < 0 || r.writesFenced) {
    std::string now = r.primary >= 0 ? r.nodes[size_t(r.primary)].node.name
                      : r.writesFenced ? "none: " + r.noPrimaryReason
                      : r.intendedPrimary.empty() ? std::string("none confirmed")
                                                  : r.intendedPrimary + ", not confirmed";
    LeavePrimary(bound, down && !moved ? "routing marks the primary " + bound + " down (" + r.nodes[size_t(i)].why + ")"
                                       : "the primary changed (was " + bound + ", now " + now + ")");
  }
}

void ClientSession::DropStandby(const std::string& why) {
  std::shared_ptr<BackendConn> b = std::move(standby_);
  standby_.reset();
  parsedOnStandby_.clear();
  standbyInTx_ = false;
  portals_.DropOn(Target::kStandby);
  if (b) {
    b->SetOwner(nullptr);
    b->Close(why);
  }
}

}  // namespace pgvigil::proxy
