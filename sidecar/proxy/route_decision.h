// The per-statement routing decision of a client session, pure: where one
// cycle (a simple Query, a FunctionCall, or extended-protocol messages up to
// Sync or Flush) goes, given what it contains, the session's transaction and
// write state, the routing snapshot and the load-balancing settings. No I/O,
// no clocks, no randomness: ClientSession (session_dispatch.cc) gathers the
// inputs, calls DecideRoute, and carries out the decision (connects, sends,
// waits, answers an error). Table-tested in route_decision_test.cc.
//
// What it guarantees (see the README, "Read balancing"):
//  * writes, locking reads, volatile and primary-only functions, temp tables,
//    LISTEN/NOTIFY, COPY FROM, 2PC: the primary;
//  * a SERIALIZABLE or READ WRITE transaction, and every statement of a session
//    whose default isolation is SERIALIZABLE: the primary (never balanced,
//    like Pgpool-II); reads of a transaction never run outside it: a standby
//    serves a transaction's reads only inside a transaction of its own there;
//  * a transaction's BEGIN goes to the primary alone; the standby's own BEGIN
//    is deferred to the first statement of the transaction sent there (its
//    first read, or a SET / SAVEPOINT the standby must share), and sent just
//    before it (RouteDecision::openStandbyTx). PostgreSQL takes a
//    transaction's snapshot at its first statement, not at BEGIN, so the
//    standby sees what it would have seen with the BEGIN sent at once; a
//    transaction that writes first (disableOnWrite) never opens one;
//  * read-your-writes: after the session's write committed at LSN L, a read
//    goes to a standby whose replay LSN is known to be >= L, else the primary.
//    While L is not asked for yet (SessionView::floorStale: the session did
//    not ask when the write ended, see session_capture.cc), a read that could
//    use a standby goes to the primary with the LSN query right behind it
//    (fetchCommitLsn).
#pragma once

#include <cstdint>
#include <string>

#include "common/spec.h"
#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {

enum class Protocol { kSimple, kExtendedSync, kPipelineFlush, kFunctionCall };
enum class Side { kNone, kPrimary, kStandby };
const char* ToString(Protocol p);
const char* ToString(Side s);

// What the cycle contains (ClientSession::Cycle, summarised).
struct CycleSummary {
  Protocol protocol = Protocol::kSimple;
  bool local = false;        // SHOW pool_nodes & co, answered by the proxy
  bool needPrimary = false;  // a statement that must run on the primary
  bool broadcast = false;    // a transaction/session command (BEGIN, SET, SAVEPOINT ...)
  bool write = false;
  bool txBegin = false;
  int reads = 0;             // balanceable reads
  StmtKind kind = StmtKind::kOther;  // the first transaction/session command in it
  TxIsolation isolation = TxIsolation::kUnspecified;  // declared by kind (BEGIN, SET TRANSACTION ...)
  TxAccess access = TxAccess::kUnspecified;
  Side portal = Side::kNone;  // executes or describes a portal bound earlier there
  bool portalMirrored = false;  // that portal was bound on the standby too (a mirrored BEGIN, SET ...)
  bool functionsUnknown = false;  // calls functions whose volatility is not known yet
  bool functionsVolatile = false; // calls a volatile function (pg_proc.provolatile = 'v')
  // kDeallocate of a statement the proxy tracks: where it is parsed now.
  bool deallocateTracked = false;
  bool parsedOnPrimary = false, parsedOnStandby = false;
};

