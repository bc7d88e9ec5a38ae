// ClientSession, the settings a backend joining the session is given: the
// SET/RESET statements PostgreSQL kept (session_sets.h), recorded as they are
// sent and confirmed by their answer, replayed on a new backend; a standby
// that missed one that took effect gets it then.
#include "sidecar/proxy/session.h"
#include "sidecar/proxy/set_key.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy {

namespace {
std::string QueryMessage(std::string_view sql) {
  std::string m;
  AppendQuery(&m, sql);
  return m;
}
}  // namespace

std::string ClientSession::CycleSetKey() const {
  std::string_view sql = cycle_.boundSet;  // by the extended protocol: its Parse's text
  if (cycle_.kind == 'Q') {
    const std::string_view m = cycle_.Bytes();
    if (m.size() < 5 || !ParseQuery(FrameOfMessage(m), &sql)) sql = {};
  }
  return SetKey(sql);
}

void ClientSession::NoteSetChange(Target main, bool also_standby) {
  BackendConn* b = Conn(main).get();
  if (!b || b->outstanding.empty()) return;
  const bool simple = cycle_.kind == 'Q';
  // An extended-protocol statement counts at its Bind (its Parse only
  // prepares it), once each time it is bound; a step of its sequence is
  // placed at the Execute after the Bind (session_sets_sequence.cc).
  const bool runs = simple || cycle_.kind == 'B';
  BackendConn::Cycle& e = b->outstanding.back();
  const uint32_t place = e.executes;
  if (cycle_.kind == 'E') ++e.executes;
  bool change = runs;
  SetChangeKind kind = SetChangeKind::kQuery;
  std::string text, key;
  switch (cycle_.stmtKind) {
    case StmtKind::kSet:
    case StmtKind::kReset: {
      // By the extended protocol: its Parse's text, as a Query.
      change = runs && cycle_.broadcast && (simple || !cycle_.boundSet.empty());
      if (!change) break;
      text = simple ? std::string(cycle_.Bytes()) : QueryMessage(cycle_.boundSet);
      key = CycleSetKey();  // one entry per parameter (session_sets.h)
      break;
    }
    case StmtKind::kResetAll:
      kind = SetChangeKind::kResetAll;
      text = simple ? std::string(cycle_.Bytes()) : QueryMessage("RESET ALL");
      break;
    case StmtKind::kSavepoint:
    case StmtKind::kRelease:
    case StmtKind::kRollbackTo:
      // Only a block holding SETs needs its savepoints.
      change = runs && sets_.Watching() && !cycle_.object.empty();
      kind = cycle_.stmtKind == StmtKind::kSavepoint ? SetChangeKind::kSavepoint
             : cycle_.stmtKind == StmtKind::kRelease ? SetChangeKind::kRelease
                                                      : SetChangeKind::kRollbackTo;
      text = cycle_.object;
      break;
    case StmtKind::kBegin:
    case StmtKind::kTxEnd:
      // In a sequence, when a change waits: where its implicit transaction
      // or block ends (a Query's single one: its tags tell).
      change = !simple && runs && sets_.Watching();
      kind = cycle_.stmtKind == StmtKind::kBegin ? SetChangeKind::kBegin : SetChangeKind::kTxEnd;
      break;
    default:
      // A Query of several statements: its steps, each in its place
      // (session_sets_query.cc), when it has a SET or a block holds some.
      change = false;
      if (simple && !cycle_.steps.empty()) return NoteQuerySteps(b, also_standby);
      break;
  }
  if (change) {
    e.setChange = sets_.Sent(kind, std::move(text), also_standby && standby_ ? standbyJoins_ : 0, std::move(key),
                             simple ? 0 : place);
    if (!e.setChangeFirst) e.setChangeFirst = e.setChange;
    if (!simple) e.sequenceSteps = true;
  }
  if ((change || sets_.Watching()) && !e.watchTags) {
    e.watchTags = true;
    e.watchedFrom = place;
  }
}

void ClientSession::NoteQuerySteps(BackendConn* b, bool also_standby) {
  bool sets = false;
  for (const auto& s : cycle_.steps) sets = sets || s.kind == StmtKind::kSet || s.kind == StmtKind::kReset ||
                                            s.kind == StmtKind::kResetAll;
  if (!sets && !sets_.Watching()) return;
  BackendConn::Cycle& e = b->outstanding.back();
  const uint64_t standby = also_standby && standby_ ? standbyJoins_ : 0;
  for (auto& s : cycle_.steps) {
    SetChangeKind kind = SetChangeKind::kQuery;
    std::string key;
    switch (s.kind) {
      case StmtKind::kSet:
      case StmtKind::kReset:
        key = SetKey(s.text);
        s.text = QueryMessage(s.text);
        break;
      case StmtKind::kResetAll:
        kind = SetChangeKind::kResetAll;
        s.text = QueryMessage(s.text);
        break;
      case StmtKind::kBegin: kind = SetChangeKind::kBegin; break;
      case StmtKind::kTxEnd: kind = SetChangeKind::kTxEnd; break;
      case StmtKind::kSavepoint: kind = SetChangeKind::kSavepoint; break;
      case StmtKind::kRelease: kind = SetChangeKind::kRelease; break;
      default: kind = SetChangeKind::kRollbackTo; break;
    }
    e.setChange = sets_.Sent(kind, std::move(s.text), standby, std::move(key), s.at);
    if (!e.setChangeFirst) e.setChangeFirst = e.setChange;
  }
  e.queryStatements = cycle_.queryStatements;
  e.watchTags = true;
}

void ClientSession::SetCycleAnswered(const BackendConn::Cycle& done, char status) {
  // Transaction pooling: a standby is given SETs only for a pinned client.
  const bool standby_takes = standby_ && !(TxMode() && txPinned_.empty());
  // A sequence: its Executes are its statements; one the proxy failed with
  // its own message (sequence_failure.h) failed on the backend too.
  const bool seq = done.sequenceSteps;
  auto push = sets_.Answered({done.setChange, done.setChangeFirst, done.sawError || (seq && done.failSent), done.tags,
                              status, seq ? done.executes : done.queryStatements, done.tagCodes, seq,
                              done.watchedFrom},
                             standby_takes ? standbyJoins_ : 0);
  // More SETs than are recorded, or a Query or extended sequence of several
  // statements whose answers did not fit its statements: a standby joining later could not be
  // given them all, so the session's reads stay on the primary from now on, as
  // after a session-level set_config() (session_move.cc).
  if (sets_.overflowed() && !noLoadBalance_) {
    noLoadBalance_ = true;
    spdlog::info("proxy: session of {}: SET commands kept that are not recorded (more than {}: different "
                 "parameters, or SET ROLE and the like; or a Query or sequence of several statements not "
                 "followed); its reads stay on the primary",
                 peer_, SessionSets::kMax);
  }
  // Not into the middle of an extended sequence mirrored there (the client's
  // next messages may have gone ahead of this answer): it keeps its value then.
  if (!push.empty() && standby_->seqOpen) {
    spdlog::debug("proxy: session of {}: {} SETs not given to its standby (a sequence is open there)", peer_,
                  push.size());
    return;
  }
  for (const auto& q : push) {
    SendOwnQuery(standby_.get(), q);
    standby_->outstanding.push_back({true});
  }
}

void ClientSession::ReplayConfirmedSets(BackendConn* b) {
  // ReplaySessionSets (session.h) left out an unpinned client in transaction pooling.
  for (const auto& e : sets_.confirmed()) {
    SendOwnQuery(b, e.query);
    b->outstanding.push_back({true});
  }
}

}  // namespace pgvigil::proxy
