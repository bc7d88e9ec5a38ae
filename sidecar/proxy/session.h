// One client connection: startup (SSLRequest/TLS, GSSENC refused, cancel),
// hba + password authentication, then the routed relay between the client and
// up to two backends (the primary and one load-balance standby). Lives on one
// worker thread; held by shared_ptr while any async operation refers to it.
// States: kStartup -> [kTls] -> kAuth -> kLogin -> kReady -> kClosed, changed only
// through SetState, which refuses going back.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <spdlog/spdlog.h>

#include "sidecar/proxy/backend_conn.h"
#include "sidecar/proxy/hba.h"
#include "sidecar/proxy/io_buffers.h"
#include "sidecar/proxy/plain_run.h"
#include "sidecar/proxy/portal_table.h"
#include "sidecar/proxy/proxy_shared.h"
#include "sidecar/proxy/quiet_read.h"
#include "sidecar/proxy/route_decision.h"
#include "sidecar/proxy/scram.h"
#include "sidecar/proxy/session_sets.h"
#include "sidecar/proxy/tx_backends.h"
#include "sidecar/proxy/wire_decoder.h"
#include "sidecar/proxy/worker_socket.h"

namespace pgvigil::proxy {

class ClientSession : public std::enable_shared_from_this<ClientSession>, public BackendOwner {
 public:
  enum class State { kStartup, kTls, kAuth, kLogin, kReady, kClosed };

  ClientSession(Worker* worker, WorkerSocket sock);
  ~ClientSession() override;
  // Registers the session with its worker (closing the worker's oldest
  // unauthenticated connection first when its share of
  // maxUnauthenticatedConnections is full) and starts reading.
  void Start();
  // At proxy shutdown (worker threads stopped): lets an open session go.
  void Abandon() { keepAlive_.reset(); }
  // Closes a connection that has not finished startup + authentication, without
  // a message (PostgreSQL sends nothing when authentication_timeout expires).
  // evicted: to make room for a newer one; else authenticationTimeout passed.
  void CloseUnauthenticated(bool evicted);
  std::chrono::steady_clock::time_point acceptedAt() const { return acceptedAt_; }
  // Sends a FATAL error and closes (used on primary change, shutdown).
  void Terminate(const std::string& sqlstate, const std::string& message, const std::string& reason);
  // When the primary the session is bound to is no longer the primary: an idle
  // session drops that backend and connects to the new primary on its next
  // statement; one holding state that cannot move (see WhyNotMovable) is ended.
  void OnRoutingChanged(const EffectiveRouting& r);

  // Transaction pooling: the pool backend (conn) or the slot for a new one
  // (slot) this queued session waited for (session_txpool.cc); by reference,
  // from the pending grant that holds them until this returns.
  void OnTxGrant(uint64_t ticket, std::shared_ptr<BackendConn>&& conn, std::shared_ptr<TxSlot>&& slot);
  // Transaction pooling: backend b, lent to this session (TxBackends::Lend), is
  // taken from it (another client needs it, or it idled too long): the session
  // lets go of it at once (it is at a transaction boundary).
  void OnLentTaken(BackendConn* b);
  // A client's cancel request (CancelTargets), on this session's worker: sent
  // to the backends it holds now. `from`: where the request came from.
  void ForwardCancel(const std::string& from);
  // Admin console rows (admin_console.h), on the worker's thread.
  void DescribeForAdmin(struct AdminClientRow* client, std::vector<struct AdminServerRow>* servers) const;

  bool OnBackendFrame(BackendConn* b, const Frame& f) override;
  RunTaken OnBackendRun(BackendConn* b, const uint8_t* data, size_t n) override;
  void OnBackendReadDone(BackendConn* b) override;
  void OnBackendClosed(BackendConn* b, const std::string& reason) override;

 private:
  enum class AuthStep { kNone, kMd5, kScramFirst, kScramFinal };
  enum class Target { kNone, kPrimary, kStandby };

