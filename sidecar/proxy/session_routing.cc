// ClientSession, ready state: routes each client message as it arrives (one
// Query, or one extended-protocol message, gathered in session_cycle.cc) to
// the primary or the session's load-balance standby, replays named statements
// on a backend that has not seen them, and relays backend answers in order.
//
// Extended protocol: messages are forwarded at once, never held for Sync or
// Flush, so the backend executes them and reports an error the moment
// PostgreSQL would. The messages from one Sync to the next form a sequence;
// its first routed message picks the backend (pinned_) and the rest follow.
// When a later message of the sequence must run elsewhere (a write after a
// balanced read, a portal of the other backend), the proxy ends the sequence
// where it runs with a Sync of its own, waits for that ReadyForQuery (not shown
// to the client), and continues on the other backend; if that part failed, the
// rest of the sequence is skipped up to the client's Sync, as PostgreSQL
// skips after an error. An error of the proxy's own in the middle of a
// sequence (a refused statement, no backend for it) ends it with a message
// that fails before that Sync (FailSequence), so that the backend rolls back
// what the sequence ran, as PostgreSQL does with an error there.
// Statements that go to both backends (SET, SAVEPOINT, ...) are mirrored to
// the standby in a silent sequence closed by the same Sync. A transaction's
// BEGIN goes to the primary alone; the standby gets it (as a Query, silently)
// right before the first statement of the transaction sent there
// (route_decision.h, "deferred").
#include <spdlog/spdlog.h>

#include <algorithm>

#include "sidecar/proxy/pool_nodes.h"
#include "sidecar/proxy/sequence_failure.h"
#include "sidecar/proxy/session.h"
#include "sidecar/proxy/tx_statement_names.h"

namespace pgvigil::proxy {

namespace asio = boost::asio;

bool ClientSession::BusyOtherThan(Target t) const {
  return (t != Target::kPrimary && primary_ && primary_->ClientCycleOutstanding()) ||
         (t != Target::kStandby && standby_ && standby_->ClientCycleOutstanding());
}

int ClientSession::StandbyIndex(const EffectiveRouting& r) {
  BackendConn& b = *standby_;
  // The worker's snapshot as loaded when this backend's index was found: the
  // same answer, without comparing node names (this runs twice per message).
  const bool held = &r == worker_->RoutingHeld();
  if (held && b.nodeIndexSerial == worker_->RoutingSerial()) return b.nodeIndex;
  const std::string& node = b.login().node;
  const size_t i = size_t(standbyIndex_);
  if (!(standbyIndex_ >= 0 && i < r.nodes.size() && r.nodes[i].node.name == node)) standbyIndex_ = r.Find(node);
  if (held) {
    b.nodeIndexSerial = worker_->RoutingSerial();
    b.nodeIndex = standbyIndex_;
  }
  return standbyIndex_;
}

std::vector<bool> ClientSession::AvoidMask(const EffectiveRouting& r, uint64_t min_lsn) const {
  std::vector<bool> avoid(r.nodes.size(), false);
  auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < r.nodes.size(); ++i) avoid[i] = Avoided(r, i, min_lsn, now);
  return avoid;
}

int ClientSession::ChooseLoadBalanceNode(const EffectiveRouting& r, uint64_t min_lsn) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // Nothing can be avoided (the usual case): no mask, no clock. Under
  // transaction pooling this runs for every transaction.
  int n = min_lsn == 0 && worker_->avoidUntil.empty() ? ChooseStandby(r, u(worker_->rng))
                                                     : ChooseStandby(r, u(worker_->rng), AvoidMask(r, min_lsn));
  return TxMode() && n >= 0 ? ReadyPoolNode(r, n, min_lsn) : n;
}

