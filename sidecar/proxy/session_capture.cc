// ClientSession, silent queries whose answers the session reads:
//  * read-your-writes: the session asks the primary for
//    pg_current_wal_insert_lsn() once a transaction that may have written has
//    ended there: that LSN is at or past the transaction's commit record.
//    Until the answer is in, reads go to the primary, then to standbys whose
//    replay LSN (health checks) has reached it (see route_decision.h). When:
//    - a session that read on a standby since its last write (it will again):
//      at once, off the path of its next read. A simple Query known to end
//      the write (COMMIT/END/ROLLBACK/ABORT, or one INSERT/UPDATE/DELETE in
//      autocommit) gets the query right behind it in the same write to the
//      backend (PostgreSQL runs it once that statement has committed);
//      otherwise it is sent at the write's ReadyForQuery 'I';
//    - any other session (one that only writes, or reads on the primary):
//      not then; its floor is stale (floorStale_) and the first read that
//      could use a standby goes to the primary instead, with the query right
//      behind it (FetchCommitLsnAfter; after the Sync for an extended-protocol
//      sequence). The LSN is taken later, so it is at or past the commit all
//      the same; a session that never reads where a standby could serve never
//      asks. That query may run inside the client's transaction (a read of a
//      transaction on the primary): harmless there, and if it fails (the
//      transaction failed) the floor is stale again.
//  * function volatility: a read calling functions the proxy does not know asks
//    pg_proc on the primary (a standby only when there is none) which are
//    volatile (FunctionVolatility).
//  * a failed transaction: when a statement of the client's transaction fails
//    on one backend, the other backend's part of the transaction is made to
//    fail too (a statement that raises 25P02), so that a later statement there
//    gets "current transaction is aborted" and COMMIT rolls back, as on
//    PostgreSQL, instead of a write after the error being committed.
#include <spdlog/spdlog.h>

#include <charconv>

#include "sidecar/proxy/session.h"
#include "sidecar/proxy/sql_fast_path.h"

