#include "sidecar/proxy/route_decision.h"

namespace pgvigil::proxy {

const char* ToString(Protocol p) {
  switch (p) {
    case Protocol::kSimple: return "simple";
    case Protocol::kExtendedSync: return "extended";
    case Protocol::kPipelineFlush: return "pipeline-flush";
    case Protocol::kFunctionCall: return "function-call";
  }
  return "?";
}

const char* ToString(Side s) {
  switch (s) {
    case Side::kNone: return "none";
    case Side::kPrimary: return "primary";
    case Side::kStandby: return "standby";
  }
  return "?";
}

const char* ToString(RouteTarget t) {
  switch (t) {
    case RouteTarget::kPrimary: return "primary";
    case RouteTarget::kStandby: return "standby";
    case RouteTarget::kBoth: return "primary+standby";
    case RouteTarget::kLocal: return "local";
    case RouteTarget::kWait: return "wait";
    case RouteTarget::kError: return "error";
  }
  return "?";
}

const char* ToString(RouteReason r) {
  switch (r) {
    case RouteReason::kLocalCommand: return "local command";
    case RouteReason::kPaused: return "new transactions held";
    case RouteReason::kAwaitPrimary: return "awaiting the new primary";
    case RouteReason::kPinned: return "extended sequence in progress";
    case RouteReason::kPortal: return "portal";
    case RouteReason::kDeallocateWhereParsed: return "deallocate where parsed";
    case RouteReason::kDeallocateNowhere: return "deallocate of a statement no backend has";
    case RouteReason::kDeallocateUntracked: return "deallocate untracked";
    case RouteReason::kSerializableTx: return "serializable transaction";
    case RouteReason::kReadWriteTx: return "read write transaction";
    case RouteReason::kSerializableSession: return "serializable session";
    case RouteReason::kTxBeginDeferred: return "begin, standby deferred";
    case RouteReason::kBroadcast: return "broadcast";
    case RouteReason::kBroadcastNoPrimary: return "broadcast without primary";
    case RouteReason::kWrite: return "write";
    case RouteReason::kVolatileFunction: return "volatile function";
    case RouteReason::kFunctionLookup: return "function lookup";
    case RouteReason::kBalancingOff: return "balancing off";
    case RouteReason::kTempTable: return "temp table";
    case RouteReason::kWroteInTransaction: return "wrote in transaction";
    case RouteReason::kWroteInSession: return "wrote in session";
    case RouteReason::kStandbyInTx: return "standby in transaction";
    case RouteReason::kStandbyBeginPending: return "standby begin pending";
    case RouteReason::kTxOnPrimary: return "transaction on primary";
    case RouteReason::kTxFunctionUnknown: return "function of unknown volatility in transaction";
    case RouteReason::kCommitLsnStale: return "commit lsn asked";
    case RouteReason::kCommitLsnPending: return "commit lsn pending";
    case RouteReason::kReadYourWrites: return "read your writes";
    case RouteReason::kBalancedRead: return "balanced read";
    case RouteReason::kNoStandby: return "no standby";
    case RouteReason::kNoPrimaryRead: return "read without primary";
    case RouteReason::kNoPrimary: return "no primary";
    case RouteReason::kNoBackend: return "no backend";
  }
  return "?";
}

std::string Describe(const RouteDecision& d) {
  std::string s = std::string(ToString(d.target)) + " (" + ToString(d.reason) + ")";
  if (d.minReplayLsn) s += " lsn>=" + std::to_string(d.minReplayLsn);
  if (d.deferStandbyTx) s += " defer";
  if (d.openStandbyTx) s += " open";
  if (d.forgoStandbyTx) s += " forgo";
  if (d.fetchCommitLsn) s += " fetch-lsn";
  if (d.txSerializable) s += " tx-serializable";
  if (d.txReadWrite) s += " tx-read-write";
  return s;
}

namespace {

RouteDecision Make(RouteTarget t, RouteReason r, uint64_t lsn = 0) {
  RouteDecision d;
  d.target = t;
  d.reason = r;
  d.minReplayLsn = lsn;
  return d;
}

// Commands that belong to the transaction: a standby that is not part of it gets none.
bool TransactionScoped(StmtKind k) {
  return k == StmtKind::kTxEnd || k == StmtKind::kRollbackTo || k == StmtKind::kSavepoint ||
         k == StmtKind::kRelease || k == StmtKind::kSetLocal || k == StmtKind::kSetTransaction;
}

// Commands of a transaction that a standby taking part in it must get too:
// they open a deferred standby transaction. Not COMMIT/ROLLBACK, RELEASE,
// ROLLBACK TO or BEGIN (a standby that has not joined has nothing to end or
// roll back), nor DEALLOCATE (not transactional).
bool JoinsStandbyTx(StmtKind k) {
  switch (k) {
    case StmtKind::kSavepoint:
    case StmtKind::kSet:
    case StmtKind::kSetLocal:
    case StmtKind::kSetTransaction:
    case StmtKind::kSetSessionCharacteristics:
    case StmtKind::kReset:
    case StmtKind::kResetAll:
    case StmtKind::kDiscardAll:
    case StmtKind::kDiscardOther:
      return true;
    default:
      return false;
  }
}

}  // namespace

namespace {

RouteDecision Decide(const CycleSummary& c, const SessionView& s, const ClusterView& k, const BalanceSettings& b,
                     bool ser, bool rw) {
  if (c.local) return Make(RouteTarget::kLocal, RouteReason::kLocalCommand);
  const bool idle = s.txStatus == 'I' && s.pinned == Side::kNone;
  const bool in_tx = s.txStatus != 'I';
  if (idle && k.holdNewTransactions) return Make(RouteTarget::kWait, RouteReason::kPaused);
  if (idle && !k.hasPrimary && (c.needPrimary || c.write || c.txBegin) && k.awaitPrimary)
    return Make(RouteTarget::kWait, RouteReason::kAwaitPrimary);
  auto side = [](Side x, RouteReason r) {
    return Make(x == Side::kPrimary ? RouteTarget::kPrimary : RouteTarget::kStandby, r);
  };
  // The transaction's BEGIN was deferred (it went to the primary alone): the
  // standby joins at the first statement it must share. Not in a failed
  // transaction (its reads get the primary's error).
  const bool deferred = s.standbyTxDeferred && !s.standbyInTx && s.txStatus != 'E';
  const bool joining = deferred && c.broadcast && JoinsStandbyTx(c.kind);
  // A write in the same cycle, or a transaction made primary-only: the standby
  // does not join (and stays out: forgoStandbyTx).
  const bool joins = joining && !c.write && !ser && !rw;
  // Which broadcast commands the session's standby gets as well: session state
  // always; the transaction's own (BEGIN's rest, SAVEPOINT, COMMIT ...) only
  // when the standby takes part in it or joins it now.
  const bool tx_scoped = TransactionScoped(c.kind) || c.kind == StmtKind::kBegin;
  const bool mirror =
      c.broadcast && !ser && !rw && (joins || (s.standbyConnected && (tx_scoped ? s.standbyInTx : true)));
  auto to_both = [&](RouteDecision& d) {
    d.target = RouteTarget::kBoth;
    d.openStandbyTx = joins;
  };
  auto follow = [&](Side x, RouteReason r) {
    RouteDecision d = side(x, r);
    if (x == Side::kPrimary && (mirror || (s.standbyConnected && c.portalMirrored))) to_both(d);
    return d;
  };
  // Behind an Execute in the sequence the backend refuses a DISCARD ALL
  // (25001) and discards nothing: it goes there alone, not mirrored to a
  // standby where it would be first in a sequence of its own and run.
  if (s.pinned != Side::kNone && s.pipelined && c.kind == StmtKind::kDiscardAll)
    return side(s.pinned, RouteReason::kPinned);
  if (s.pinned != Side::kNone) return follow(s.pinned, RouteReason::kPinned);
  if (c.portal != Side::kNone) return follow(c.portal, RouteReason::kPortal);

  // The primary, or what to do without one: a plain read may use a standby.
  auto primary = [&](RouteReason why, bool read_elsewhere) {
    if (k.hasPrimary) return Make(RouteTarget::kPrimary, why);
    if (read_elsewhere && (s.standbyConnected || k.standbysEligible > 0))
      return Make(RouteTarget::kStandby, RouteReason::kNoPrimaryRead);
    if (idle && k.awaitPrimary) return Make(RouteTarget::kWait, RouteReason::kAwaitPrimary);
    return Make(RouteTarget::kError, RouteReason::kNoPrimary);
  };
  const bool floor_applies = b.readYourWrites && (s.floorPending || s.floorStale || s.readFloor > 0);
  const uint64_t floor = floor_applies ? s.readFloor : 0;
  // Can a standby serve this session's next read (balancing aside)?
  auto standby_at_floor = [&] {
    if (b.readYourWrites && (s.floorPending || s.floorStale)) return false;
    if (s.standbyConnected)
      return s.standbyEligible && (!floor_applies || s.standbyReplayLsn >= s.readFloor);
    return (floor_applies ? k.standbysAtFloor : k.standbysEligible) > 0;
  };
  const bool sticky = ReadsStayOnPrimary(s.wrote, in_tx, b.disableOnWrite);
  // Read-your-writes: a read that could use a standby while the last write's
  // LSN is not asked for yet goes to the primary, and asks for it right after.
  const bool standby_usable = s.standbyConnected ? s.standbyEligible : k.standbysEligible > 0;
  auto fetch_floor = [&](RouteReason why) {
    RouteDecision d = primary(why, true);
    d.fetchCommitLsn = d.target == RouteTarget::kPrimary;
    return d;
  };
  const bool stale = b.readYourWrites && s.floorStale && standby_usable;

  if (c.kind == StmtKind::kDeallocate && c.broadcast && !c.needPrimary) {
    if (!c.deallocateTracked) return primary(RouteReason::kDeallocateUntracked, false);
    if (c.parsedOnPrimary && c.parsedOnStandby && s.standbyConnected && (s.primaryConnected || k.hasPrimary))
      return Make(RouteTarget::kBoth, RouteReason::kDeallocateWhereParsed);
    if (c.parsedOnPrimary && s.primaryConnected) return Make(RouteTarget::kPrimary, RouteReason::kDeallocateWhereParsed);
    if (c.parsedOnStandby && s.standbyConnected) return Make(RouteTarget::kStandby, RouteReason::kDeallocateWhereParsed);
    // Answered by the proxy for a simple Query; an extended-protocol one goes to
    // the primary, which gets the statement's Parse again first.
    if (c.protocol == Protocol::kSimple) return Make(RouteTarget::kLocal, RouteReason::kDeallocateNowhere);
    return primary(RouteReason::kDeallocateNowhere, false);
  }

  // A SERIALIZABLE or READ WRITE transaction runs on the primary only (a
  // standby refuses both, and balancing would split it).
  if (ser || rw) return primary(ser ? RouteReason::kSerializableTx : RouteReason::kReadWriteTx, false);
  const bool begin = c.kind == StmtKind::kBegin;
  if (c.broadcast && !c.needPrimary) {
    if (begin && !s.standbyInTx && b.enabled && !s.tempTable && !sticky && k.hasPrimary && standby_at_floor()) {
      RouteDecision d = Make(RouteTarget::kPrimary, RouteReason::kTxBeginDeferred, floor);
      d.deferStandbyTx = true;
      return d;
    }
    bool main_primary = s.primaryConnected || (k.hasPrimary && (c.txBegin || !s.standbyConnected));
    if (!main_primary) {
      if (!s.standbyConnected && k.standbysEligible == 0) {
        if (idle && k.awaitPrimary) return Make(RouteTarget::kWait, RouteReason::kAwaitPrimary);
        return Make(RouteTarget::kError, RouteReason::kNoBackend);
      }
      return Make(RouteTarget::kStandby, RouteReason::kBroadcastNoPrimary);
    }
    RouteDecision d = primary(RouteReason::kBroadcast, false);
    if (d.target == RouteTarget::kPrimary && mirror) to_both(d);
    return d;
  }

  if (c.needPrimary || c.write || c.protocol == Protocol::kFunctionCall) {
    // Extended-protocol cycles may mix a SET or SAVEPOINT with a write: the
    // standby still gets the former (ClientSession mirrors only those).
    RouteDecision d = primary(RouteReason::kWrite, false);
    if (d.target == RouteTarget::kPrimary && mirror) to_both(d);
    return d;
  }
  if (c.functionsVolatile) return primary(RouteReason::kVolatileFunction, false);
  if (in_tx && s.txSerializable) return primary(RouteReason::kSerializableTx, false);
  if (in_tx && s.txReadWrite) return primary(RouteReason::kReadWriteTx, false);
  if (!in_tx && s.sessionSerializable) return primary(RouteReason::kSerializableSession, false);
  if (!b.enabled) return primary(RouteReason::kBalancingOff, true);
  if (s.tempTable) return primary(RouteReason::kTempTable, true);
  if (sticky)
    return primary(in_tx && b.disableOnWrite == DisableOnWrite::kTransaction ? RouteReason::kWroteInTransaction
                                                                              : RouteReason::kWroteInSession,
                   true);
  if (in_tx) {
    // A function of unknown volatility is not looked up inside the client's
    // transaction (a silent query failing there would abort it): the primary.
    if (c.functionsUnknown) return primary(RouteReason::kTxFunctionUnknown, true);
    if (s.standbyConnected && s.standbyInTx) {
      if (s.standbyAnswersPending) return Make(RouteTarget::kWait, RouteReason::kStandbyBeginPending);
      if (s.standbyTxStatus == 'T') return Make(RouteTarget::kStandby, RouteReason::kStandbyInTx);
    }
    if (deferred) {  // its first read there: the standby's BEGIN goes right before it
      RouteDecision d = Make(RouteTarget::kStandby, RouteReason::kStandbyInTx, floor);
      d.openStandbyTx = true;
      return d;
    }
    // Never outside the transaction: on the primary, which holds it. A floor
    // not asked for yet is asked for now, so that the session's later
    // transactions can use a standby again.
    if (stale) return fetch_floor(RouteReason::kTxOnPrimary);
    return primary(RouteReason::kTxOnPrimary, true);
  }
  if (c.functionsUnknown && (s.standbyConnected ? s.standbyEligible : k.standbysEligible > 0))
    return Make(RouteTarget::kWait, RouteReason::kFunctionLookup);
  if (stale) return fetch_floor(RouteReason::kCommitLsnStale);
  if (b.readYourWrites && s.floorPending) return primary(RouteReason::kCommitLsnPending, true);
  if (standby_at_floor()) return Make(RouteTarget::kStandby, RouteReason::kBalancedRead, floor);
  if (floor_applies && (s.standbyConnected ? s.standbyEligible : k.standbysEligible > 0))
    return primary(RouteReason::kReadYourWrites, true);
  return primary(RouteReason::kNoStandby, true);
}

}  // namespace

bool PrimaryDecisionOutlivesAttach(const RouteDecision& d, StmtKind kind, bool balancing) {
  // Of SessionView the attach changes primaryConnected alone, read by Decide
  // in two places: the DEALLOCATE branch (its reasons are not kept) and a
  // broadcast's main_primary, which it can only turn true (kBroadcast was
  // decided with it true already). The standby counts and awaitPrimary are read
  // on the way to a kept reason only by a BEGIN that may defer the standby's
  // part (standby_at_floor): kept when balancing is off, which rules that out.
  // Every other reason below is returned by primary() with a primary present,
  // before anything the clock moves is read.
  if (d.target != RouteTarget::kPrimary || d.deferStandbyTx || d.openStandbyTx || d.forgoStandbyTx ||
      d.fetchCommitLsn)
    return false;
  switch (d.reason) {
    case RouteReason::kBroadcast:
      return kind != StmtKind::kBegin || !balancing;
    case RouteReason::kWrite:
    case RouteReason::kBalancingOff:
    case RouteReason::kSerializableTx:
    case RouteReason::kReadWriteTx:
    case RouteReason::kSerializableSession:
    case RouteReason::kTempTable:
    case RouteReason::kWroteInSession:
      return true;
    default:
      return false;
  }
}

RouteDecision DecideRoute(const CycleSummary& c, const SessionView& s, const ClusterView& k,
                          const BalanceSettings& b) {
  const bool in_tx = s.txStatus != 'I';
  const bool begin = c.kind == StmtKind::kBegin;
  const bool set_tx = c.kind == StmtKind::kSetTransaction && in_tx;
  const bool ser = (begin && (c.isolation == TxIsolation::kSerializable ||
                              (c.isolation == TxIsolation::kUnspecified && s.sessionSerializable))) ||
                   (set_tx && c.isolation == TxIsolation::kSerializable);
  const bool rw = (begin || set_tx) && c.access == TxAccess::kReadWrite;
  RouteDecision d = Decide(c, s, k, b, ser, rw);
  if (d.target != RouteTarget::kWait) {
    d.txSerializable = ser;
    d.txReadWrite = rw;
  }
  // A command a deferred standby transaction would need that does not go
  // there: the standby stays out of the transaction (it would miss it).
  const bool deferred = s.standbyTxDeferred && !s.standbyInTx && s.txStatus != 'E';
  if (deferred && c.broadcast && JoinsStandbyTx(c.kind) && !d.openStandbyTx && d.target != RouteTarget::kWait &&
      d.target != RouteTarget::kError && d.target != RouteTarget::kLocal)
    d.forgoStandbyTx = true;
  return d;
}

}  // namespace pgvigil::proxy
