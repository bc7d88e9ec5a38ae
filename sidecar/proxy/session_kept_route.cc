// ClientSession, transaction pooling: a cycle that queues for a pool backend
// is routed once. TryDispatch decided before the wait (no backend of that pool
// attached then); after the grant it runs again with the granted backend
// attached and would decide again. The decision made before the wait is kept
// (KeepRouteForGrant) and taken instead (KeptRouteHolds) when the second
// decision is provably the same. Two kinds are kept.
//
// Common to both, the second decision equals the first when:
//  * the cycle is the same: nothing dispatches or drops the client's cycle
//    while it waits (Process does not call TryDispatch then), and the kept
//    decision is only ever offered to the first TryDispatch after the grant
//    of that very wait (ticket);
//  * the routing snapshot is the same object: the worker's load of it
//    (RoutingSerial, never reused) is the same one, so the worker held it all
//    along and it is the one this dispatch reads. The primary's index, every
//    node's eligibility and replay LSN are as they were; a failover or
//    switchover publishes a new one (and any reload counts as a change);
//  * the session's inputs of the decision are equal (RouteInputs: transaction
//    status, pinned sequence, wrote, temp table, serializable / read write,
//    the read-your-writes floor and its pending / stale state); the cycle calls
//    no function (their volatility is looked up by the clock); no switchover
//    holds new transactions (asked again at the grant: a pause that began
//    during the wait is waited for, as a fresh decision would).
//
// A plain balanced read queued for its standby's pool (target a standby):
//  * the primary backend is the same one and still has nothing outstanding (no
//    ReadyForQuery or captured LSN can have moved them);
//  * the granted standby is in balancing in that snapshot at the read's LSN
//    floor: with a standby attached, DecideRoute's balanced read asks exactly
//    that (standby_at_floor) where it asked for an eligible node before, and
//    outside a transaction nothing else of the standby is read.
//
// A decision for the primary queued for the primary's pool (a read with
// balancing off, a write, a transaction's start; at a transaction boundary,
// with no backend attached before the wait): the granted primary is a new
// backend, so what of the primary backend does Decide read? Its presence
// (SessionView::primaryConnected, false before, true after), whether a
// DEALLOCATEd statement is parsed there (parsedOnPrimary, DEALLOCATE only),
// and whether its queue holds the LSN query (floorPending, via CapturePending).
// Nothing else: not its node, pid, parameters or transaction status.
//  * primaryConnected: PrimaryDecisionOutlivesAttach (route_decision.h) accepts
//    only reasons whose path reads it nowhere or only where true already
//    decided (a broadcast's main_primary), and none that read the standby
//    counts or awaitPrimary (the clock moves those); a table test runs it over
//    the whole space;
//  * floorPending: a pooled backend handed over at a transaction boundary is
//    idle with nothing of this session queued (the LSN query is only ever
//    queued by the session on its own backend); asked again at the grant
//    (CapturePending's question, the standby absent), so a replayed SET
//    queued there changes nothing;
//  * no standby is attached before or after (the standby's part of
//    SessionView stays "none", and its counts are not read on the kept path).
// What the session does with the decision after it (connect, LeavePrimary if
// the granted backend's node is not the snapshot's primary, send) runs on the
// kept decision as on a fresh one.
// Anything else: decided afresh, as before.
//
// At the grant the usual case skips the rest of TryDispatch too
// (SendOnKeptRoute): when the kept decision holds and every check TryDispatch
// makes before and after deciding is sure to come out as it did before the
// wait (what each rests on is listed there), the cycle is sent on the granted
// backend at once; otherwise TryDispatch runs in full, offered the kept
// decision as before.
#include <algorithm>

#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

// A new session field that Decide or DecideRoute reads for a kept decision must be
// packed here too, or a kept decision could outlive a change of it.
ClientSession::RouteInputs ClientSession::CurrentRouteInputs() const {
  RouteInputs in;
  in.flags = uint32_t(uint8_t(txStatus_)) | uint32_t(pinned_) << 8 | uint32_t(wrote_) << 10 |
             uint32_t(noLoadBalance_) << 11 | uint32_t(standbyInTx_) << 12 | uint32_t(standbyTxDeferred_) << 13 |
             uint32_t(sessionSerializable_) << 14 | uint32_t(txSerializable_) << 15 | uint32_t(txReadWrite_) << 16 |
             uint32_t(primaryMayHaveWritten_) << 17 | uint32_t(lsnWanted_) << 18 | uint32_t(floorStale_) << 19;
  in.readFloor = readFloor_;
  return in;
}