int ClientSession::ReadyPoolNode(const EffectiveRouting& r, int pick, uint64_t min_lsn) {
  TxPoolLoad best = TxPoolKeys::Load(*PoolKey(r.nodes[size_t(pick)].node.name, pick).tx);
  if (best.ready) return pick;  // the usual case below saturation: the weights decide
  // Its pool is full: a client must not queue there while another node its
  // read may go to has a backend to give. Weights then yield to waiting less.
  std::chrono::steady_clock::time_point now{};
  if (!worker_->avoidUntil.empty()) now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    if (int(i) == pick || !r.nodes[i].lbEligible || r.nodes[i].node.weight <= 0 || Avoided(r, i, min_lsn, now))
      continue;
    if (ServesSooner(TxPoolKeys::Load(*PoolKey(r.nodes[i].node.name, int(i)).tx), best)) return int(i);
  }
  return pick;
}

void ClientSession::ScheduleRetry() {
  if (!retryTimer_) retryTimer_ = std::make_unique<asio::steady_timer>(worker_->io);
  retryTimer_->expires_after(std::chrono::milliseconds(20));
  auto self = shared_from_this();
  retryTimer_->async_wait([this, self](const boost::system::error_code& ec) {
    if (!ec && state_ == State::kReady) Process();
  });
}

bool ClientSession::EndSequence(bool fail) {
  if (pinned_ == Target::kNone) return true;
  // End the client's open sequence where it runs with a Sync of the proxy's own;
  // its ReadyForQuery is not shown (OnBackendFrame), and an error in that part
  // makes the proxy skip the rest of the client's sequence. Ended by an error
  // of the proxy's (fail), the sequence first gets a message that fails
  // (sequence_failure.h): the backend rolls back its part of the implicit
  // transaction, or fails the explicit one, as PostgreSQL does with an error
  // there; that error is absorbed (OnSpecialFrame).
  BackendConn* b = Conn(pinned_).get();
  pinned_ = Target::kNone;
  if (!b || !b->seqOpen) return true;
  scratch_.clear();
  if (fail) AppendSequenceFailure(&scratch_);
  AppendSync(&scratch_);
  b->Send(scratch_);
  b->seqOpen = false;
  b->outstanding.back().swallowZ = true;
  b->outstanding.back().failSent = fail;
  for (Target o : {Target::kPrimary, Target::kStandby}) {
    BackendConn* m = Conn(o).get();
    if (m && m != b && m->seqOpen) {  // its silent mirror ends too
      m->Send(scratch_);
      m->seqOpen = false;
      m->outstanding.back().failSent = fail;
    }
  }
  if (fail)
    spdlog::debug("proxy: session of {}: its sequence on {} is failed there, ended by the proxy's error", peer_,
                  b->login().node);
  if (primary_) FetchCommitLsnAfter(primary_.get());
  return false;
}

bool ClientSession::DispatchSyncOrFlush() {
  scratch_.clear();
  if (cycle_.kind == 'H') {
    // Answers are relayed as they come; the backend running the sequence flushes.
    if (pinned_ != Target::kNone && Conn(pinned_)) {
      AppendFlush(&scratch_);
      Conn(pinned_)->Send(scratch_);
    }
    cycle_.Reset();
    return true;
  }
  Target t = pinned_;
  if (t == Target::kNone) t = primary_ ? Target::kPrimary : standby_ ? Target::kStandby : Target::kNone;
  if (BusyOtherThan(t)) return false;
  if (t == Target::kNone) {  // nothing was sent since the last Sync and no backend: answer here
    AppendReadyForQuery(&out_.pending, txStatus_);
    cycle_.Reset();
    return true;
  }
  AppendSync(&scratch_);
  for (Target o : {Target::kPrimary, Target::kStandby}) {
    BackendConn* b = Conn(o).get();
    if (!b) continue;
    if (o == t) {
      if (!b->seqOpen) b->outstanding.push_back({false});
      b->Send(scratch_);
      b->seqOpen = false;
    } else if (b->seqOpen) {  // a silent mirror sequence
      b->Send(scratch_);
      b->seqOpen = false;
    }
  }
  pinned_ = Target::kNone;
  if (primary_) FetchCommitLsnAfter(primary_.get());  // asked for by a read of this sequence: behind its Sync
  cycle_.Reset();
  UpdateBusyCount();
  return true;
}