// The session's state before the cycle.
struct SessionView {
  char txStatus = 'I';       // the client's: 'I' idle, 'T' in a transaction, 'E' failed one
  Side pinned = Side::kNone;  // an extended-protocol sequence (up to its Sync) in progress there
  // An Execute went into that sequence: PostgreSQL refuses DISCARD ALL there
  // ("cannot be executed within a pipeline", 25001).
  bool pipelined = false;
  bool wrote = false;         // wrote in this transaction (disableOnWrite=transaction) or session (always)
  bool tempTable = false;     // created a temp table: everything on the primary
  bool txSerializable = false;  // this transaction is SERIALIZABLE (primary only)
  bool txReadWrite = false;     // this transaction was declared READ WRITE (primary only)
  bool sessionSerializable = false;  // default_transaction_isolation is serializable
  bool primaryConnected = false;
  bool standbyConnected = false;
  bool standbyInTx = false;       // the standby got this transaction's BEGIN
  // This transaction's BEGIN went to the primary alone: the standby joins at
  // the first statement of the transaction that goes there (never both set).
  bool standbyTxDeferred = false;
  char standbyTxStatus = 'I';     // the standby backend's last ReadyForQuery status
  bool standbyAnswersPending = false;  // the standby still owes answers (BEGIN's, a mirrored SET's)
  bool standbyEligible = false;   // the session's standby node still takes balanced reads
  uint64_t standbyReplayLsn = 0;  // that node's replay LSN as last checked (0: unknown)
  uint64_t readFloor = 0;         // read-your-writes: the last committed write's LSN (0: none)
  bool floorPending = false;      // that LSN is being fetched from the primary, or a write has not ended yet
  bool floorStale = false;        // a write ended and its LSN is not asked for yet
};

// The routing snapshot as this decision needs it.
struct ClusterView {
  bool hasPrimary = true;         // a confirmed primary (writes fail closed without one)
  bool holdNewTransactions = false;  // a switchover holds new transactions
  bool awaitPrimary = false;      // a switchover's new primary is not confirmed yet: wait for it
  // Both read only when SessionView::standbyConnected is false.
  int standbysEligible = 0;       // standbys taking balanced reads (not avoided)
  int standbysAtFloor = 0;        // of those, the ones whose replay LSN >= SessionView::readFloor
};

struct BalanceSettings {
  bool enabled = true;
  DisableOnWrite disableOnWrite = DisableOnWrite::kTransaction;
  bool readYourWrites = true;
};

// disableOnWrite: after a write, reads stay on the primary for the rest of
// the transaction (transaction) or of the session (always). The decision and
// the session's shortcuts past it (sequences it follows) ask the same.
inline bool ReadsStayOnPrimary(bool wrote, bool in_tx, DisableOnWrite d) {
  return wrote && ((d == DisableOnWrite::kTransaction && in_tx) || d == DisableOnWrite::kAlways);
}

enum class RouteTarget {
  kPrimary,
  kStandby,
  kBoth,   // the primary answers; the session's standby gets the same command silently
  kLocal,  // answered by the proxy
  kWait,   // retry later (see reason)
  kError,  // answer the cycle with an error
};
const char* ToString(RouteTarget t);

