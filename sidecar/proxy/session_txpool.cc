// ClientSession, transaction pooling (proxy.pool.mode transaction): backends go
// back to the worker's pool (tx_backends.h) at every transaction boundary and
// come from it for the next transaction, queueing FIFO when the pool is full;
// named prepared statements get the proxy's names and are parsed again on a
// backend that has not got them; statements leaving session state are refused
// or pin the client (tx_session_state.h). Also the admin console's per-session
// rows and the gathering of SHOW pools / clients / servers.
#include <spdlog/spdlog.h>

#include "sidecar/proxy/admin_console.h"
#include "sidecar/proxy/session.h"
#include "sidecar/proxy/tx_session_state.h"
#include "sidecar/proxy/tx_statement_names.h"

namespace pgvigil::proxy {

namespace asio = boost::asio;

void ClientSession::WaitForPool(Target t, const RouteNode& nd, const EffectiveRouting& r, TxKey* key,
                                std::chrono::steady_clock::time_point since) {
  txWaiting_ = true;
  ++txWaitTicket_;  // the ticket Connect queued with
  shared_->metrics->poolWaits.Inc();
  txWaitTarget_ = t;
  // Copied only when it is another node (a client waits for the same ones),
  // and not even compared (two strings) when it is the very node it was
  // copied from: of the snapshot the worker still holds at the same load
  // (RoutingSerial, never reused), which lives that long and never changes.
  const uint64_t serial = &r == worker_->RoutingHeld() ? worker_->RoutingSerial() : 0;
  if (serial == 0 || serial != txWaitNodeSerial_ || &nd != txWaitNodeAt_) {
    if (txWaitNode_ != nd) txWaitNode_ = nd;
    txWaitNodeAt_ = &nd;
    txWaitNodeSerial_ = serial;
  }
  txWaitKey_ = key;
  txWaitSince_ = since;
  txWaitDeadline_ = txWaitSince_ + shared_->spec.proxy.pool.queueTimeout;
  (t == Target::kPrimary ? connectingPrimary_ : connectingStandby_) = true;
  // An armed timer of an earlier wait expires before this deadline (unless
  // queueTimeout was shortened since): it is re-armed when it does.
  if (!queueTimerArmed_ || queueTimer_->expiry() > txWaitDeadline_) ArmQueueTimer();
  // spdlog::debug asks the logger's level only after the call and its
  // arguments (about 45 instructions a queued transaction): asked first here.
  // The same question (should_log), so the line is written exactly when it was.
  if (spdlog::default_logger_raw()->should_log(spdlog::level::debug))
    spdlog::debug("proxy: client {} queues for a backend of node {} (transaction pool full)", peer_, nd.name);
}

void ClientSession::ArmQueueTimer() {
  if (!queueTimer_) queueTimer_ = std::make_unique<asio::steady_timer>(worker_->io);
  queueTimer_->expires_at(txWaitDeadline_);  // an earlier wait on it ends with operation_aborted
  queueTimerArmed_ = true;
  auto self = shared_from_this();
  queueTimer_->async_wait([this, self](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed (or the session closed)
    queueTimerArmed_ = false;
    if (!txWaiting_ || state_ == State::kClosed) return;
    if (std::chrono::steady_clock::now() >= txWaitDeadline_) OnQueueTimeout();
    else ArmQueueTimer();  // set for an earlier wait: this one's deadline is later
  });
}

void ClientSession::LeaveQueue() {
  if (!txWaiting_) return;
  txWaiting_ = false;
  worker_->tx->Cancel(txWaitKey_, {this, txWaitTicket_});
  txWaitKey_ = nullptr;
  (txWaitTarget_ == Target::kPrimary ? connectingPrimary_ : connectingStandby_) = false;
}

void ClientSession::OnQueueTimeout() {
  const std::string node = txWaitNode_.name;
  const int share = TxPoolKeys::Capacity(*txWaitKey_);
  LeaveQueue();
  const auto& p = shared_->spec.proxy.pool;
  std::string msg = "no backend of the transaction pool (node " + node + ", user \"" + user_ + "\", database \"" +
                    database_ + "\") became free within proxy.pool.queueTimeout (" +
                    std::to_string(p.queueTimeout.count()) + " ms; this proxy thread's share of proxy.pool.size " +
                    std::to_string(share) + " is in use)";
  spdlog::warn("proxy: client {}: {} (it holds: primary {}, standby {}; transaction status {}; message '{}')",
               peer_, msg, primary_ ? primary_->login().node : "-", standby_ ? standby_->login().node : "-",
               txStatus_, cycle_.kind ? cycle_.kind : '-');
  if (state_ == State::kLogin) return Fatal("53300", msg, "transaction pool queue timeout");
  pendingErrorState_ = "53300";
  pendingError_ = msg;
  Process();
}

void ClientSession::OnTxGrant(uint64_t ticket, std::shared_ptr<BackendConn>&& conn, std::shared_ptr<TxSlot>&& slot) {
  if (state_ == State::kClosed || !txWaiting_ || ticket != txWaitTicket_) {
    if (conn) worker_->tx->Release(std::move(conn));  // to the next waiter; a slot alone is freed when dropped
    return;
  }
  Target t = txWaitTarget_;
  txWaiting_ = false;  // the queue timer is left to expire (ArmQueueTimer)
  (t == Target::kPrimary ? connectingPrimary_ : connectingStandby_) = false;
  if (conn) {
    bool usable = conn->state() == BackendConn::State::kIdle && !(t == Target::kPrimary && conn->inHotStandby());
    if (usable) AttachPooled(t, std::move(conn));
    else conn->Close("parked backend unusable when handed over");
    if (state_ == State::kReady) Process();
    else if (!usable && state_ == State::kLogin) ConnectForLogin();
    return;
  }
  RouteNode nd = txWaitNode_;
  auto r = worker_->Routing();
  int i = r->Find(nd.name);
  StartLogin(t, nd, i < 0 ? 0 : i, std::move(slot));
}

void ClientSession::ReturnToPoolIfIdle() {
  if (!TxMode() || !txPinned_.empty() || state_ != State::kReady) return;
  if (!HoldsBackend()) return;  // none, or lent already
  if (cycle_.active || txStatus_ != 'I' || pinned_ != Target::kNone || copyTarget_ != Target::kNone || probing_ ||
      connectingPrimary_ || connectingStandby_ || adminPending_ || skipUntilSync_ || !pendingError_.empty())
    return;
  for (const auto* b : {&primary_, &standby_}) {
    if (*b && (!(*b)->outstanding.empty() || (*b)->seqOpen || (*b)->txStatus != 'I' ||
               (*b)->state() != BackendConn::State::kReady))
      return;
  }
  bool gave = false, lent = false;
  for (Target t : {Target::kPrimary, Target::kStandby}) {
    const std::shared_ptr<BackendConn>& b = Conn(t);
    if (!b || b->lent) continue;
    // Sticky until needed: nobody waits for its pool, so it stays (no release
    // and acquire for a client running transactions back to back). Someone
    // waits (most transactions when the pool is full): asked here, inline, and
    // given straight back to them (Lend would refuse, out of line).
    if (!worker_->tx->Waited(b->poolSlot.get()) && worker_->tx->Lend(b, this)) {
      lent = true;
      continue;
    }
    GiveBack(t);
    gave = true;
  }
  if (lent) txLentRouting_ = shared_->RoutingVersion();
  portals_.Clear();
  standbyInTx_ = false;
  if (gave) {
    UpdateBusyCount();
  }
}

void ClientSession::ForgetParsed(Target t) {
  auto& parsed = Parsed(t);
  if (!TxMode()) return parsed.clear();
  for (auto& e : parsed) e.second = 0;
}

std::shared_ptr<BackendConn> ClientSession::Detach(Target t) {
  std::shared_ptr<BackendConn> b = std::move(Conn(t));  // leaves Conn(t) empty
  ForgetParsed(t);
  if (t == Target::kStandby) standbyInTx_ = false;
  if (b) b->SetOwner(nullptr);
  return b;
}

void ClientSession::GiveBack(Target t) {
  if (auto b = Detach(t)) worker_->tx->Release(std::move(b));
}

void ClientSession::OnLentTaken(BackendConn* b) {
  for (Target t : {Target::kPrimary, Target::kStandby})
    if (Conn(t).get() == b) Detach(t);  // the caller holds it
  UpdateBusyCount();
}

void ClientSession::ReturnStaleLent(const EffectiveRouting& r) {
  txLentRouting_ = shared_->RoutingVersion();
  bool gave = false;
  if (primary_ && primary_->lent &&
      (r.primary < 0 || r.nodes[size_t(r.primary)].node.name != primary_->login().node)) {
    GiveBack(Target::kPrimary);
    gave = true;
  }
  if (standby_ && standby_->lent) {
    int i = StandbyIndex(r);
    if (i < 0 || !r.nodes[size_t(i)].lbEligible) {
      GiveBack(Target::kStandby);
      gave = true;
    }
  }
  if (gave) {
    UpdateBusyCount();
  }
}

ClientSession::TxCheck ClientSession::DecideTxSessionStateForCycle() {
  // CheckTxSessionState (session.h) answered kGo already outside transaction
  // pooling and for the usual statement (nothing that could leave session state).
  TxStateFacts f;
  f.kind = cycle_.stmtKind;
  f.createsTemp = cycle_.createsTemp;
  f.sessionState = cycle_.sessionState;
  f.alreadyPinned = !txPinned_.empty();
  f.setsTrackedParameter = SetsTrackedParameter(cycle_.stmtKind, cycle_.object);
  // A SET among several statements of one Query is flagged by the classifier
  // (sessionState); a SET alone through the extended protocol shows as its kind.
  TxStateDecision d = DecideTxSessionState(f, shared_->spec.proxy.pool.sessionState);
  if (d.verdict == TxStateVerdict::kAllow) return TxCheck::kGo;
  // In a failed transaction block PostgreSQL would not run it: its 25P02,
  // neither the proxy's refusal nor a pin.
  const bool aborted = AbortedTxRefuses();
  if (d.verdict == TxStateVerdict::kPin && !aborted) {
    txPinned_ = d.what;
    spdlog::info("proxy: client {} (user \"{}\") keeps its backends from now on (transaction pooling, "
                 "proxy.pool.sessionState pin): {}",
                 peer_, user_, d.what);
    return TxCheck::kGo;
  }
  if (!FailSequence() || BusyOtherThan(Target::kNone)) return TxCheck::kWait;
  for (const auto& name : cycle_.parsedHere) statements_.erase(name);  // never parsed anywhere
  if (aborted) {
    CycleError(kAbortedTxState, kAbortedTxMessage);
    return TxCheck::kRefused;
  }
  spdlog::info("proxy: refused {} from client {} (user \"{}\"): session state in transaction pooling", d.what,
               peer_, user_);
  CycleError(kTxStateRefusedState, TxStateRefusedMessage(d.what));
  return TxCheck::kRefused;
}

void ClientSession::NoteParameterStatus(BackendConn* b, Target t, const Frame& f) {
  std::string_view k, v;
  if (!ParseParameterStatus(f, &k, &v)) return;
  const int i = TrackedParameterIndex(k);
  if (i < 0) return;
  // Relayed to the client (OnSpecialFrame): in a cycle of the client's, or
  // unsolicited from its primary backend.
  const bool to_client = b->outstanding.empty() ? !b->lent && t != Target::kStandby : !b->outstanding.front().silent;
  // A backend's stamp says which values it holds (equal values, one number,
  // whichever client they are of): when what it reports moves, the stamp
  // stays only where the new value is known to be that of this client's
  // values it was in step with; otherwise 0, compared before its next use.
  const bool in_step = b->paramsStamp == paramsStamp_;
  const bool changed = b->reported.Note(k, v);
  if (to_client) {
    if (!clientParams_.Note(k, v)) {
      if (changed && !in_step) b->paramsStamp = 0;
      return;
    }
    // The client's values changed here: this backend holds them (if it held
    // the others); its other backend is compared again before its next statement.
    paramsStamp_ = worker_->paramsIds.IdOf(clientParams_);
    b->paramsStamp = in_step ? paramsStamp_ : 0;
    spdlog::debug("proxy: client {}: {} is now '{}' (reported by node {})", peer_, k, v, b->login().node);
    return;
  }
  // The proxy's own statement changed it (its SET to this client's value, a
  // transaction mirrored on the standby ending): compared again when it differs.
  if (changed && !(in_step && clientParams_.known[size_t(i)] && clientParams_.value[size_t(i)] == v))
    b->paramsStamp = 0;
}

void ClientSession::SyncTrackedParameters(BackendConn* b) {
  // Inside an extended sequence or COPY a Query cannot go in; in a failed
  // transaction it would fail. Compared again at the next statement.
  if (b->seqOpen || copyTarget_ != Target::kNone || b->txStatus == 'E') return;
  std::vector<std::string> sets = TrackedParameterSets(clientParams_, b->reported);
  for (const auto& q : sets) {
    std::string m;
    AppendQuery(&m, q);
    SendOwnQuery(b, m);
    BackendConn::Cycle c{true};
    c.capture = BackendConn::Capture::kTrackedParameter;
    b->outstanding.push_back(c);
    spdlog::debug("proxy: client {}: backend {} of node {} gets the client's value first ({}): it reported another",
                  peer_, b->cancelKey().pid, b->login().node, q);
  }
  b->paramsStamp = paramsStamp_;
}

bool ClientSession::TxParseRefused(const std::string& name) {
  if (name.empty()) return false;
  if (statements_.count(name) && !Closing(name)) {
    // PostgreSQL's answer; the client's statement of that name stays as it was.
    cycle_.txErrorState = "42P05";
    cycle_.txError = "prepared statement \"" + name + "\" already exists";
    return true;
  }
  const int cap = shared_->spec.proxy.pool.maxPreparedStatements;
  const size_t named = statements_.size() - statements_.count("");
  if (cap > 0 && named >= size_t(cap)) {
    cycle_.txErrorState = "53400";  // configuration_limit_exceeded
    cycle_.txError = "cannot prepare statement \"" + name + "\": this client has " + std::to_string(named) +
                     " named prepared statements, the limit of proxy.pool.maxPreparedStatements (" +
                     std::to_string(cap) + ") in transaction pooling mode; close (DEALLOCATE) some first";
    spdlog::info("proxy: client {} (user \"{}\"): Parse of \"{}\" refused at proxy.pool.maxPreparedStatements {}",
                 peer_, user_, name, cap);
    return true;
  }
  return false;
}

bool ClientSession::TxParseAwaitsAnswer(const Frame& f) const {
  if (txUnconfirmed_.empty()) return false;
  ParseMsg m;
  if (!ParseParse(f, &m) || m.name.empty()) return false;  // a malformed one is AddToCycle's to report
  auto st = statements_.find(std::string(m.name));
  if (st == statements_.end() || st->second.server.empty()) return false;
  const std::string& server = st->second.server;
  bool pending = false;
  auto [from, to] = txUnconfirmed_.equal_range(server);
  for (auto it = from; it != to && !pending; ++it) pending = it->second == st->first;
  if (!pending) return false;
  // In the sequence still open the answer needs the client's Sync, which
  // comes after this Parse: decided now (on PostgreSQL an error there would
  // skip this Parse anyway).
  for (const auto* b : {&primary_, &standby_})
    if (*b && (*b)->ParsePendingBeforeOpenSequence(server)) return true;
  return false;
}

void ClientSession::TxCheckExecute(const SqlClass& c) {
  if (!cycle_.txError.empty()) return;
  // SQL EXECUTE or DEALLOCATE of one of the proxy's names (which
  // pg_prepared_statements shows): another client's statement on a shared
  // backend. A client cannot have such a name: its own are renamed, its SQL
  // PREPARE is refused or pins it to backends nobody else uses. In a Parse
  // the error comes at the Parse (PostgreSQL's at the Execute): the backend
  // would describe the other client's statement at the Parse already.
  const std::string& sql_name =
      !c.executes.empty() || c.kind != StmtKind::kDeallocate ? c.executes : c.object;
  if (IsProxyStatementName(sql_name) && !statements_.count(sql_name)) {
    cycle_.txErrorState = kMissingStatementState;
    cycle_.txError = MissingStatementMessage(sql_name);
    return;
  }
  if (c.executes.empty()) return;
  auto it = statements_.find(c.executes);
  if (it == statements_.end() || it->second.server.empty()) return;
  cycle_.txErrorState = "0A000";  // feature_not_supported
  cycle_.txError = "SQL EXECUTE of prepared statement \"" + c.executes +
                   "\" is not supported in transaction pooling mode (proxy.pool.mode: transaction): it was "
                   "prepared with the extended protocol (Parse), and the backends know it by another name; run "
                   "it with Bind/Execute (e.g. PQexecPrepared)";
}

void ClientSession::TxCheckMissing(std::string_view name) {
  if (!cycle_.txError.empty() || !ForeignStatement(name, !txPinned_.empty())) return;
  // PostgreSQL looks the statement up before anything else (a failed
  // transaction block too): its 26000; nothing reaches the backend.
  cycle_.txErrorState = kMissingStatementState;
  cycle_.txError = MissingStatementMessage(name);
}

bool ClientSession::AbortedTxRefuses() const {
  const char status = cycle_.statusMet ? cycle_.statusMet : txStatus_;
  return status == 'E' && !cycle_.multiStatement && RefusedInAbortedTx(cycle_.stmtKind);
}

int ClientSession::CloseParsesForRoom(BackendConn* b, std::string* out, size_t cap, size_t adding) {
  std::unordered_set<std::string> needed;
  for (const auto* names : {&cycle_.refStatements, &cycle_.parsedHere})
    for (const auto& n : *names) {
      auto it = statements_.find(n);
      if (it != statements_.end() && !it->second.server.empty()) needed.insert(it->second.server);
    }
  int closed = 0;
  for (auto it = b->prepared.begin();
       it != b->prepared.end() && b->prepared.size() + b->parsesPending.size() + adding > cap;) {
    if (needed.count(*it)) {
      ++it;
      continue;
    }
    AppendClose(out, 'S', *it);
    it = b->prepared.erase(it);
    closed++;
  }
  spdlog::debug("proxy: closed {} prepared statements on backend {} of node {} (proxy.pool.maxPreparedStatements {})",
                closed, b->cancelKey().pid, b->login().node, cap);
  return closed;
}

void ClientSession::ForgetFailedParse(const std::string& server) {
  auto [from, to] = txUnconfirmed_.equal_range(server);
  for (auto it = from; it != to; ++it) {
    auto st = statements_.find(it->second);
    if (st != statements_.end() && st->second.server == server) statements_.erase(st);
  }
  txUnconfirmed_.erase(from, to);
}

bool ClientSession::AnswerTxClose() {
  if (cycle_.kind != 'C' || cycle_.closedStatements.empty() || HoldsBackend() ||
      pinned_ != Target::kNone || !txPinned_.empty())
    return false;
  for (const auto& name : cycle_.closedStatements) {
    statements_.erase(name);
    parsedOnPrimary_.erase(name);
    parsedOnStandby_.erase(name);
  }
  AppendMessage(&out_.pending, '3', {});  // CloseComplete
  cycle_.Reset();
  return true;
}

void ClientSession::RenameForBackend(const Frame& f, size_t at, const Statement& st) {
  if (st.server.empty()) return;
  cycle_.frame = {};
  cycle_.bytes.resize(at);
  if (!AppendRenamedStatement(f, st.server, &cycle_.bytes))
    cycle_.bytes.append(reinterpret_cast<const char*>(f.body) - 5, f.size);
}

bool ClientSession::AnswerTxDeallocateStatement(bool* wait) {
  // AnswerTxDeallocate (session.h) let through DEALLOCATE and DEALLOCATE ALL
  // only: `one` and `all` below need one of them, and nothing before them acts.
  if (!TxMode() || cycle_.kind != 'Q' || cycle_.statements != 1) return false;
  // A protocol-level statement: its backends know it by the proxy's name and
  // keep it for whoever parses the same text; the client forgets it. (Also
  // a pinned client's: its backends would answer 26000 for the client's name.)
  const bool one = cycle_.stmtKind == StmtKind::kDeallocate && statements_.count(cycle_.object);
  // A pinned client's DEALLOCATE ALL runs on its backends (its SQL PREPAREd
  // statements are there).
  const bool all = cycle_.stmtKind == StmtKind::kDeallocateAll && txPinned_.empty();
  if (!one && !all) return false;
  // Answered in turn, after the client's statements in flight (the status
  // their ReadyForQuery leaves decides the answer).
  *wait = BusyOtherThan(Target::kNone);
  if (*wait) return true;
  if (one) {
    AnswerDeallocateLocally();
    cycle_.Reset();
    return true;
  }
  if (AbortedTxRefuses()) {
    CycleError(kAbortedTxState, kAbortedTxMessage);  // PostgreSQL's answer: nothing is deallocated
    return true;
  }
  statements_.clear();
  parsedOnPrimary_.clear();
  parsedOnStandby_.clear();
  AppendCommandComplete(&out_.pending, "DEALLOCATE ALL");
  AppendReadyForQuery(&out_.pending, txStatus_);
  FlushClient();
  cycle_.Reset();
  return true;
}

bool ClientSession::AnswerTxParse() {
  if (cycle_.kind != 'P' || cycle_.parsedHere.size() != 1 || HoldsBackend() || txStatus_ != 'I' ||
      pinned_ != Target::kNone || !txPinned_.empty())
    return false;
  auto it = statements_.find(cycle_.parsedHere[0]);
  if (it == statements_.end() || it->second.server.empty() ||
      !worker_->parsedOk.count(LoginKey() + '\0' + it->second.server))
    return false;
  AppendMessage(&out_.pending, '1', {});  // ParseComplete
  cycle_.Reset();
  return true;
}

void ClientSession::DescribeForAdmin(AdminClientRow* c, std::vector<AdminServerRow>* servers) const {
  if (state_ != State::kReady) return;
  auto now = std::chrono::steady_clock::now();
  c->user = user_;
  c->database = database_;
  c->addr = peer_;
  c->txStatus = txStatus_;
  c->pinned = txPinned_;
  c->connectedSeconds = std::chrono::duration<double>(now - acceptedAt_).count();
  if (txWaiting_) {
    c->waitingFor = txWaitNode_.name;
    c->waitSeconds = std::chrono::duration<double>(now - txWaitSince_).count();
  }
  for (const auto* p : {&primary_, &standby_}) {
    const BackendConn* b = p->get();
    if (!b || b->lent) continue;  // a lent one is the pool's idle row
    c->backends += (c->backends.empty() ? "" : " ") + b->login().node + ":" + std::to_string(b->cancelKey().pid);
    AdminServerRow s;
    s.node = b->login().node;
    s.host = b->login().host;
    s.port = b->login().port;
    s.user = user_;
    s.database = database_;
    for (const auto& [k, v] : extraParams_) s.options += (s.options.empty() ? "" : " ") + k + "=" + v;
    s.pid = int(b->cancelKey().pid);
    s.state = "active";
    s.client = peer_;
    s.prepared = int(b->prepared.size());
    s.ageSeconds = std::chrono::duration<double>(now - b->connectedAt).count();
    servers->push_back(std::move(s));
  }
  c->state = txWaiting_ ? "waiting" : HoldsBackend() ? "active" : "idle";
}

void ClientSession::AnswerAdmin() {
  // Every worker describes its own sessions on its own thread; the last one to
  // finish posts the whole back here.
  struct Gather {
    std::mutex mu;
    std::vector<AdminPart> parts;
    size_t remaining = 0;
  };
  auto g = std::make_shared<Gather>();
  g->remaining = shared_->workers.size();
  adminPending_ = true;
  // Other workers hold the session only weakly: were they to drop the last
  // reference, it would be destroyed (its sockets closed) on their thread.
  std::weak_ptr<ClientSession> weak = weak_from_this();
  Worker* home = worker_;
  for (Worker* w : shared_->workers) {
    w->Post([w, g, home, weak] {
      AdminPart part = CollectAdmin(*w);
      bool last;
      {
        std::lock_guard<std::mutex> l(g->mu);
        g->parts.push_back(std::move(part));
        last = --g->remaining == 0;
      }
      if (!last) return;
      home->Post([g, weak] {
        std::shared_ptr<ClientSession> self = weak.lock();
        if (!self) return;
        ClientSession* s = self.get();
        s->adminPending_ = false;
        if (s->state_ != State::kReady) return;
        const auto& p = s->shared_->spec.proxy.pool;
        EncodeAdmin(s->cycle_.localCmd, g->parts, ToString(p.mode), p.mode == PoolMode::kTransaction ? p.size : 0,
                    &s->out_.pending);
        if (s->cycle_.kind == 'Q') AppendReadyForQuery(&s->out_.pending, s->txStatus_);
        s->cycle_.Reset();
        s->FlushClient();
        s->Process();
      });
    });
  }
}

}  // namespace pgvigil::proxy