bool ClientSession::TryDispatch() {
  // A kept decision is offered to this call alone (session_kept_route.cc).
  const bool kept = kept_.valid;
  kept_.valid = false;
  if (!cycle_.active) return true;
  // The usual case of that call: sent on the kept decision at once.
  if (kept && SendOnKeptRoute()) return true;
  if (skipUntilSync_) {
    // The part of the sequence that ran before a backend change failed.
    if (cycle_.kind == 'S') {
      skipUntilSync_ = false;
      AppendReadyForQuery(&out_.pending, txStatus_);
    }
    ForgetUnsentParse(false);
    cycle_.Reset();
    return true;
  }
  if (probing_ || adminPending_) return false;
  bool extended = cycle_.kind != 'Q' && cycle_.kind != 'F';
  if (cycle_.kind == 'S' || cycle_.kind == 'H') return DispatchSyncOrFlush();
  if (!extended && !SettleSequence()) return false;
  if (!pendingError_.empty()) {
    if (!FailSequence() || BusyOtherThan(Target::kNone)) return false;
    CycleError(pendingErrorState_, pendingError_);
    pendingError_.clear();
    return true;
  }
  if (cycle_.local) {
    if (BusyOtherThan(Target::kNone)) return false;
    if (cycle_.localCmd == LocalCommand::kPools || cycle_.localCmd == LocalCommand::kClients ||
        cycle_.localCmd == LocalCommand::kServers) {
      AnswerAdmin();  // answered when every worker has sent its rows
      return false;
    }
    AnswerLocal();
    cycle_.Reset();
    return true;
  }
  if (TxMode()) {
    if (!cycle_.txError.empty()) {
      if (!FailSequence() || BusyOtherThan(Target::kNone)) return false;
      std::string state = std::move(cycle_.txErrorState), msg = std::move(cycle_.txError);
      // In a failed transaction block PostgreSQL refuses a Query or Parse
      // before looking at what it names (a Bind or Describe looks its
      // statement up first).
      if (cycle_.kind != 'B' && cycle_.kind != 'D' && AbortedTxRefuses()) {
        state = kAbortedTxState;
        msg = kAbortedTxMessage;
      }
      CycleError(state, msg);
      return true;
    }
    if (AnswerTxClose()) return true;
    bool wait = false;
    if (AnswerTxDeallocate(&wait)) return !wait;
    TxCheck c = CheckTxSessionState();
    if (c == TxCheck::kWait) return false;
    if (c == TxCheck::kRefused) return true;
    if (AnswerTxParse()) return true;
  }
  RoutingOnUse r(worker_);  // a message of a sequence pinned to the standby needs no snapshot
  const auto& lbs = shared_->spec.proxy.loadBalancing;
  // A standby that left balancing (down, lagging) is dropped while idle.
  if (standby_ && standby_->outstanding.empty() && pinned_ != Target::kStandby && txStatus_ == 'I') {
    int i = StandbyIndex(*r);
    if (i < 0 || !r->nodes[size_t(i)].lbEligible) {
      spdlog::info("proxy: session of {} leaves standby {}: {}", peer_, standby_->login().node,
                   i < 0 ? "not in routing" : r->nodes[size_t(i)].why);
      DropStandby("standby left load balancing");
    }
  }
  // Inside a sequence the message follows it, unless it must run on the other
  // backend: then the sequence there is ended first (SettleSequence).
  if (pinned_ != Target::kNone) {
    bool stick = ReadsStayOnPrimary(wrote_, txStatus_ != 'I', lbs.disableOnWrite);
    bool balance = lbs.enabled && !noLoadBalance_;
    bool portal_elsewhere = cycle_.portalTarget != Target::kNone && cycle_.portalTarget != pinned_;
    // A DISCARD ALL behind an Execute: refused where the sequence runs (DecideRoute).
    const bool refused_here = pipelined_ && cycle_.stmtKind == StmtKind::kDiscardAll;
    bool needs_primary = pinned_ == Target::kStandby && cycle_.portalTarget != Target::kStandby && !refused_here &&
                         (cycle_.needPrimary || cycle_.write || cycle_.broadcast || stick || !balance);
    if ((portal_elsewhere || needs_primary) && !SettleSequence()) return false;
  }
  RouteDecision d;
  if (kept && KeptRouteHolds(kept_)) {
    d = kept_.d;
    shared_->metrics->poolWaitsRoutedOnce.Inc();
  } else {
    d = Decide(r);
  }
  switch (d.target) {
    case RouteTarget::kLocal:
      if (!SettleSequence() || BusyOtherThan(Target::kNone)) return false;
      if (d.reason == RouteReason::kDeallocateNowhere) AnswerDeallocateLocally();
      else AnswerLocal();
      cycle_.Reset();
      return true;
    case RouteTarget::kWait:
      if (d.reason == RouteReason::kFunctionLookup) {
        // Asked on the primary (its catalog is the newest; a standby's may lag
        // behind a CREATE OR REPLACE FUNCTION), else on a standby.
        if (CapturePending(BackendConn::Capture::kFunctionVolatility)) return false;
        Target at = r->primary >= 0 ? Target::kPrimary : Target::kStandby;
        if (!Conn(at)) {
          if (connectingPrimary_ || connectingStandby_) return false;
          int n = at == Target::kPrimary ? r->primary : ChooseLoadBalanceNode(*r);
          if (n >= 0 && !Connect(at, n, *r)) return false;
        }
        if (!Conn(at) || Conn(at)->seqOpen) {
          cycle_.functionsLookedUp = true;  // nowhere to ask now: treated as volatile
          return TryDispatch();
        }
        LookUpFunctions(Conn(at).get());
        return false;
      }
      if (d.reason == RouteReason::kPaused || d.reason == RouteReason::kAwaitPrimary) ScheduleRetry();
      return false;  // kStandbyBeginPending: the standby's ReadyForQuery runs Process again
    case RouteTarget::kError:
      if (!FailSequence() || BusyOtherThan(Target::kNone)) return false;
      if (d.reason == RouteReason::kNoPrimary) {
        shared_->metrics->writesRefusedNoPrimary.Inc();
        spdlog::warn("proxy: refusing {} from {}: no confirmed primary ({})", cycle_.reason, peer_,
                     r->noPrimaryReason);
        CycleError("25006",
                   "no primary node is confirmed (" + r->noPrimaryReason + "); writes are refused until one is");
      } else {
        CycleError("08006", "no backend available for reads: no standby in balancing and " + r->noPrimaryReason);
      }
      return true;
    default:
      break;
  }
  Target main = d.target == RouteTarget::kStandby ? Target::kStandby : Target::kPrimary;
  bool also_standby = d.target == RouteTarget::kBoth;
  // The deferred BEGIN goes to the standby first (route_decision.h).
  bool open = d.openStandbyTx && standbyTxDeferred_;
  if ((main == Target::kStandby || also_standby) && !standby_) {
    if (connectingStandby_ || DiscardAllInFlight()) return false;
    int n = ChooseLoadBalanceNode(*r, open ? std::max(d.minReplayLsn, standbyTxFloor_) : d.minReplayLsn);
    if (n >= 0) {
      if (!Connect(Target::kStandby, n, *r)) {
        if (txWaiting_) KeepRouteForGrant(d, r);
        return false;
      }
    } else if (main == Target::kStandby && pinned_ != Target::kStandby) {
      if (r->primary < 0) {
        if (!FailSequence() || BusyOtherThan(Target::kNone)) return false;
        CycleError("08006", "no backend available for reads: no standby in balancing and " + r->noPrimaryReason);
        return true;
      }
      main = Target::kPrimary;  // the standby went away between the decision and the pick
    } else {
      also_standby = false;  // no standby to mirror to: the primary alone
    }
  }
  // A standby inside an extended sequence of its own cannot take the BEGIN as
  // a Query now (nor can one that went away): the transaction stays on the
  // primary, which has everything of it.
  if (open && (!standby_ || standby_->seqOpen)) {
    open = standbyTxDeferred_ = also_standby = false;
    main = Target::kPrimary;
  }
  if (main == Target::kPrimary) {
    if (r->primary < 0) {
      if (!FailSequence() || BusyOtherThan(Target::kNone)) return false;
      shared_->metrics->writesRefusedNoPrimary.Inc();
      CycleError("25006",
                 "no primary node is confirmed (" + r->noPrimaryReason + "); writes are refused until one is");
      return true;
    }
    const std::string& pname = r->nodes[size_t(r->primary)].node.name;
    if (primary_ && primary_->login().node != pname && pinned_ != Target::kPrimary &&
        LeavePrimary(primary_->login().node, "the primary node changed to " + pname))
      return true;
    if (!primary_ && (DiscardAllInFlight() || connectingPrimary_)) return false;
    if (!primary_ && !Connect(Target::kPrimary, r->primary, *r)) {
      if (txWaiting_) KeepRouteForGrant(d, r);
      return false;
    }
  }
  if (connectingPrimary_ && main == Target::kPrimary) return false;
  if (connectingStandby_ && (main == Target::kStandby || also_standby)) return false;
  if (!Conn(main)) {
    if (!FailSequence() || BusyOtherThan(Target::kNone)) return false;
    CycleError("08006", "the backend this statement belongs to is gone");
    return true;
  }
  if (also_standby && !standby_) also_standby = false;
  if (BusyOtherThan(main)) return false;

  // An extended-protocol DEALLOCATE of a statement no backend holds any more
  // (its backend was dropped): parsed again first, so that it succeeds as it
  // would on PostgreSQL.
  if (d.reason == RouteReason::kDeallocateNowhere && statements_.count(cycle_.object))
    cycle_.refStatements.push_back(cycle_.object);
  if (TraceOn()) TraceDispatch(main, d);
  // A session that reads on a standby: the LSN of a write it ends now is asked
  // for right behind it (session_capture.cc).
  const bool ends_write = readOnStandby_ && main == Target::kPrimary && CycleEndsWrite();
  if (open && (main == Target::kStandby || also_standby)) OpenStandbyTx();
  SendCycle(Conn(main), false);
  if (also_standby) SendCycle(standby_, true);
  // Its standby part deferred: only when the BEGIN can be kept for the standby.
  if (d.deferStandbyTx && main == Target::kPrimary) {
    standbyTxDeferred_ = KeepDeferredBegin();
    standbyTxFloor_ = d.minReplayLsn;
  }
  if (d.forgoStandbyTx) standbyTxDeferred_ = false;
  AfterDispatch(main, also_standby, d);
  if (ends_write) FetchCommitLsnAfterWrite(primary_.get());
  if (d.fetchCommitLsn && main == Target::kPrimary) {
    lsnWanted_ = true;
    FetchCommitLsnAfter(primary_.get());  // right behind this read (after its Sync if a sequence is open)
  }
  return true;
}