  struct Statement {
    std::string parse;  // the client's Parse message, replayed on another backend
    SqlClass cls;
    uint64_t version = 0;
    // Transaction pooling, a named statement: the proxy's name for it on the
    // backends (Worker::StatementName); parse carries that name. "" otherwise.
    std::string server;
  };
  // One client message being routed: a Query / FunctionCall, or one
  // extended-protocol message (kind = its type byte). Clean (as Reset leaves
  // it) whenever not active: HandleReadyFrame fills it just before it becomes
  // active, and it stops being active only through Reset (a malformed message
  // may leave it half filled, but the session is closed then).
  struct Cycle {
    // The message as sent on: in the client's read buffer (frame) while it is
    // dispatched at once, from HandleReadyFrame; in bytes when it waits (Own)
    // or is rewritten (transaction pooling: a statement named by the proxy's
    // name; frame is cleared then). Bytes() is whichever holds it.
    std::string_view frame;
    std::string bytes;
    std::string_view Bytes() const { return frame.data() ? frame : std::string_view(bytes); }
    void Own() {
      if (!frame.data()) return;
      bytes.assign(frame.data(), frame.size());
      frame = {};
    }
    char kind = 0;  // 'Q' simple, 'S' sync, 'H' flush, 'F' function call
    bool active = false;
    bool needPrimary = false, broadcast = false, txBegin = false, createsTemp = false, write = false;
    bool local = false;
    LocalCommand localCmd = LocalCommand::kNone;
    int reads = 0;
    std::string reason;  // for logs only
    StmtKind stmtKind = StmtKind::kOther;  // the first transaction/session command
    TxIsolation isolation = TxIsolation::kUnspecified;
    TxAccess access = TxAccess::kUnspecified;
    int statements = 0;
    std::string object;  // kDeallocate: the statement name
    bool ddl = false;
    bool executesOnPrimary = false;  // runs a write or primary-only statement (not only parses one)
    std::vector<std::string> functions;  // called by its reads (volatility looked up)
    bool functionsLookedUp = false;
    std::string sessionState;  // SqlClass::sessionState of any statement in the cycle
    bool multiStatement = false;  // a Query of several statements
    std::vector<SqlStep> steps;   // SqlClass::steps of that Query
    uint32_t queryStatements = 0; // and how many statements it has (with steps only)
    std::string boundSet;         // a Bind of a SET / RESET name statement: its text
    // The transaction status the message met, when the proxy failed the
    // client's open sequence for its error (FailSequence; the status after
    // that is the proxy's doing); 0: the last ReadyForQuery's (txStatus_).
    char statusMet = 0;
    // Transaction pooling: an error the proxy answers this message with instead
    // of running it (a duplicate statement name, the statement cap, SQL
    // EXECUTE of a protocol-level name); "" none.
    std::string txErrorState, txError;
    std::vector<std::string> refStatements;  // used but not parsed in this cycle
    std::vector<std::string> parsedHere;
    std::vector<uint64_t> parsedVersions;  // Statement::version of each of parsedHere, as parsed
    // A Parse of a named statement the client did not have (or one whose
    // Close is in flight): the statement is the client's only once PostgreSQL
    // answers that Parse (it skips one behind an error in the sequence), and
    // not at all when the proxy never sends it.
    bool parseCreates = false;
    // A Parse of the unnamed statement: the one it replaces (unnamedBefore,
    // at unnamedBeforeVersion, 0 none; unnamedSame: the same Parse again, its
    // text kept in place), restored when PostgreSQL skips this Parse. Held
    // only when there was one and it differs (a driver that parses the same
    // unnamed statement for every execution moves no Statement around).
    bool unnamedParse = false, unnamedSame = false;
    uint64_t unnamedBeforeVersion = 0;
    std::optional<Statement> unnamedBefore;
    std::vector<std::string> closedStatements;
    std::vector<std::string> boundPortals;
    Target portalTarget = Target::kNone;
    bool portalMirrored = false;  // the portal was bound on the standby too
    void Reset();
  };

  void SetState(State s);
  void DoRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void FlushClient();
  void Process();  // handles buffered client bytes for the current state
  bool HandleStartupFrame(const Frame& f);
  bool HandleAuthFrame(const Frame& f);
  void BeginAuth();
  void AuthFailed(const std::string& sqlstate, const std::string& message, const std::string& reason);
  void AuthSucceeded();
  void SendLoginCompletion(const std::vector<std::pair<std::string, std::string>>& params);
  // Closes after sending what is queued; the reason is logged at `level`
  // (info by default; debug for what PostgreSQL does not log either).
  void Close(const std::string& reason, spdlog::level::level_enum level = spdlog::level::info);
  // Handles a framing error of the client's bytes the way PostgreSQL does in
  // the same state (silent close, or a FATAL).
  void OnDecodeError();
  void LeaveUnauthenticated();
  void Drain();
  void FinalWrite();
  void Fatal(const std::string& sqlstate, const std::string& message, const std::string& reason);