namespace pgvigil::proxy {

bool ClientSession::CapturePending(BackendConn::Capture c) const {
  for (const auto* b : {&primary_, &standby_})
    if (*b)
      for (const auto& o : (*b)->outstanding)
        if (o.capture == c) return true;
  return false;
}

void ClientSession::AfterClientCycle(BackendConn* b, Target t) {
  // Asked for while an extended sequence was open there and not sent since:
  // now, if nothing of the client's is queued there (a Query behind a COPY
  // FROM STDIN would break it).
  if (lsnWanted_ && t == Target::kPrimary && !b->ClientCycleOutstanding()) FetchCommitLsnAfter(b);
  if (txStatus_ != 'I' || b->ClientCycleOutstanding()) return;
  txSerializable_ = txReadWrite_ = false;
  if (t != Target::kPrimary || !primaryMayHaveWritten_) return;
  // Every write sent there has ended.
  primaryMayHaveWritten_ = false;
  const auto& lbs = shared_->spec.proxy.loadBalancing;
  if (!lbs.enabled || !lbs.readYourWrites) return;
  if (!readOnStandby_) {
    floorStale_ = true;  // asked before a read that could use a standby
    return;
  }
  readOnStandby_ = false;
  lsnWanted_ = true;
  FetchCommitLsnAfter(b);  // now, or after the open sequence's Sync
}

void ClientSession::SendCommitLsnQuery(BackendConn* b) {
  static const std::string kQuery = [] {
    std::string q;
    AppendQuery(&q, "SELECT (pg_catalog.pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text");
    return q;
  }();
  floorStale_ = lsnWanted_ = false;
  SendOwnQuery(b, kQuery);
  BackendConn::Cycle c{true};
  c.capture = BackendConn::Capture::kCommitLsn;
  b->outstanding.push_back(c);
}

void ClientSession::SendOwnQuery(BackendConn* b, const std::string& q) {
  if (b == primary_.get()) parsedOnPrimary_.erase(std::string());
  else if (b == standby_.get()) parsedOnStandby_.erase(std::string());
  b->Send(q);
}

bool ClientSession::CycleEndsWrite() const {
  // One simple Query (a multi-statement one has kind kOther) with no sequence
  // open: COMMIT/END/ROLLBACK/ABORT of the client's transaction, or a plain
  // INSERT/UPDATE/DELETE in autocommit (never COPY: a Query behind COPY FROM
  // STDIN would break it).
  if (cycle_.kind != 'Q' || pinned_ != Target::kNone) return false;
  if (txStatus_ != 'I') return cycle_.stmtKind == StmtKind::kTxEnd;
  const std::string_view q = cycle_.Bytes();  // 'Q', length, the text, its NUL
  if (!cycle_.write || cycle_.txBegin || q.size() < 6) return false;
  return PlainDml(q.substr(5, q.size() - 6));
}

void ClientSession::FetchCommitLsnAfterWrite(BackendConn* b) {
  const auto& lbs = shared_->spec.proxy.loadBalancing;
  if (!primaryMayHaveWritten_ || !lbs.enabled || !lbs.readYourWrites || b->seqOpen) return;
  SendCommitLsnQuery(b);  // in the same write as the statement (BackendConn::Send)
  primaryMayHaveWritten_ = readOnStandby_ = false;  // the query covers that write
}

void ClientSession::FetchCommitLsnAfter(BackendConn* b) {
  if (!lsnWanted_ || b != primary_.get() || b->seqOpen) return;
  SendCommitLsnQuery(b);  // in the same write as what was just sent (BackendConn::Send)
}

void ClientSession::LookUpFunctions(BackendConn* b) {
  std::vector<std::string> unknown;
  shared_->volatility.Classify(database_, cycle_.functions, std::chrono::steady_clock::now(), &unknown);
  lookupRows_.clear();
  lookupAsked_ = unknown;
  std::string q;
  AppendQuery(&q, FunctionVolatility::LookupQuery(unknown));
  SendOwnQuery(b, q);
  BackendConn::Cycle c{true};
  c.capture = BackendConn::Capture::kFunctionVolatility;
  b->outstanding.push_back(c);
}

void ClientSession::FailTransactionElsewhere(Target failed) {
  Target other = failed == Target::kPrimary ? Target::kStandby : Target::kPrimary;
  if (FailTransactionOn(other))
    spdlog::debug("proxy: session of {}: transaction failed on {}, failing it on {} too", peer_,
                  Conn(failed) ? Conn(failed)->login().node : "?", Conn(other)->login().node);
}

bool ClientSession::FailTransactionOn(Target t) {
  BackendConn* b = Conn(t).get();
  // Only a backend in the transaction (its last ReadyForQuery said 'T') and not
  // inside an unsynced extended sequence (a Query there would end it).
  if (!b || b->txStatus != 'T' || b->seqOpen) return false;
  std::string q;
  AppendQuery(&q,
              "DO $pgvigil$ BEGIN RAISE EXCEPTION USING ERRCODE = 'in_failed_sql_transaction', "
              "MESSAGE = 'pgvigil: the transaction failed on the session''s other backend'; END $pgvigil$");
  SendOwnQuery(b, q);
  BackendConn::Cycle c{true};
  c.capture = BackendConn::Capture::kFailTransaction;
  b->outstanding.push_back(c);
  b->txStatus = 'E';  // as its ReadyForQuery will say; routing sees it at once
  return true;
}

void ClientSession::OnCapturedRow(BackendConn* b, BackendConn::Capture c, const Frame& f) {
  auto& cols = capturedCols_;  // reused: no allocation per captured row
  if (!ParseDataRow(f, &cols) || cols.empty() || !cols[0]) return;
  if (c == BackendConn::Capture::kCommitLsn) {
    uint64_t lsn = 0;
    auto r = std::from_chars(cols[0]->data(), cols[0]->data() + cols[0]->size(), lsn);
    if (r.ec == std::errc() && lsn > readFloor_) readFloor_ = lsn;
    spdlog::trace("proxy: session of {} wrote up to LSN {} on {}", peer_, lsn, b->login().node);
  } else if (c == BackendConn::Capture::kFunctionVolatility && cols.size() >= 2 && cols[1] &&
             lookupRows_.size() < FunctionVolatility::kMaxNamesPerLookup) {
    lookupRows_.emplace_back(std::string(*cols[0]), *cols[1] == "t");
  }
}

void ClientSession::OnCaptureDone(BackendConn* b, BackendConn::Capture c, bool failed) {
  // A SET to the client's value refused (logged with its error): compared again before the next statement.
  if (c == BackendConn::Capture::kTrackedParameter && failed) b->paramsStamp = 0;
  // No LSN (the client's transaction it ran in had failed): asked again later.
  if (c == BackendConn::Capture::kCommitLsn && failed) floorStale_ = true;
  if (c != BackendConn::Capture::kFunctionVolatility) return;
  // Names with no row in pg_proc (there) count as volatile: the read goes to the primary.
  for (const auto& n : lookupAsked_) {
    bool found = false;
    for (const auto& r : lookupRows_) found = found || r.first == n;
    if (!found && lookupRows_.size() < 2 * FunctionVolatility::kMaxNamesPerLookup) lookupRows_.emplace_back(n, true);
  }
  shared_->volatility.Store(database_, lookupRows_, std::chrono::steady_clock::now());
  lookupRows_.clear();
  lookupAsked_.clear();
  if (cycle_.active) cycle_.functionsLookedUp = true;
}

}  // namespace pgvigil::proxy