void ClientSession::TraceDispatch(Target main, const RouteDecision& d) {
  // Describe allocates: only when tracing.
  spdlog::trace("proxy: {} message '{}' ({}) -> {} {}", peer_, cycle_.kind ? cycle_.kind : '?', cycle_.reason,
                Conn(main)->login().node, Describe(d));
}

bool ClientSession::KeepDeferredBegin() {
  standbyBegin_.clear();
  if (cycle_.kind == 'Q') {  // one BEGIN statement (several make the cycle's kind kOther)
    const std::string_view q = cycle_.Bytes();
    standbyBegin_.assign(q.data(), q.size());
    return true;
  }
  // Extended protocol: the Parse of the BEGIN, or the Bind of a statement
  // parsed earlier; the standby gets its text as a Query.
  const std::vector<std::string>& names = cycle_.kind == 'P' ? cycle_.parsedHere : cycle_.refStatements;
  if (names.empty()) return false;
  auto it = statements_.find(names.front());
  if (it == statements_.end() || it->second.parse.size() < 5) return false;
  const std::string& p = it->second.parse;
  Frame f;
  f.type = 'P';
  f.body = reinterpret_cast<const uint8_t*>(p.data()) + 5;
  f.bodyLen = uint32_t(p.size() - 5);
  f.size = p.size();
  ParseMsg m;
  if (!ParseParse(f, &m)) return false;
  AppendQuery(&standbyBegin_, m.query);
  return true;
}

