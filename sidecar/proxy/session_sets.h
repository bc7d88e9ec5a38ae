// The settings a client session changed that PostgreSQL kept: the SET and
// RESET statements the proxy replays, in order, on a backend that joins the
// session later (session mode, or a client pinned in transaction pooling).
// Pure: no I/O.
//
// A statement is recorded when its answer says it took effect for the session,
// as PostgreSQL's own GUC handling decides it:
//  * outside a transaction block, when its ReadyForQuery comes without an error
//    (a Query of several statements runs as one implicit transaction: an error
//    anywhere in it undoes its SETs);
//  * inside a block, it waits with the block: kept at COMMIT (or PREPARE
//    TRANSACTION), dropped at ROLLBACK, and dropped at ROLLBACK TO a savepoint
//    made before it;
//  * RESET ALL drops what was recorded before it, when it takes effect as above;
//    DISCARD ALL when its CommandComplete comes (Discarded);
//  * a Query of several statements is followed statement by statement, as
//    PostgreSQL runs it (session_sets_query.cc): its SETs, savepoint commands,
//    BEGIN, COMMIT and ROLLBACK are sent as steps, each with its place among
//    the Query's statements, and its CommandCompletes (one a statement, up to
//    an error) tell which ran and how a COMMIT ended. Statements outside a
//    block run in an implicit transaction that the Query's end commits (an
//    error aborts it), as does a COMMIT among them, and a ROLLBACK aborts; a
//    BEGIN makes it a block (with what it already holds). When the answers do
//    not fit the statements (the proxy split the text otherwise than
//    PostgreSQL), what the Query kept is not known: the changes are incomplete
//    (overflowed) until a RESET ALL or DISCARD ALL;
//  * an extended-protocol sequence (up to its Sync) is followed the same way,
//    Execute by Execute (session_sets_sequence.cc): what it binds that changes
//    settings or the block is sent as a step placed at the Execute that runs
//    it, and the answer of each Execute (CommandComplete, EmptyQueryResponse
//    or PortalSuspended; none after an error) tells which ran. Up to the Sync
//    its statements outside a block form one implicit transaction, as a
//    Query's do; an error anywhere in it (also one after the last Execute)
//    drops it.
//
// One entry per parameter: a recorded change with a key (SetKey, set_key.h: a
// statement that sets or resets one ordinary parameter) replaces the older
// recorded one of that key, and goes last, as it ran last. Not across an entry
// without a key (SET ROLE, a multi-statement Query, ...): what such an entry
// does may depend on the value the older one had. Only recorded (confirmed)
// entries are replaced, never one waiting with a transaction block; a standby
// already in the session keeps what it was given, and is given the newer
// change as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgvigil::proxy {

enum class SetChangeKind : uint8_t {
  kQuery,       // SET / RESET name (or the SETs of a multi-statement Query): a Query message to replay
  kResetAll,    // RESET ALL (its Query message, to send a standby that missed it)
  kSavepoint,   // SAVEPOINT name, RELEASE name, ROLLBACK TO name: name
  kRelease,
  kRollbackTo,
  kBegin,       // BEGIN / START TRANSACTION, a step of a Query of several statements
  kTxEnd,       // COMMIT / ROLLBACK / END / ABORT, likewise (its tag tells which)
};

// What the CommandCompletes of one client cycle said (CommandTagBits).
inline constexpr uint8_t kTagRan = 1;       // any statement completed
inline constexpr uint8_t kTagCommit = 2;    // COMMIT, PREPARE TRANSACTION
inline constexpr uint8_t kTagRollback = 4;  // ROLLBACK (also ROLLBACK TO's tag)
uint8_t CommandTagBits(std::string_view tag);
// One CommandComplete of a Query of several statements, as one character
// (SetCycleOutcome::tagCodes): b BEGIN / START TRANSACTION, c COMMIT / PREPARE
// TRANSACTION, r ROLLBACK (also ROLLBACK TO's), s SAVEPOINT, l RELEASE, e SET /
// RESET, o any other.
char CommandTagCode(std::string_view tag);

// The answer to one client cycle (its ReadyForQuery). An extended-protocol
// sequence (up to its Sync) may carry several changes, numbered first..change:
// they share its answer, and count in the order sent.
struct SetCycleOutcome {
  uint64_t change = 0;  // SessionSets::Sent's number for the cycle (the last one), 0 for none
  uint64_t first = 0;   // the cycle's first change, 0: change alone
  bool error = false;   // an ErrorResponse came
  uint8_t tags = 0;     // CommandTagBits of its CommandCompletes
  char status = 'I';    // the transaction status after it
  // A Query of several statements whose steps were sent (Sent's `at`): how
  // many statements it has, and the CommandTagCode of each CommandComplete, in
  // order. 0: not such a Query.
  uint32_t statements = 0;
  std::string_view tagCodes = {};
  // An extended-protocol sequence whose steps were sent: `statements` counts
  // its Executes, tagCodes their answers ('o' for EmptyQueryResponse and
  // PortalSuspended). Its answers were watched from its Execute `watchedFrom`
  // on: those of the Executes before may have gone by unseen.
  bool sequence = false;
  uint32_t watchedFrom = 0;
};