  // Ready state (session_cycle.cc reads client messages, session_routing.cc routes them).
  bool HandleReadyFrame(const Frame& f);
  void AddToCycle(const Frame& f);
  // A Parse byte for byte the same as the one statement `name` came from (a
  // client preparing its unnamed statement again for every execution): takes
  // the classification already made instead of classifying and copying again.
  bool ReparseSame(const Frame& f, const std::string& name);
  // A Bind, Describe or Execute of a read in a sequence pinned to a backend,
  // where routing it would only say "the same backend" and change nothing but
  // the portal it binds and the read counters: forwarded at once, without a
  // cycle (session_follow.cc). False when it needs the general way
  // (AddToCycle, TryDispatch); nothing has changed then.
  bool FollowSequence(const Frame& f);
  // What lets a message of the sequence pinned to backend b (Conn(t)) follow
  // it, but for the message itself and the routing snapshot (sync: a Sync).
  bool MayFollow(Target t, const BackendConn& b, bool sync) const;
  // Sequences pinned to the primary: it is still routing's primary and the
  // general way would not drop the standby now.
  bool PrimaryStaysRouted();
  // What FollowSequence forwards is sent in one piece per run of messages:
  // the bytes stay in the client's read buffer until a message it does not
  // follow comes, or Process ends its batch (FlushFollowed, before anything
  // else reaches a backend).
  void Forward(Target t, const char* data, size_t n);
  void FlushFollowed() {
    if (followed_.to) SendFollowed();
  }
  void SendFollowed();
  // A backend message the client gets as it is (most of them): consecutive
  // ones of one backend read go into out_.pending in one piece. The run points
  // into that backend's read buffer, so it is flushed before anything else
  // goes into out_.pending and before that read ends (FlushRelayed: in
  // OnBackendFrame's other branches, OnBackendReadDone, OnBackendClosed,
  // FlushClient and Close).
  void RelayToClient(const char* data, size_t n) {
    if (!relayed_.data || relayed_.data + relayed_.size != data) {
      FlushRelayed();
      relayed_.data = data;
    }
    relayed_.size += n;
  }
  // RelayToClient, then a flush when a lot waits; false when the client is
  // that far behind that the backend's reading pauses (OnBackendFrame).
  bool RelayChecked(const char* raw, size_t n) {
    RelayToClient(raw, n);
    return out_.pending.size() + relayed_.size <= (256u << 10) || FlushLargeRelay();
  }
  bool FlushLargeRelay();
  // Backend b answers the client's own cycle (not the proxy's silent one, nor
  // a DISCARD ALL whose completion the session reads) as one of the session's
  // backends: a message of a PlainRelayType then goes to the client as it is.
  bool RelaysPlainly(const BackendConn* b) const {
    return !b->outstanding.empty() && !b->outstanding.front().silent && !b->outstanding.front().discardAll &&
           !b->outstanding.front().watchTags && (b == primary_.get() || b == standby_.get());
  }
  // OnBackendFrame for a message that is not plainly relayed.
  bool OnSpecialFrame(BackendConn* b, const Frame& f);
  void FlushRelayed() {
    if (!relayed_.size) return;
    out_.pending.append(relayed_.data, relayed_.size);
    relayed_ = {};
  }
  // The statement `name` as this session tracks it, when backend t holds its
  // current version (nothing to parse again there first); else null.
  const Statement* ParsedOn(Target t, std::string_view name);
  bool TryDispatch();  // false: blocked (connecting, waiting for other backend, paused)
  // The trace line of a cycle routed to `main` on decision d (TraceOn()).
  void TraceDispatch(Target main, const RouteDecision& d);
  bool DispatchSyncOrFlush();
  // Ends the client's open extended sequence on its backend with the proxy's own
  // Sync (see session_routing.cc). True when none was open; false when one was
  // just ended: the caller waits for its ReadyForQuery.
  bool SettleSequence() { return EndSequence(false); }
  // The same for a sequence an error of the proxy's ends: the backend's part
  // fails first (sequence_failure.h), as PostgreSQL fails a sequence that
  // meets an error (the implicit transaction rolls back, an explicit one is
  // left failed).
  bool FailSequence() {
    if (pinned_ != Target::kNone && !cycle_.statusMet) cycle_.statusMet = txStatus_;
    return EndSequence(true);
  }
  bool EndSequence(bool fail);
  void DropStandby(const std::string& why);
  void Absorb(const SqlClass& c, bool executes);
  RouteDecision Decide(RoutingOnUse& routing);  // loads the snapshot only when the decision reads it
  void AfterDispatch(Target main, bool also_standby, const RouteDecision& d);
  // select_cnt of main's node and the reads metric, for `reads` statements run there.
  void CountReads(Target main, int reads);
  void AnswerDeallocateLocally();
  bool DeallocateCycle() const;  // the cycle is one DEALLOCATE name (see session_dispatch.cc)
  // Read-your-writes and function volatility (session_capture.cc): silent
  // queries on a backend whose rows the session reads.
  void AfterClientCycle(BackendConn* b, Target t);  // after a ReadyForQuery the client gets
  // The cycle about to go to the primary ends the session's write when it
  // completes (see session_capture.cc); then FetchCommitLsnAfterWrite, once
  // it is sent, queues the commit LSN query right behind it (if the primary
  // may have been written and read-your-writes is on).
  bool CycleEndsWrite() const;
  void FetchCommitLsnAfterWrite(BackendConn* b);
  // Sends the commit LSN query asked for (lsnWanted_) on the primary backend
  // b, right behind what was sent there, unless an extended sequence is open
  // there (then after its Sync).
  void FetchCommitLsnAfter(BackendConn* b);
  void SendCommitLsnQuery(BackendConn* b);
  // Sends a simple Query of the proxy's own (q, a whole Query message) on one
  // of the session's backends. PostgreSQL drops the unnamed statement at every
  // simple Query: the client's is no longer there (parsed again at its next use).
  void SendOwnQuery(BackendConn* b, const std::string& q);
  void OnCapturedRow(BackendConn* b, BackendConn::Capture c, const Frame& f);
  // failed: the silent query got an error.
  void OnCaptureDone(BackendConn* b, BackendConn::Capture c, bool failed);
  bool CapturePending(BackendConn::Capture c) const;
  void LookUpFunctions(BackendConn* b);
  // The client's transaction failed on backend `failed`: the other backend's
  // part of it fails too, so that nothing runs or commits there until the
  // client rolls back (to a savepoint), as PostgreSQL behaves.
  void FailTransactionElsewhere(Target failed);
  // Fails the client's transaction on backend t (its last ReadyForQuery said
  // 'T', no unsynced sequence there) with a silent statement that errors; true
  // when sent.
  bool FailTransactionOn(Target t);
  void AnswerLocal();
  // An error the proxy answers for the client's message instead of running it
  // (refused statement, no backend for it): inside a transaction, the
  // transaction is failed on the backend(s) holding it first, as PostgreSQL's
  // own error would (its COMMIT then answers ROLLBACK); in an extended
  // sequence, the rest of it up to the client's Sync is skipped.
  void CycleError(const std::string& sqlstate, const std::string& message);
  void SendCycle(const std::shared_ptr<BackendConn>& b, bool silent);
  // A transaction's BEGIN whose standby part is deferred (route_decision.h):
  // keeps the cycle's BEGIN as a Query for the standby (standbyBegin_); false
  // when its text cannot be had (then the standby stays out).
  bool KeepDeferredBegin();
  // Sends the deferred BEGIN to the standby (silently, its answer absorbed),
  // right before the first statement of the transaction that goes there.
  void OpenStandbyTx();
  std::shared_ptr<BackendConn>& Conn(Target t) { return t == Target::kPrimary ? primary_ : standby_; }
  std::unordered_map<std::string, uint64_t>& Parsed(Target t) {
    return t == Target::kPrimary ? parsedOnPrimary_ : parsedOnStandby_;
  }
  // What backend t has parsed is forgotten (another backend takes its place).
  // Under transaction pooling, where that happens for every transaction of a
  // client that waited, the entries stay, marked stale (version 0, never a
  // statement's): the map does not free and allocate its nodes each time.
  void ForgetParsed(Target t);
  // A cycle on backend t ended with Parses of the proxy's unanswered (an
  // error skipped them, or they failed): those statements are not parsed
  // there (erased, or marked stale when the version before stays). The
  // client's own Parses of statements it did not have that went unanswered
  // are not parsed there either; when the cycle was the client's (not a
  // silent mirror), the client has no such statement, as on PostgreSQL.
  void ForgetUnansweredParses(Target t, const AddedAnswers& added, bool clients);
  // The cycle's Parse is not sent (skipped behind an error, or answered with
  // an error of the proxy's, `failed`): a statement it would have created is
  // forgotten; an unnamed statement it replaced is restored, or, failed,
  // dropped as PostgreSQL drops it when a Parse of a new one fails.
  void ForgetUnsentParse(bool failed);
  // A Parse (session mode) of a name the client has, not being closed: it
  // gets PostgreSQL's 42P05 from the backend, which gets the statement first
  // if it has not got it; the statement stays as it was. False otherwise.
  bool DuplicateParse(const std::string& name);
  // Session mode: a Parse of a name whose creating Parse a backend has still
  // to answer, in a sequence ended by Sync, waits for that answer (its
  // failure leaves the name free, and this Parse prepares it). False: decide
  // now (in the sequence still open an error would skip this Parse anyway).
  bool ParseAwaitsAnswer(const Frame& f) const;
  // A Close of the client's statement `name` was sent and not answered yet.
  bool Closing(const std::string& name) const;
  // The client's Close of `name` (at `version`; `wire`: the name the backend
  // knows it by) was answered by backend t: the statement is gone.
  void ClientClosed(Target t, const std::string& name, uint64_t version, const std::string& wire);
  // Backend t ran a DISCARD ALL sent when the client's statements were up to
  // version `at` (its CommandComplete came): what it had prepared is gone; the
  // client's statements up to `at` too when the DISCARD ALL was the client's.
  // The client's SETs to replay up to number `sets_at` go too (when the client's).
  void DiscardedAll(Target t, uint64_t at, uint64_t sets_at, bool clients);
  // A DISCARD ALL of the client's is not answered yet: a backend joining now
  // would get the SETs replayed that it may or may not reset.
  bool DiscardAllInFlight() const;
  // The unnamed statement the Parse at `version` replaced is the client's
  // again (PostgreSQL skipped that Parse).
  void RestoreUnnamed(uint64_t version);
  // Backend t's copy of the client's statement `name` (a version up to
  // `up_to`) is stale: forgotten, and closed there (under transaction pooling
  // only the unnamed statement: the proxy's names stay for whoever parses the
  // same text), so that a Bind of it there gets 26000 as on PostgreSQL.
  void CloseStale(Target t, const std::string& name, uint64_t up_to);
  bool BusyOtherThan(Target t) const;
  // r.Find(standby_->login().node) (standby_ set): the last answer when that
  // node is still there, checked with one name compare instead of a search.
  int StandbyIndex(const EffectiveRouting& r);
  // min_lsn: only standbys whose replay LSN is known to be at least this.
  // Under transaction pooling, preferably one whose pool has a backend ready (ReadyPoolNode).
  int ChooseLoadBalanceNode(const EffectiveRouting& r, uint64_t min_lsn = 0);
  // Transaction pooling: `pick` (the weighted choice), unless its pool has no
  // backend ready and another balanced node's (not avoided, at min_lsn) has
  // (ServesSooner).
  int ReadyPoolNode(const EffectiveRouting& r, int pick, uint64_t min_lsn);
  std::vector<bool> AvoidMask(const EffectiveRouting& r, uint64_t min_lsn) const;
  // Node i is avoided: a recent connect failure there, or its replay LSN below min_lsn.
  // Inline: Decide asks twice per node for every routed cycle.
  bool Avoided(const EffectiveRouting& r, size_t i, uint64_t min_lsn,
               std::chrono::steady_clock::time_point now) const {
    if (min_lsn > 0 && r.nodes[i].replayLsn < min_lsn) return true;
    return worker_->avoidUntil.Avoided(r.nodes[i].node.name, now);  // empty: no hashing
  }
  // User, database and startup options, '\0'-separated: fixed once the
  // startup packet is read, so built once (transaction pooling asks for every
  // transaction).
  const std::string& LoginKey() const;
  // The idle / transaction pool key of node `node`: node + '\0' + LoginKey(),
  // kept per node (transaction pooling connects for every transaction, to the
  // standbys in turn). `index`: the node's place in routing (its share of
  // proxy.pool.size, TxPoolShare).
  struct PoolKeyEntry {
    std::string key;
    TxKey* tx = nullptr;  // transaction pooling: its pool, referenced until the session closes
  };
  const PoolKeyEntry& PoolKey(const std::string& node, int index) {
    // The entry found at this place in routing last time, checked by name (the
    // place of a node may change with routing): one compare, not a search.
    // Every entry has the same login part (LoginKey is fixed by then).
    if (index >= 0 && size_t(index) < poolKeyAt_.size()) {
      const PoolKeyEntry* e = poolKeyAt_[size_t(index)];
      if (e && e->key.size() > node.size() && e->key[node.size()] == '\0' &&
          std::memcmp(e->key.data(), node.data(), node.size()) == 0)
        return *e;
    }
    return FindPoolKey(node, index);
  }
  const PoolKeyEntry& FindPoolKey(const std::string& node, int index);
  void ReleaseBackends();
  // Session moving (session_move.cc). "" when the session may leave its primary
  // backend for another node: idle (no transaction, no statement, extended
  // sequence or COPY in progress) and holding no state that cannot be replayed
  // (temp tables, LISTEN, advisory locks, SQL PREPARE, ...); else why not.
  std::string WhyNotMovable() const;
  // Drops the primary backend (closed, never pooled) and what was parsed on it;
  // the next statement needing the primary connects to routing's primary then.
  void DropPrimary(const std::string& why);
  // Ends the session because its primary `node` went away (`what`) while it
  // could not move; or drops the backend when it can. True when ended.
  bool LeavePrimary(std::string node, const std::string& what);
  // Records session state that will not survive a move (kept until the end).
  void NoteSessionState();
  // A backend closed while the client waited for nothing from it: if its node
  // still serves (a probe login works) the backend alone was ended
  // (pg_terminate_backend, a timeout): the client gets its FATAL and the session
  // ends, as with PostgreSQL. If the node went away (shutdown, crash,
  // switchover) the session may move (LeavePrimary) or get another standby.
  void ProbeAfterIdleClose(Target t, const BackendLogin& login, const std::string& fatal,
                           const std::string& fatal_text, const std::string& reason);
  // Ends the session with the backend's own FATAL when it sent one, else with
  // an 08006 naming the node and the reason (one error, never two).
  void EndWithBackendError(const std::string& fatal, const std::string& node, const std::string& reason);
  // Keeps ProxyShared::primaryBusySessions in step with this session.
  void UpdateBusyCount();
  void ScheduleRetry();
  // SET/RESET the client ran before backend b joined the session.
  // Transaction pooling: only for a client that keeps its backends (pinned);
  // the parameters that follow a client are set where it runs
  // (SyncTrackedParameters), and nothing else of a SET is kept. That check
  // inline (there a backend joins for nearly every transaction), the replay
  // out of line.
  void ReplaySessionSets(BackendConn* b) {
    if (!TxMode() || !txPinned_.empty()) ReplayConfirmedSets(b);
  }
  void ReplayConfirmedSets(BackendConn* b);
  // session_settings.cc: a SET/RESET (RESET ALL, a savepoint command while
  // one waits in a block) sent to `main`, recorded in sets_ to be confirmed
  // by its answer; and that answer.
  void NoteSetChange(Target main, bool also_standby);
  void SetCycleAnswered(const BackendConn::Cycle& done, char status);
  void NoteQuerySteps(BackendConn* b, bool also_standby);
  // The SetKey of the cycle's SET / RESET name statement (session_sets.h).
  std::string CycleSetKey() const;
  // Transaction pooling, the parameters that follow the client
  // (tracked_params.h): a ParameterStatus from b, relayed to the client or
  // not; and the silent SETs that bring b to the client's values first.
  void NoteParameterStatus(BackendConn* b, Target t, const Frame& f);
  void SyncTrackedParameters(BackendConn* b);
  void ConnectForLogin();
  // Connects (or takes from the idle pool) `t` to routing node `node`; true when
  // attached at once, false while connecting (Process() runs when done).
  bool Connect(Target t, int node, const EffectiveRouting& r);
  void AttachPooled(Target t, std::shared_ptr<BackendConn>&& conn);  // an idle / parked backend, moved in
  void StartLogin(Target t, const RouteNode& nd, int node, std::shared_ptr<TxSlot> slot);