void ClientSession::OpenStandbyTx() {
  // PostgreSQL takes a transaction's snapshot at its first statement, not at
  // BEGIN: a standby transaction opened here sees what one opened with the
  // client's BEGIN would have. The BEGIN leaves in the same write as the
  // statement behind it; its answer is absorbed (a silent cycle).
  SendOwnQuery(standby_.get(), standbyBegin_);
  standby_->outstanding.push_back({true});
  standbyInTx_ = true;
  standbyTxDeferred_ = false;
}

void ClientSession::SendCycle(const std::shared_ptr<BackendConn>& b, bool silent) {
  Target t = b == primary_ ? Target::kPrimary : Target::kStandby;
  auto& parsed = Parsed(t);
  const bool tx = TxMode();
  int parses = 0;  // transaction pooling: Parses sent (BackendConn::Cycle::parses)
  // The entry what is sent now is answered in: a new one for a Query /
  // FunctionCall and for the first message of a sequence on this backend.
  const bool simple = cycle_.kind == 'Q' || cycle_.kind == 'F';
  if (tx && b->paramsStamp != paramsStamp_) SyncTrackedParameters(b.get());
  const bool fresh = simple || !b->seqOpen;  // nothing sent before this message in its entry
  if (simple) {
    b->outstanding.push_back({silent});
  } else if (!b->seqOpen) {
    b->outstanding.push_back({silent});
    b->seqOpen = true;
  }
  AddedAnswers& added = b->outstanding.back().added;
  scratch_.clear();
  if (tx) {
    for (int i = MakeRoomForParses(b.get(), &scratch_); i > 0; --i) added.AddedClose();
  }
  for (const auto& name : cycle_.refStatements) {
    auto it = statements_.find(name);
    if (it == statements_.end()) continue;
    if (!it->second.server.empty()) {
      // Transaction pooling: parsed again under the proxy's name unless this
      // backend has it already (from this client or another). Closed first:
      // what the proxy knows of the backend may be short of the truth.
      if (!b->HasStatement(it->second.server)) {
        AppendClose(&scratch_, 'S', it->second.server);
        added.AddedClose();
        scratch_ += it->second.parse;
        added.AddedParse(name, it->second.version, true);
        b->parsesPending.push_back(it->second.server);
        parses++;
      }
      parsed[name] = it->second.version;
      continue;
    }
    auto p = parsed.find(name);
    if (p != parsed.end() && p->second == it->second.version) continue;
    const bool close = p != parsed.end() && !name.empty();
    if (close) {
      AppendClose(&scratch_, 'S', name);
      added.AddedClose();
    }
    scratch_ += it->second.parse;
    added.AddedParse(name, it->second.version, close);
    parsed[name] = it->second.version;
    if (tx) {
      b->parsesPending.push_back("");
      parses++;
    }
  }
  for (size_t k = 0; k < cycle_.parsedHere.size(); ++k) {
    const std::string& name = cycle_.parsedHere[k];
    if (!tx) {
      // Session mode: the version noted when the Parse came (nothing erases
      // a statement between its Parse and this send); one lookup, not two.
      parsed[name] = cycle_.parsedVersions[k];
      continue;
    }
    const Statement& st = statements_[name];
    parsed[name] = st.version;
    // Transaction pooling: the backend may hold the proxy's name already (the
    // same text, parsed for any client): closed first so the Parse succeeds.
    if (!st.server.empty() && b->HasStatement(st.server)) {
      AppendClose(&scratch_, 'S', st.server);
      added.AddedClose();
      b->prepared.erase(st.server);
    }
    b->parsesPending.push_back(st.server);
    if (!name.empty()) txUnconfirmed_.emplace(st.server, name);
    parses++;
  }
  // The client's own message: a Parse or a Close is answered too. (Under
  // transaction pooling a Parse's statement is confirmed through parsesPending.)
  if (cycle_.parseCreates && !tx) {
    added.ClientParse(cycle_.parsedHere[0], cycle_.parsedVersions[0]);
  } else if (cycle_.unnamedParse) {
    // Unanswered, it failed (no unnamed statement is left) or was skipped
    // (the one before stays): when something of the sequence came before it
    // here, a Close of a name that never exists, right before it, tells
    // which (answered unless an error came first).
    const bool first = fresh && scratch_.empty();
    if (!first) {
      AppendClose(&scratch_, 'S', kSequenceFailureName);
      added.AddedClose();
    }
    added.ClientUnnamedParse(cycle_.parsedVersions[0], first);
    if (!silent)
      unnamedBefore_.push_back({cycle_.parsedVersions[0], cycle_.unnamedSame, cycle_.unnamedBeforeVersion,
                                std::move(cycle_.unnamedBefore)});
  } else if (cycle_.kind == 'C' && !cycle_.closedStatements.empty() && !silent) {
    // It closes the statement when answered (PostgreSQL skips it behind an error).
    const std::string& name = cycle_.closedStatements[0];
    auto it = statements_.find(name);
    const bool known = it != statements_.end();
    added.ClientClose(name, known ? it->second.version : 0,
                      known && !it->second.server.empty() ? it->second.server : name);
  } else if (cycle_.kind == 'P' || cycle_.kind == 'C') {
    added.Client(cycle_.kind == 'P' ? '1' : '3');
  }
  if (simple && !tx && !scratch_.empty()) {
    // Parses ahead of a Query (session mode: SQL EXECUTE of a statement the
    // client prepared with the protocol) are a silent sequence of their own,
    // ended by the proxy's Sync: a Parse that fails there (a table dropped
    // since) must not leave the backend skipping the Query up to a Sync that
    // never comes. Such a statement counts as not parsed there
    // (ForgetUnansweredParses) and the Query gets the backend's own answer
    // (26000).
    AppendSync(&scratch_);
    b->outstanding.back().silent = true;  // `added` is that entry's: not used below
    b->outstanding.push_back({silent});
  }
  const std::string_view bytes = cycle_.Bytes();
  if (scratch_.empty()) {
    b->Send(bytes.data(), bytes.size());
  } else {
    scratch_.append(bytes.data(), bytes.size());
    b->Send(scratch_);
  }
  if (parses) b->outstanding.back().parses += parses;
}