void ClientSession::KeepRouteForGrant(const RouteDecision& d, RoutingOnUse& r) {
  // Only outside a transaction and a sequence, calling no function.
  if (!txWaiting_ || txStatus_ != 'I' || pinned_ != Target::kNone || !cycle_.functions.empty()) return;
  // A plain balanced read, with the primary (if any) idle.
  const bool standby_read = txWaitTarget_ == Target::kStandby && d.target == RouteTarget::kStandby &&
                            d.reason == RouteReason::kBalancedRead && !d.openStandbyTx && !d.deferStandbyTx &&
                            !d.forgoStandbyTx && !d.fetchCommitLsn && (!primary_ || primary_->outstanding.empty());
  // For the primary, with no backend attached.
  const bool for_primary =
      txWaitTarget_ == Target::kPrimary && !primary_ && !standby_ &&
      PrimaryDecisionOutlivesAttach(d, cycle_.stmtKind, shared_->spec.proxy.loadBalancing.enabled);
  if ((!standby_read && !for_primary) || &*r != worker_->RoutingHeld()) return;
  kept_.valid = true;
  kept_.ticket = txWaitTicket_;
  kept_.routingSerial = worker_->RoutingSerial();
  kept_.primary = primary_.get();
  kept_.key = txWaitKey_;
  kept_.inputs = CurrentRouteInputs();
  kept_.d = d;
}

bool ClientSession::KeptRouteHolds(const KeptRoute& k) {
  // The snapshot compared without loading it (RoutingStill): a load that
  // finds RoutingVersion moved makes a new serial, which fails this anyway.
  if (txWaiting_ || k.ticket != txWaitTicket_ || !worker_->RoutingStill(k.routingSerial)) return false;
  if (shared_->HoldNewTransactions() || !(CurrentRouteInputs() == k.inputs)) return false;
  if (k.d.target == RouteTarget::kPrimary)  // the granted primary, nothing else attached
    return primary_ && !standby_ &&
           (primary_->outstanding.empty() ||  // as it comes from the pool: idle
            std::none_of(primary_->outstanding.begin(), primary_->outstanding.end(),
                        [](const BackendConn::Cycle& o) { return o.capture == BackendConn::Capture::kCommitLsn; }));
  if (!standby_ || primary_.get() != k.primary || (primary_ && !primary_->outstanding.empty())) return false;
  const EffectiveRouting& r = *worker_->RoutingHeld();  // held at k.routingSerial (above)
  const int i = StandbyIndex(r);
  return i >= 0 && r.nodes[size_t(i)].lbEligible && r.nodes[size_t(i)].replayLsn >= k.d.minReplayLsn;
}

bool ClientSession::SendOnKeptRoute() {
  const RouteDecision& d = kept_.d;
  // What TryDispatch would check before its decision, and how it comes out
  // here: nothing to skip (skipUntilSync_), wait for (probing_, adminPending_)
  // or answer with an error (pendingError_: a queue timeout, a failed login;
  // txError); not a local command, Sync or Flush (never kept); the usual
  // statement, which CheckTxSessionState passes and AnswerTxDeallocate does
  // not answer (stmtKind kOther, no temp table, no session state); a backend
  // held, so that AnswerTxClose and AnswerTxParse answer nothing (they do only
  // without one). The kept decision's inputs say no sequence is open (pinned_,
  // so SettleSequence has nothing to end) and the transaction status is 'I'.
  if (skipUntilSync_ || probing_ || adminPending_ || !pendingError_.empty() || cycle_.local ||
      cycle_.kind == 'S' || cycle_.kind == 'H' || !cycle_.txError.empty() || cycle_.stmtKind != StmtKind::kOther ||
      cycle_.createsTemp || !cycle_.sessionState.empty() || !HoldsBackend() || connectingPrimary_ ||
      connectingStandby_)
    return false;
  // What TryDispatch does with it: the kept kinds defer, open or forgo no
  // standby part, ask for no LSN, and go to one backend (KeepRouteForGrant).
  if ((d.target != RouteTarget::kPrimary && d.target != RouteTarget::kStandby) || d.deferStandbyTx ||
      d.openStandbyTx || d.forgoStandbyTx || d.fetchCommitLsn || d.reason == RouteReason::kDeallocateNowhere ||
      !KeptRouteHolds(kept_))
    return false;
  // KeptRouteHolds: for the primary, the granted primary alone is attached
  // (no standby to drop as out of balancing, nothing busy elsewhere); for a
  // standby, the granted standby is in balancing (not dropped) and the
  // primary, if any, has nothing outstanding.
  const Target main = d.target == RouteTarget::kPrimary ? Target::kPrimary : Target::kStandby;
  const BackendConn* b = Conn(main).get();
  // The backend is of the pool waited for (its key names the node): for the
  // primary, the node of routing's primary in the snapshot the decision was
  // made with (KeptRouteHolds: the same load), which TryDispatch compares by
  // name before sending (a primary of another node is left).
  if (!b || !b->poolSlot || b->poolSlot->key != kept_.key) return false;
  shared_->metrics->poolWaitsRoutedOnce.Inc();
  // TryDispatch's end, for one backend, nothing deferred, opened or forgone.
  if (TraceOn()) TraceDispatch(main, d);
  const bool ends_write = readOnStandby_ && main == Target::kPrimary && CycleEndsWrite();
  SendCycle(Conn(main), false);
  AfterDispatch(main, false, d);
  if (ends_write) FetchCommitLsnAfterWrite(primary_.get());
  return true;
}

}  // namespace pgvigil::proxy
