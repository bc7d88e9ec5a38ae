// ClientSession, the routing decision's inputs and consequences: gathers what
// DecideRoute (route_decision.h) needs from the session and the routing
// snapshot, sends the standby its copy of a broadcast command, and records
// what a dispatched cycle changed (session SETs, named statements, the
// transaction's characteristics, writes for read-your-writes).
#include <spdlog/spdlog.h>

#include "sidecar/proxy/session.h"
#include "sidecar/proxy/tx_statement_names.h"

namespace pgvigil::proxy {

RouteDecision ClientSession::Decide(RoutingOnUse& routing) {
  const auto& lbs = shared_->spec.proxy.loadBalancing;
  CycleSummary c;
  c.protocol = cycle_.kind == 'Q'   ? Protocol::kSimple
               : cycle_.kind == 'F' ? Protocol::kFunctionCall
               : cycle_.kind == 'H' ? Protocol::kPipelineFlush
                                    : Protocol::kExtendedSync;
  c.local = cycle_.local;
  c.needPrimary = cycle_.needPrimary;
  c.broadcast = cycle_.broadcast;
  c.write = cycle_.write;
  c.txBegin = cycle_.txBegin;
  c.reads = cycle_.reads;
  c.kind = cycle_.stmtKind;
  c.isolation = cycle_.isolation;
  c.access = cycle_.access;
  c.portalMirrored = cycle_.portalMirrored;
  c.portal = cycle_.portalTarget == Target::kPrimary   ? Side::kPrimary
             : cycle_.portalTarget == Target::kStandby ? Side::kStandby
                                                       : Side::kNone;
  SessionView s;
  s.txStatus = txStatus_;
  s.pinned = pinned_ == Target::kPrimary ? Side::kPrimary : pinned_ == Target::kStandby ? Side::kStandby : Side::kNone;
  s.pipelined = pinned_ != Target::kNone && pipelined_;
  s.standbyConnected = standby_ != nullptr;
  s.standbyInTx = standbyInTx_;
  s.standbyTxDeferred = standbyTxDeferred_;
  s.sessionSerializable = sessionSerializable_;
  BalanceSettings b;
  b.enabled = lbs.enabled;
  b.disableOnWrite = lbs.disableOnWrite;
  b.readYourWrites = lbs.readYourWrites;
  // Every message of a pinned sequence: nothing more is read (route_decision.h).
  if (DecidedBySequence(c, s)) return DecideRoute(c, s, ClusterView{}, b);
  const EffectiveRouting& r = *routing;
  if (!cycle_.functions.empty()) {
    auto v = shared_->volatility.Classify(database_, cycle_.functions, std::chrono::steady_clock::now(), nullptr);
    c.functionsVolatile = v == FunctionVolatility::Verdict::kVolatile ||
                          (v == FunctionVolatility::Verdict::kUnknown && cycle_.functionsLookedUp);
    c.functionsUnknown = v == FunctionVolatility::Verdict::kUnknown && !cycle_.functionsLookedUp;
  }
  if (DeallocateCycle()) {
    auto it = statements_.find(cycle_.object);
    c.deallocateTracked = it != statements_.end() && !cycle_.object.empty();
    c.parsedOnPrimary = primary_ && parsedOnPrimary_.count(cycle_.object);
    c.parsedOnStandby = standby_ && parsedOnStandby_.count(cycle_.object);
  }
  s.wrote = wrote_;
  s.tempTable = noLoadBalance_;
  s.txSerializable = txSerializable_;
  s.txReadWrite = txReadWrite_;
  s.primaryConnected = primary_ != nullptr;
  if (standby_) {
    s.standbyTxStatus = standby_->txStatus;
    for (const auto& o : standby_->outstanding) s.standbyAnswersPending = s.standbyAnswersPending || o.silent;
    int i = StandbyIndex(r);
    s.standbyEligible = i >= 0 && r.nodes[size_t(i)].lbEligible;
    if (i >= 0) s.standbyReplayLsn = r.nodes[size_t(i)].replayLsn;
  }
  s.readFloor = readFloor_;
  // A write not ended yet (its transaction still open, or more of the
  // client's in flight on the primary) counts as pending, as does a query
  // asked for and not sent yet; a write that ended and is not asked for is stale.
  s.floorPending = primaryMayHaveWritten_ || lsnWanted_ || CapturePending(BackendConn::Capture::kCommitLsn);
  s.floorStale = floorStale_ && !lsnWanted_;
  ClusterView k;
  k.hasPrimary = r.primary >= 0;
  k.holdNewTransactions = txStatus_ == 'I' && pinned_ == Target::kNone && shared_->HoldNewTransactions();
  k.awaitPrimary = r.primary < 0 && shared_->AwaitPrimary();
  // Counted in place (no mask vectors): this runs for every routed cycle. The
  // clock only matters with a node avoided (Avoided reads it then alone).
  // Expired avoidances are dropped here, so the list empties again.
  std::chrono::steady_clock::time_point now{};
  if (!worker_->avoidUntil.empty()) {
    now = std::chrono::steady_clock::now();
    worker_->avoidUntil.Prune(now);
  }
  // DecideRoute reads the counts only for a session without a standby (its
  // own standby's state stands for them otherwise): not counted then.
  for (size_t i = 0; !standby_ && i < r.nodes.size(); ++i) {
    if (!r.nodes[i].lbEligible) continue;
    if (!Avoided(r, i, 0, now)) k.standbysEligible++;
    if (!Avoided(r, i, readFloor_, now)) k.standbysAtFloor++;
  }
  return DecideRoute(c, s, k, b);
}

void ClientSession::AfterDispatch(Target main, bool also_standby, const RouteDecision& d) {
  const auto& lbs = shared_->spec.proxy.loadBalancing;
  for (const auto& p : cycle_.boundPortals) portals_.Bind(p, main, also_standby);
  // A Close of a statement takes effect when answered (ClientClosed).
  NoteSessionState();
  const bool simple = cycle_.kind == 'Q';
  // Recorded to be replayed when the answer says PostgreSQL kept it.
  NoteSetChange(main, also_standby);
  // In a failed transaction block the backend refuses these (25P02): the
  // statements stay.
  const bool refused = AbortedTxRefuses();
  // DISCARD ALL drops the statements and the SETs to replay when it runs,
  // told by its CommandComplete (DiscardedAll): PostgreSQL refuses it in a
  // transaction block, an implicit one (more statements in the Query), a
  // failed one or a pipeline.
  if (cycle_.stmtKind == StmtKind::kDiscardAll) {
    for (auto* b : {Conn(main).get(), also_standby ? standby_.get() : nullptr}) {
      if (!b || b->outstanding.empty()) continue;
      b->outstanding.back().discardAll = true;
      b->outstanding.back().discardAllAt = statementVersion_;
      b->outstanding.back().discardSetsAt = sets_.numbered();
    }
  }
  if (cycle_.stmtKind == StmtKind::kDeallocateAll && !refused) {
    statements_.clear();
    parsedOnPrimary_.clear();
    parsedOnStandby_.clear();
    // What ran it has no prepared statements left.
    Conn(main)->prepared.clear();
    if (also_standby && standby_) standby_->prepared.clear();
  }
  // The statement is gone once the DEALLOCATE executes: a simple Query routed
  // where it was parsed, or the Bind of an extended-protocol one (its Parse
  // only chose the backend).
  if (DeallocateCycle() && !refused &&
      ((simple && d.reason == RouteReason::kDeallocateWhereParsed) || cycle_.kind == 'B')) {
    auto it = statements_.find(cycle_.object);
    if (TxMode() && it != statements_.end() && !it->second.server.empty())
      Conn(main)->prepared.erase(it->second.server);  // the Bind runs DEALLOCATE of the proxy's name (session_cycle.cc)
    statements_.erase(cycle_.object);
    parsedOnPrimary_.erase(cycle_.object);
    parsedOnStandby_.erase(cycle_.object);
  }
  // The session's default isolation (SET/RESET default_transaction_isolation,
  // SET SESSION CHARACTERISTICS, RESET ALL, DISCARD ALL).
  if ((cycle_.stmtKind == StmtKind::kSet || cycle_.stmtKind == StmtKind::kReset ||
       cycle_.stmtKind == StmtKind::kSetSessionCharacteristics) &&
      cycle_.isolation != TxIsolation::kUnspecified)
    sessionSerializable_ = cycle_.isolation == TxIsolation::kSerializable;
  if (cycle_.stmtKind == StmtKind::kResetAll || cycle_.stmtKind == StmtKind::kDiscardAll) sessionSerializable_ = false;
  if (d.txSerializable) txSerializable_ = true;
  if (d.txReadWrite) txReadWrite_ = true;
  // The rest of the transaction stays on the primary (disableOnWrite, a temp
  // table, SERIALIZABLE or READ WRITE): a deferred standby part never opens.
  if ((cycle_.write && lbs.disableOnWrite != DisableOnWrite::kOff) || cycle_.createsTemp || d.txSerializable ||
      d.txReadWrite)
    standbyTxDeferred_ = false;
  if (cycle_.ddl) shared_->volatility.Forget(database_);
  if (cycle_.kind != 'Q' && cycle_.kind != 'F') {
    if (pinned_ == Target::kNone) pipelined_ = false;
    pinned_ = main;  // the rest of the sequence follows
    if (cycle_.kind == 'E') pipelined_ = true;
  }
  if (cycle_.write && lbs.disableOnWrite != DisableOnWrite::kOff) wrote_ = true;
  if (main == Target::kPrimary && (cycle_.executesOnPrimary || cycle_.kind == 'F' ||
                                   d.reason == RouteReason::kVolatileFunction))
    primaryMayHaveWritten_ = true;
  if (cycle_.createsTemp) noLoadBalance_ = true;
  if (main == Target::kStandby) readOnStandby_ = true;
  if (cycle_.reads > 0) CountReads(main, cycle_.reads);
  cycle_.Reset();
  UpdateBusyCount();
}

void ClientSession::CountReads(Target main, int reads) {
  BackendConn* b = Conn(main).get();
  if (!b->selectCounter) b->selectCounter = &shared_->SelectCounter(b->login().node);
  b->selectCounter->fetch_add(uint64_t(reads), std::memory_order_relaxed);
  (main == Target::kStandby ? shared_->metrics->readsToStandby : shared_->metrics->readsToPrimary)
      .Inc(uint64_t(reads));
}

bool ClientSession::DeallocateCycle() const {
  // One "DEALLOCATE name": a simple Query of that statement alone, or the
  // Parse or Bind of it in the extended protocol (psycopg sends its evictions so).
  if (cycle_.stmtKind != StmtKind::kDeallocate) return false;
  return (cycle_.kind == 'Q' && cycle_.statements == 1) || (cycle_.kind == 'P' && cycle_.statements == 0) ||
         (cycle_.kind == 'B' && cycle_.statements == 1);
}

void ClientSession::AnswerDeallocateLocally() {
  // In a failed transaction block PostgreSQL refuses it (25P02) and the
  // statement stays.
  if (AbortedTxRefuses()) return CycleError(kAbortedTxState, kAbortedTxMessage);
  // A statement the client parsed that no backend holds any more: PostgreSQL
  // would deallocate it; so does the proxy.
  statements_.erase(cycle_.object);
  AppendCommandComplete(&out_.pending, "DEALLOCATE");
  AppendReadyForQuery(&out_.pending, txStatus_);
  FlushClient();
}

}  // namespace pgvigil::proxy