  // Transaction pooling (session_txpool.cc).
  bool TxMode() const { return worker_->tx != nullptr; }
  // Queued for a pool backend of `key` to serve `t`; nd is a node of routing
  // snapshot r.
  void WaitForPool(Target t, const RouteNode& nd, const EffectiveRouting& r, TxKey* key,
                   std::chrono::steady_clock::time_point since);
  void OnQueueTimeout();
  void ArmQueueTimer();
  void LeaveQueue();
  // At a transaction boundary with nothing in flight, the backends are lent
  // (sticky: kept while nobody waits for their pool) or go back to the pool
  // (unless pinned). Inline, what rules it out in two of its three calls per
  // transaction (the end of Process with the client's statement queued for a
  // backend, or just sent to one): no backend held, or one with answers
  // outstanding; the rest of the checks, and the return, out of line.
  void MaybeReturnToPool() {
    if (HoldsBackend() && (!primary_ || primary_->outstanding.empty()) && (!standby_ || standby_->outstanding.empty()))
      ReturnToPoolIfIdle();
  }
  void ReturnToPoolIfIdle();
  // Transaction pooling: the session lets go of backend t (what it parsed on
  // it marked stale) and returns it, owner cleared.
  std::shared_ptr<BackendConn> Detach(Target t);
  // Backend t goes back to the pool (handed to a waiter, or idle); the caller
  // updates the busy count.
  void GiveBack(Target t);
  // A lent backend that the current routing would not use for the next
  // transaction (its node no longer the primary, or out of balancing) goes back
  // to the pool, as it would have without lending. Checked when routing moved.
  void ReturnStaleLent(const EffectiveRouting& r);
  // Holds a backend for its own use (one lent to it does not count).
  bool HoldsBackend() const {
    return (primary_ && !primary_->lent) || (standby_ && !standby_->lent);
  }
  // Whether the routed cycle may run on a shared backend (tx_session_state.h):
  // kGo (allowed, or the client is pinned now), kWait (a refusal waits for the
  // backends to settle), kRefused (the client has its error).
  enum class TxCheck { kGo, kWait, kRefused };
  // Inline, the usual statement (nothing that could leave session state: no
  // decision); the rest out of line. Twice per queued transaction.
  TxCheck CheckTxSessionState() {
    if (!TxMode() || (cycle_.stmtKind == StmtKind::kOther && !cycle_.createsTemp && cycle_.sessionState.empty()))
      return TxCheck::kGo;
    return DecideTxSessionStateForCycle();
  }
  TxCheck DecideTxSessionStateForCycle();
  // Transaction pooling: the extended-protocol message f (in cycle_.frame) is
  // copied to cycle_.bytes at `at` referring to statement st by the proxy's
  // name instead (unless st has none: then it stays as it is).
  void RenameForBackend(const Frame& f, size_t at, const Statement& st);
  // Simple-Query DEALLOCATE of protocol-level statements, answered by the
  // proxy: true when it applies, answered now or (*wait) once the client's
  // statements in flight are answered.
  // Inline, what rules it out for every other statement (a DEALLOCATE of
  // either kind is all it answers); the rest out of line.
  bool AnswerTxDeallocate(bool* wait) {
    if (cycle_.stmtKind != StmtKind::kDeallocate && cycle_.stmtKind != StmtKind::kDeallocateAll) return false;
    return AnswerTxDeallocateStatement(wait);
  }
  bool AnswerTxDeallocateStatement(bool* wait);
  // A protocol-level Close of a statement while the client holds no backend:
  // the client's statement is forgotten and CloseComplete answered by the
  // proxy (PostgreSQL answers it for a name it does not know too).
  bool AnswerTxClose();
  // Before the cycle's Parses go to backend b: b holds at most
  // proxy.pool.maxPreparedStatements of the proxy's statements; others (not
  // used by this cycle) are closed there first, appended to *out (they are
  // parsed again on the backend where a client next uses them). Returns how
  // many Closes it appended.
  // Inline, the usual case (room enough); the rest out of line.
  int MakeRoomForParses(BackendConn* b, std::string* out) {
    const size_t cap = size_t(shared_->spec.proxy.pool.maxPreparedStatements);
    const size_t adding = cycle_.refStatements.size() + cycle_.parsedHere.size();
    if (b->prepared.size() + b->parsesPending.size() + adding <= cap) return 0;
    return CloseParsesForRoom(b, out, cap, adding);
  }
  int CloseParsesForRoom(BackendConn* b, std::string* out, size_t cap, size_t adding);
  // The Parse of a named statement at `name`: the error it gets instead of
  // being tracked (duplicate name, proxy.pool.maxPreparedStatements), "" none.
  bool TxParseRefused(const std::string& name);
  // A Parse of a name the client's earlier Parse (a backend has still to
  // answer it, in a sequence ended by Sync) holds: it waits for that answer,
  // as PostgreSQL takes them in order (42P05 after a success, the name free
  // again after a failure). False: decide now.
  bool TxParseAwaitsAnswer(const Frame& f) const;
  // The client's SQL EXECUTE of a statement it prepared with the protocol;
  // also SQL EXECUTE or DEALLOCATE of one of the proxy's names the client
  // has not got (tx_statement_names.h).
  void TxCheckExecute(const SqlClass& c);
  // A Bind or Describe of statement `name`, which the client has not got:
  // PostgreSQL's 26000 when the backend may hold another client's statement
  // by that name (tx_statement_names.h).
  void TxCheckMissing(std::string_view name);
  // The cycle is one statement that PostgreSQL refuses with 25P02 in the
  // client's failed transaction block (anything but COMMIT / ROLLBACK [TO]):
  // what the proxy would answer for it itself is that error instead.
  bool AbortedTxRefuses() const;
  // A Parse under the proxy's name `server` failed or was skipped: the
  // client's statements it was for (txUnconfirmed_) are forgotten.
  void ForgetFailedParse(const std::string& server);
  // A Parse outside a transaction, with no backend held, of a statement some
  // backend of this worker has parsed already: answered by the proxy (see
  // Worker::parsedOk); it is parsed where the client uses it.
  bool AnswerTxParse();
  // SHOW pools / clients / servers: rows asked from every worker.
  void AnswerAdmin();