class SessionSets {
 public:
  // More are not recorded (the session cannot move then): with one entry per
  // key, this many different parameters or changes without a key.
  static constexpr size_t kMax = 100;
  struct Entry {
    uint64_t number;
    std::string query;
    std::string key;  // SetKey of its statement, "" none
  };

  // A statement sent that may change the settings or the block's savepoints:
  // its number (for SetCycleOutcome::change and Discarded). `standby`: the
  // standby connection (the session's count of joins) that got it too, 0 none.
  // `key`: a kQuery's SetKey ("" none: never replaced, never replaces).
  // `at`: a step of a Query of several statements, its place among them (of
  // an extended-protocol sequence: the place of the Execute that runs it).
  uint64_t Sent(SetChangeKind kind, std::string text, uint64_t standby, std::string key = {}, uint32_t at = 0);
  // The cycle's answer came. Returns the Query messages that a standby joined
  // as `standby_now` (0: none) did not get and must run now (what this answer
  // confirmed that was sent without it).
  std::vector<std::string> Answered(const SetCycleOutcome& o, uint64_t standby_now);
  // A DISCARD ALL ran, sent when the statements were numbered up to `up_to`.
  void Discarded(uint64_t up_to);

  // Cycles sent now must report their CommandCompletes: a change is
  // unanswered or waits in a transaction block.
  bool Watching() const { return !block_.empty() || !unanswered_.empty(); }
  const std::vector<Entry>& confirmed() const { return confirmed_; }
  size_t size() const { return confirmed_.size(); }
  // A change of SetKey `key` ("" none) would replace a recorded entry when it
  // counts, rather than add one.
  bool Replaces(std::string_view key) const;
  // A change took effect but was not recorded (past kMax): a backend joining
  // the session now would miss it. Until a RESET ALL or DISCARD ALL after it.
  bool overflowed() const { return droppedUpTo_ != 0; }
  uint64_t numbered() const { return numbered_; }

 private:
  struct Change {
    uint64_t number;
    SetChangeKind kind;
    std::string text;
    uint64_t standby;
    std::string key;
    uint32_t at;
  };
  void Confirm(Change c, uint64_t standby_now, std::vector<std::string>* push);
  void Apply(Change c, const SetCycleOutcome& o, uint64_t standby_now, std::vector<std::string>* push);
  void EndBlock(bool committed, uint64_t standby_now, std::vector<std::string>* push);
  // A savepoint command that ran in the open block (Apply, AnswerQuery).
  void Savepoint(Change c);
  // A Query of several statements answered (session_sets_query.cc).
  void AnswerQuery(std::vector<Change> steps, const SetCycleOutcome& o, uint64_t standby_now,
                   std::vector<std::string>* push);
  // An extended-protocol sequence answered (session_sets_sequence.cc).
  void AnswerSequence(std::vector<Change> steps, const SetCycleOutcome& o, uint64_t standby_now,
                      std::vector<std::string>* push);
  // Whether the answers `codes`, the first of them answering the statement at
  // place `first`, fit the steps (those at places before `from` may be any).
  static bool CodesFit(const std::vector<Change>& steps, std::string_view codes, size_t first, size_t from);
  // A sequence's answers seen, the first at place `first`, with '?' for each
  // place before it and before `watched_from`.
  static std::string PlacedCodes(std::string_view seen, size_t first, size_t watched_from);
  // The same changes recorded, waiting and sent (by their numbers).
  bool SameAs(const SessionSets& o) const;
  // What the steps did is not known: what they and the open block changed is
  // not recorded, and the changes are incomplete.
  void NotFollowed(const std::vector<Change>& steps, uint64_t standby_now, std::vector<std::string>* push);

  std::vector<Entry> confirmed_;
  std::vector<Change> unanswered_;  // sent, oldest first
  std::vector<Change> block_;       // took effect in the open transaction block
  // Savepoints made while block_ had entries: name, block_.size() then. One
  // not listed was made before all of block_.
  std::vector<std::pair<std::string, size_t>> savepoints_;
  uint64_t numbered_ = 0;
  uint64_t droppedUpTo_ = 0;  // the newest change not recorded (past kMax), 0 none
};

}  // namespace pgvigil::proxy
