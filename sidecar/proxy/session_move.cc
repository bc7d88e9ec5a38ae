// ClientSession, moving between primaries: when the primary a session is bound
// to changes, is fenced or closes its connection, an idle session drops that
// backend (never pooled) and its next statement connects to whatever primary
// routing then confirms; named statements are parsed again there (statements_,
// Parsed) and SET commands replayed (sets_, session_sets.h). A session holding
// state that lives only in that backend is ended with 57P01 and the reason.
//
// What cannot move (kept simple and conservative, see WhyNotMovable):
//  * a transaction (txStatus 'T' or 'E'), a statement, an unsynced extended
//    sequence or a COPY in progress;
//  * a temporary table created in the session;
//  * what SqlClass::sessionState flags: LISTEN, session advisory locks, SQL
//    PREPARE, cursors WITH HOLD, LOAD, set_config();
//  * a SET / RESET made inside a transaction block by a single statement
//    (NoteSessionState), though SessionSets follows it (kept at COMMIT,
//    dropped at ROLLBACK);
//  * SET commands the proxy kept no record of: beyond 100 entries (one that
//    replaces the recorded entry of its parameter adds none), or in a Query
//    or an extended-protocol sequence of several statements whose answers did
//    not fit its statements (session_sets_query.cc, session_sets_sequence.cc);
//    the session's reads then stay on the primary (noLoadBalance_, which
//    WhyNotMovable also counts).
//    SETs by simple Query, by the extended protocol (a named or unnamed
//    statement, one or several before a Sync) and in multi-statement Queries
//    are otherwise replayed on the new primary as PostgreSQL kept them.
// These marks stay for the session's life (DISCARD ALL does not clear them).
#include <spdlog/spdlog.h>

#include <string_view>

#include "sidecar/proxy/session.h"
#include "sidecar/proxy/tracked_params.h"

namespace pgvigil::proxy {

std::string ClientSession::WhyNotMovable() const {
  if (txStatus_ == 'T') return "it was in a transaction";
  if (txStatus_ == 'E') return "it was in a failed transaction";
  if (copyTarget_ != Target::kNone) return "a COPY was in progress";
  if (pinned_ != Target::kNone) return "an extended-protocol sequence was in progress";
  if (primary_ && primary_->ClientCycleOutstanding()) return "a statement was in progress";
  if (!unmovable_.empty()) return "it holds session state that cannot be replayed: " + unmovable_;
  if (noLoadBalance_) return "it created a temporary table";
  return "";
}

void ClientSession::DropPrimary(const std::string& why) {
  std::shared_ptr<BackendConn> b = std::move(primary_);
  primary_.reset();
  parsedOnPrimary_.clear();
  portals_.DropOn(Target::kPrimary);
  if (b) {
    b->SetOwner(nullptr);
    b->Close(why);
  }
  UpdateBusyCount();
}

bool ClientSession::LeavePrimary(std::string node, const std::string& what) {
  std::string why = WhyNotMovable();
  if (why.empty()) {
    shared_->metrics->sessionsMovedPrimaryChange.Inc();
    spdlog::info("proxy: idle session of {} leaves primary {} ({}); its next statement goes to the primary "
                 "routing then names",
                 peer_, node, what);
    DropPrimary(what);
    return false;
  }
  shared_->metrics->sessionsClosedPrimaryChange.Inc();
  Terminate("57P01", "terminating connection because " + what + " and the session could not move to another primary: " + why,
            "primary " + node + ": " + what + "; cannot move: " + why);
  return true;
}

void ClientSession::NoteSessionState() {
  auto mark = [this](const std::string& s) {
    if (unmovable_.empty()) {
      unmovable_ = s;
      spdlog::debug("proxy: session of {} now holds {}: it cannot move to another primary", peer_, s);
    }
  };
  // Compared as string_views: the length first, no strlen (this runs for every message).
  using namespace std::string_view_literals;
  if (!cycle_.sessionState.empty()) mark(cycle_.sessionState);
  if (cycle_.sessionState == "LOAD"sv) noPool_ = true;
  // set_config(name, value, false) is not replayed on a standby joining the
  // session (its value may be a bind parameter): the session's reads stay on
  // the primary from then on, as after a temporary table. Under transaction
  // pooling a parameter that follows the client is set where it runs.
  const std::string_view state = cycle_.sessionState;
  if (state == "set_config()"sv ||
      (state.substr(0, kSetConfigOf.size()) == kSetConfigOf &&
       (!TxMode() || TrackedParameterIndex(state.substr(kSetConfigOf.size())) < 0)))
    noLoadBalance_ = true;
  if (cycle_.reason == "set"sv || cycle_.reason == "reset"sv) {
    // By the extended protocol it runs at its Bind (session_settings.cc).
    if (cycle_.kind != 'Q' && cycle_.kind != 'B') return;
    if (txStatus_ != 'I') mark("a SET made inside a transaction block");
    // One that replaces a recorded entry of its parameter adds none.
    else if (sets_.size() >= SessionSets::kMax && !sets_.Replaces(CycleSetKey())) mark("more than 100 SET commands");
  }
}

void ClientSession::UpdateBusyCount() {
  bool busy = false;
  if (primary_ && state_ != State::kClosed) {
    busy = txStatus_ != 'I' || pinned_ == Target::kPrimary || copyTarget_ == Target::kPrimary ||
           primary_->ClientCycleOutstanding();
  }
  if (busy == countedBusy_) return;
  countedBusy_ = busy;
  shared_->primaryBusySessions.fetch_add(busy ? 1 : -1);
}

}  // namespace pgvigil::proxy