  Worker* worker_;
  ProxyShared* shared_;
  WorkerSocket sock_;
  std::unique_ptr<boost::asio::ssl::stream<WorkerSocket&>> tls_;
  std::string peer_;  // client address for logs and hba
  State state_ = State::kStartup;
  ReadBuffer in_;
  QuietRead read_;  // plain TCP only (a TLS session reads through tls_)
  WriteQueue out_;
  WireDecoder decoder_{Direction::kFrontend};
  bool reading_ = false;
  bool processing_ = false;
  // spdlog's trace level, read at most once per Process() (a batch of client
  // messages) instead of a registry lookup per routed message, and only when
  // first asked (TraceOn): a batch that routes nothing (its statement queued
  // for a pool backend) does not read it. -1: not read in this batch.
  mutable int8_t traceOn_ = -1;
  bool TraceOn() const {
    if (traceOn_ < 0) traceOn_ = spdlog::default_logger_raw()->should_log(spdlog::level::trace);
    return traceOn_ != 0;
  }

  // Login.
  std::string user_, database_;
  std::vector<std::pair<std::string, std::string>> extraParams_;
  mutable std::string loginKey_;  // LoginKey(), once built
  // PoolKey()s built, one per node name met (a few): a deque, so that a key
  // returned stays where it is while others are added.
  std::deque<PoolKeyEntry> poolKeys_;
  // By the node's place in routing, the entry last found for it there (a hint).
  std::vector<const PoolKeyEntry*> poolKeyAt_;
  AuthStep authStep_ = AuthStep::kNone;
  std::string md5Salt_;
  std::unique_ptr<ScramServer> scram_;
  const UserSecret* secret_ = nullptr;
  std::shared_ptr<const PasswordFile> passwords_;  // keeps secret_ alive
  CancelKey cancelKey_;  // what the client got in BackendKeyData (pid: its login backend's)
  bool cancelRegistered_ = false;
  std::shared_ptr<CancelTargets> cancelTargets_;
  std::chrono::steady_clock::time_point acceptedAt_ = std::chrono::steady_clock::now();
  bool unauthenticated_ = false;  // in worker_->unauthenticated (at unauthIt_)
  std::list<ClientSession*>::iterator unauthIt_;
  bool counted_ = false;          // counted in ProxyShared::clientCount
  bool sawBytes_ = false;         // the client sent anything at all
  bool wroteToClient_ = false;    // any byte written (closing lingers to deliver it)

