// ClientSession, transaction pooling: a plain balanced read that queues for a
// backend of its standby's pool is routed once. TryDispatch decided "a
// standby" before the wait (no standby attached then); after the grant it
// runs again with the granted standby attached and would decide again. For
// such a read that second decision equals the first when:
//  * the cycle is the same: nothing dispatches or drops the client's cycle
//    while it waits (Process does not call TryDispatch then), and the kept
//    decision is only ever offered to the first TryDispatch after the grant
//    of that very wait (ticket);
//  * the routing snapshot is the same object (held, so never a new one at the
//    same address);
//  * the session's inputs of the decision are equal (RouteInputs), the
//    primary backend is the same one and still has nothing outstanding (no
//    ReadyForQuery or captured LSN can have moved them), and no switchover
//    holds new transactions;
//  * the granted standby is in balancing in that snapshot at the read's LSN
//    floor: with a standby attached, DecideRoute's balanced read asks exactly
//    that (standby_at_floor) where it asked for an eligible node before, and
//    outside a transaction nothing else of the standby is read.
// Anything else: decided afresh, as before.
#include "sidecar/proxy/session.h"

namespace pgvigil::proxy {

// A new session field that Decide or DecideRoute reads for a plain read must be
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
  // Only a plain balanced read outside a transaction and a sequence, calling
  // no function (their volatility is looked up by the clock), with the
  // primary (if any) idle.
  if (!txWaiting_ || d.target != RouteTarget::kStandby || d.reason != RouteReason::kBalancedRead ||
      d.openStandbyTx || d.deferStandbyTx || d.forgoStandbyTx || d.fetchCommitLsn || txStatus_ != 'I' ||
      pinned_ != Target::kNone || !cycle_.functions.empty() || (primary_ && !primary_->outstanding.empty()))
    return;
  kept_.valid = true;
  kept_.ticket = txWaitTicket_;
  kept_.routing = r.Held();
  kept_.primary = primary_.get();
  kept_.inputs = CurrentRouteInputs();
  kept_.d = d;
}

bool ClientSession::KeptRouteHolds(const KeptRoute& k, RoutingOnUse& r) {
  if (txWaiting_ || k.ticket != txWaitTicket_ || !standby_ || k.routing.get() != &*r) return false;
  if (primary_.get() != k.primary || (primary_ && !primary_->outstanding.empty())) return false;
  if (shared_->HoldNewTransactions() || !(CurrentRouteInputs() == k.inputs)) return false;
  const int i = StandbyIndex(*r);
  return i >= 0 && r->nodes[size_t(i)].lbEligible && r->nodes[size_t(i)].replayLsn >= k.d.minReplayLsn;
}

}  // namespace pgvigil::proxy