enum class RouteReason {
  kLocalCommand,
  kPaused,              // wait: a switchover holds new transactions
  kAwaitPrimary,        // wait: the new primary is not confirmed yet
  kPinned,              // an unsynced extended sequence continues on its backend
  kPortal,              // a portal lives on one backend
  kDeallocateWhereParsed,
  kDeallocateNowhere,   // no backend holds the statement: local (simple), else the primary parses it again
  kDeallocateUntracked, // an SQL PREPAREd (or unknown) statement: the primary
  kSerializableTx,      // BEGIN/SET TRANSACTION ... SERIALIZABLE, or a session default
  kReadWriteTx,         // BEGIN/SET TRANSACTION READ WRITE
  kSerializableSession, // default_transaction_isolation = serializable
  kTxBeginDeferred,     // BEGIN on the primary; the standby's is deferred to the transaction's first statement there
  kBroadcast,           // SET/SAVEPOINT/COMMIT ... on every backend in use
  kBroadcastNoPrimary,  // ... only the standby is in use and no primary is confirmed
  kWrite,               // a write or a statement that needs the primary
  kVolatileFunction,
  kFunctionLookup,      // wait: the session looks the functions' volatility up
  kBalancingOff,
  kTempTable,
  kWroteInTransaction,  // disableOnWrite = transaction
  kWroteInSession,      // disableOnWrite = always
  kStandbyInTx,         // a read of a transaction the standby takes part in
  kStandbyBeginPending, // wait: the standby has not answered the transaction's BEGIN yet
  kTxOnPrimary,         // a read of a transaction the standby is not part of
  kTxFunctionUnknown,   // a transaction's read calling a function of unknown volatility
  kCommitLsnStale,      // read-your-writes: the commit LSN is asked for right after this read
  kCommitLsnPending,    // read-your-writes: the commit LSN is not known yet
  kReadYourWrites,      // read-your-writes: no standby has replayed the session's last write
  kBalancedRead,
  kNoStandby,           // a read with no standby available: the primary
  kNoPrimaryRead,       // a read with no confirmed primary: a standby
  kNoPrimary,           // error: needs the primary and none is confirmed
  kNoBackend,           // error: a read with neither a primary nor a standby
};
const char* ToString(RouteReason r);

struct RouteDecision {
  RouteTarget target = RouteTarget::kPrimary;
  RouteReason reason = RouteReason::kWrite;
  // kStandby / kBoth: a standby that is not connected yet is picked among those
  // whose replay LSN is at least this (0: any eligible standby).
  uint64_t minReplayLsn = 0;
  // BEGIN (kPrimary): the standby may join this transaction later; the
  // session keeps the BEGIN to send it there first (openStandbyTx).
  bool deferStandbyTx = false;
  // kStandby / kBoth in a transaction whose BEGIN was deferred: the standby's
  // BEGIN goes right before this cycle (a standby connected for it is picked
  // at the floor the BEGIN found).
  bool openStandbyTx = false;
  // A deferred transaction's SET / SAVEPOINT ... that does not go to the
  // standby (it writes too, or makes the transaction primary-only): the
  // standby stays out of this transaction.
  bool forgoStandbyTx = false;
  // kPrimary: read-your-writes asks the primary for the commit LSN right after
  // this cycle (SessionView::floorStale).
  bool fetchCommitLsn = false;
  // What the transaction becomes (kBegin / kSetTransaction): primary only.
  bool txSerializable = false, txReadWrite = false;
};

// A local command, and every message of an extended-protocol sequence already
// pinned to a backend: DecideRoute then reads only CycleSummary and, of
// SessionView, txStatus, pinned, pipelined, standbyConnected, standbyInTx,
// standbyTxDeferred and sessionSerializable. The session leaves the rest of SessionView and the
// whole ClusterView default for these (gathering them costs a clock read and
// a pass over the routing snapshot per message); route_decision_invariants_test
// checks that the decision is the same.
inline bool DecidedBySequence(const CycleSummary& c, const SessionView& s) {
  return c.local || s.pinned != Side::kNone;
}

RouteDecision DecideRoute(const CycleSummary& c, const SessionView& s, const ClusterView& k,
                          const BalanceSettings& b);

// Transaction pooling, route-once for the primary (session_kept_route.cc): a
// decision made outside a transaction and a sequence with no backend attached
// (primaryConnected and standbyConnected false) that DecideRoute makes again,
// field for field, once the primary backend is attached, whatever ClusterView's
// standby counts and awaitPrimary say then (the clock moves them: avoidances
// expire, a resume ages), everything else of its inputs unchanged. kind is the
// cycle's (CycleSummary::kind), balancing BalanceSettings::enabled.
// route_decision_invariants_test checks it over the whole space.
bool PrimaryDecisionOutlivesAttach(const RouteDecision& d, StmtKind kind, bool balancing);

// "standby (balanced read)", for logs and tests.
std::string Describe(const RouteDecision& d);

}  // namespace pgvigil::proxy