  // Routing.
  std::shared_ptr<BackendConn> primary_, standby_;
  bool connectingPrimary_ = false, connectingStandby_ = false;
  int standbyIndex_ = -1;     // StandbyIndex's last answer
  char txStatus_ = 'I';
  bool wrote_ = false;       // disableOnWrite
  bool standbyInTx_ = false; // the balance standby got this transaction's BEGIN
  // This transaction's BEGIN went to the primary alone: standbyBegin_ (a
  // Query message) opens the standby's part when a statement first goes
  // there; a standby connected for that is one whose replay LSN is at least
  // standbyTxFloor_ (what the BEGIN's decision asked for).
  bool standbyTxDeferred_ = false;
  uint64_t standbyTxFloor_ = 0;
  std::string standbyBegin_;
  bool txSerializable_ = false, txReadWrite_ = false;  // this transaction runs on the primary only
  bool sessionSerializable_ = false;  // default_transaction_isolation = serializable
  bool primaryMayHaveWritten_ = false;  // a write on the primary has not ended yet
  // Read-your-writes: a write ended and its LSN is not asked for yet (asked
  // only when a read could use a standby: RouteDecision::fetchCommitLsn).
  bool floorStale_ = false;
  bool lsnWanted_ = false;  // to be sent at the first chance on the primary
  // A cycle went to a standby since the session's last write ended: the next
  // write's LSN is asked for as soon as it ends (the session reads there).
  bool readOnStandby_ = false;
  uint64_t readFloor_ = 0;  // read-your-writes: LSN of the session's last committed write
  std::vector<std::optional<std::string_view>> capturedCols_;  // OnCapturedRow's, reused
  std::vector<std::pair<std::string, bool>> lookupRows_;  // function volatility rows being read
  std::vector<std::string> lookupAsked_;                  // the names that lookup asks about
  bool noLoadBalance_ = false;  // temp table created: everything on the primary
  bool skipUntilSync_ = false;
  Target pinned_ = Target::kNone;  // unsynced extended sequence in progress here
  bool pipelined_ = false;  // an Execute of the client's went into that sequence
  Target copyTarget_ = Target::kNone;
  Cycle cycle_;
  // Forward's run: contiguous bytes of in_ for backend `to` (Conn(t) then).
  struct FollowedRun {
    Target t = Target::kNone;
    const BackendConn* to = nullptr;
    const char* data = nullptr;
    size_t size = 0;
  } followed_;
  struct RelayedRun {
    const char* data = nullptr;
    size_t size = 0;
  } relayed_;  // RelayToClient's
  std::unordered_map<std::string, Statement> statements_;
  uint64_t statementVersion_ = 0;
  // The unnamed statements the client's unnamed Parses in flight replaced
  // (RestoreUnnamed), oldest first, by the version of the Parse.
  struct UnnamedBefore {
    uint64_t version;  // of the Parse that replaced it
    bool same;         // the same Parse again: only the version changed
    uint64_t beforeVersion;
    std::optional<Statement> before;  // held when beforeVersion != 0 and !same
  };
  std::vector<UnnamedBefore> unnamedBefore_;  // a few at most: erased from the front
  std::unordered_map<std::string, uint64_t> parsedOnPrimary_, parsedOnStandby_;
  PortalTable<Target> portals_;  // where each open portal was bound, mirrored or not
  bool probing_ = false;   // ProbeAfterIdleClose running: messages wait
  bool noPool_ = false;    // LOAD ran: its backends are closed, never pooled
  std::string scratch_;
  SessionSets sets_;  // SET/RESET Query messages PostgreSQL kept, replayed on a new backend
  uint64_t standbyJoins_ = 0;  // standby connections the session had (the current one's number)
  // Transaction pooling: the client's values of the parameters that follow it
  // (from its login, then from the ParameterStatus it is sent), and their
  // number (Worker::paramsIds: equal values, one number), renewed when one
  // changes.
  TrackedValues clientParams_;
  uint64_t paramsStamp_ = 0;
  std::unique_ptr<boost::asio::steady_timer> retryTimer_;
  bool needProcess_ = false;
  std::shared_ptr<boost::asio::steady_timer> drainTimer_;  // set once closing
  std::array<char, 512> drainBuf_{};
  bool loginAvoidPrimary_ = false;  // the primary refused the login: log in via a standby
  std::string loginPrimaryError_;   // why (told to the client when no standby can take it)
  std::string pendingErrorState_, pendingError_;  // a failed backend login, reported to the cycle
  std::string unmovable_;       // session state that cannot move to another primary ("" none)
  bool countedBusy_ = false;    // counted in ProxyShared::primaryBusySessions
  // Transaction pooling.
  std::string txPinned_;        // why the client keeps its backends ("" not pinned)
  // The client's own Parses of named statements sent to a backend and not yet
  // answered: the proxy's name -> the client's name. One that fails (or is
  // skipped after an error) leaves statements_, so the name is free again as
  // on PostgreSQL (TxParseRefused would refuse it as a duplicate).
  std::unordered_multimap<std::string, std::string> txUnconfirmed_;
  bool txWaiting_ = false;      // queued for a pool backend
  uint64_t txWaitTicket_ = 0;   // which wait (TxWaiter)
  Target txWaitTarget_ = Target::kNone;
  RouteNode txWaitNode_;
  // Where txWaitNode_ was copied from: that node of the snapshot the worker
  // held at that load (RoutingSerial; 0: another snapshot).
  const RouteNode* txWaitNodeAt_ = nullptr;
  uint64_t txWaitNodeSerial_ = 0;
  TxKey* txWaitKey_ = nullptr;
  uint64_t txLentRouting_ = 0;  // RoutingVersion when backends were last lent
  std::chrono::steady_clock::time_point txWaitSince_{};
  // proxy.pool.queueTimeout of the wait. The timer is not cancelled when the
  // wait ends (arming and cancelling an Asio timer takes the reactor's lock):
  // an armed one is left to expire (no earlier than the wait's deadline it was
  // set for) and re-armed then for the current wait, if any (ArmQueueTimer).
  std::chrono::steady_clock::time_point txWaitDeadline_{};
  // Transaction pooling: the decision of a plain balanced read that queued for
  // its standby's pool, or of a cycle for the primary that queued for the
  // primary's pool with no backend attached (KeepRouteForGrant), taken instead of deciding again
  // by the first TryDispatch after the grant when nothing it rests on has
  // changed (KeptRouteHolds); dropped by any other TryDispatch.
  struct RouteInputs {  // the session's inputs of Decide a kept decision reads, packed
    uint32_t flags = 0;    // transaction status, pinned_ and the session's flags
    uint64_t readFloor = 0;
    bool operator==(const RouteInputs& o) const { return flags == o.flags && readFloor == o.readFloor; }
  };
  struct KeptRoute {
    bool valid = false;
    uint64_t ticket = 0;                                // the wait it was made for
    uint64_t routingSerial = 0;                         // the worker's load of the snapshot it was made with
    const BackendConn* primary = nullptr;               // the primary backend then (idle; none for the primary's)
    const TxKey* key = nullptr;                         // the pool waited for (txWaitKey_)
    RouteInputs inputs;
    RouteDecision d;
  };
  KeptRoute kept_;
  RouteInputs CurrentRouteInputs() const;
  void KeepRouteForGrant(const RouteDecision& d, RoutingOnUse& r);
  bool KeptRouteHolds(const KeptRoute& k);  // k offered (was valid)
  // The first TryDispatch after the grant, when the kept decision holds and
  // everything TryDispatch checks before and after deciding would come out as
  // it did before the wait: the cycle sent on the granted backend at once.
  // False: nothing done, the general way runs (offered the kept decision still).
  bool SendOnKeptRoute();
  std::unique_ptr<boost::asio::steady_timer> queueTimer_;
  bool queueTimerArmed_ = false;
  bool adminPending_ = false;   // SHOW pools/clients/servers rows being gathered
  // Holds the session from Start to Close: a session waiting on a backend has
  // no client read or write in flight that would (backends point to it raw).
  std::shared_ptr<ClientSession> keepAlive_;
};

}  // namespace pgvigil::proxy