void ClientSession::CycleError(const std::string& sqlstate, const std::string& message) {
  // Inside a transaction the error aborts it, as any error there does on
  // PostgreSQL: it is failed on the backend(s) holding it (later statements
  // get 25P02, COMMIT answers ROLLBACK). A sequence the error ended was failed
  // where it ran already (FailSequence): its ReadyForQuery said 'E' then.
  if (txStatus_ == 'T') {
    bool failed = FailTransactionOn(Target::kPrimary);
    failed = FailTransactionOn(Target::kStandby) || failed;
    if (failed) {
      txStatus_ = 'E';
      spdlog::debug("proxy: session of {}: its transaction is aborted by the proxy's error {}", peer_, sqlstate);
    }
  }
  AppendError(&out_.pending, "ERROR", sqlstate, message);
  ForgetUnsentParse(true);
  if (cycle_.kind != 'Q' && cycle_.kind != 'F' && cycle_.kind != 'S')
    skipUntilSync_ = true;
  else
    AppendReadyForQuery(&out_.pending, txStatus_);
  cycle_.Reset();
  FlushClient();
}

void ClientSession::AnswerLocal() {
  auto r = worker_->Routing();
  if (cycle_.localCmd == LocalCommand::kPoolVersion) {
    AppendRowDescription(&out_.pending, {"pool_version"});
    AppendDataRow(&out_.pending, {std::string("pgvigil ") + PGVIGIL_VERSION});
    AppendCommandComplete(&out_.pending, "SHOW");
  } else {
    std::string lb = standby_ ? standby_->login().node : (primary_ ? primary_->login().node : "");
    EncodePoolNodes(BuildPoolNodes(*shared_, *r, lb), &out_.pending);
  }
  if (cycle_.kind == 'Q') AppendReadyForQuery(&out_.pending, txStatus_);
  FlushClient();
}

}  // namespace pgvigil::proxy
