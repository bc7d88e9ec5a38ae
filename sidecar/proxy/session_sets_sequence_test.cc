// SessionSets, an extended-protocol sequence (session_sets_sequence.cc): which
// of its SETs count, given its statements (each a Parse, Bind and Execute,
// noted as ClientSession::NoteSetChange notes them), the answers of its
// Executes, the error and the status after its Sync. The outcomes are
// PostgreSQL 15's (proxy_session_sets_ext_itest.cc sends such sequences to it
// with libpq's pipeline mode).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sidecar/proxy/session_sets.h"
#include "sidecar/proxy/session_sets_testutil.h"
#include "sidecar/proxy/set_key.h"
#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {
namespace {

struct Session {
  SessionSets s;
  char status = 'I';

  // One sequence up to its Sync: `codes` the answers PostgreSQL gave (one an
  // Execute, up to an error), of which the first `unseen` went by before the
  // session watched them.
  void Sequence(const std::vector<std::string>& statements, const std::string& codes, bool error, char after,
                size_t unseen = 0) {
    uint64_t first = 0, last = 0;
    bool watching = false;
    uint32_t watched_from = 0;
    for (size_t i = 0; i < statements.size(); ++i) {
      const std::string& sql = statements[i];
      const SqlClass c = ClassifySql(sql, ClassifierConfig{});
      SetChangeKind kind = SetChangeKind::kQuery;
      bool change = true;
      std::string text = sql, key;
      switch (c.kind) {
        case StmtKind::kSet:
        case StmtKind::kReset: key = SetKey(sql); break;
        case StmtKind::kResetAll: kind = SetChangeKind::kResetAll; break;
        case StmtKind::kSavepoint:
        case StmtKind::kRelease:
        case StmtKind::kRollbackTo:
          kind = c.kind == StmtKind::kSavepoint  ? SetChangeKind::kSavepoint
                 : c.kind == StmtKind::kRelease ? SetChangeKind::kRelease
                                                 : SetChangeKind::kRollbackTo;
          change = s.Watching();
          text = c.object;
          break;
        case StmtKind::kBegin:
        case StmtKind::kTxEnd:
          kind = c.kind == StmtKind::kBegin ? SetChangeKind::kBegin : SetChangeKind::kTxEnd;
          change = s.Watching();
          text.clear();
          break;
        default: change = false; break;
      }
      if (change) {
        last = s.Sent(kind, std::move(text), 0, std::move(key), uint32_t(i));
        if (!first) first = last;
      }
      if ((change || s.Watching()) && !watching) {
        watching = true;
        watched_from = uint32_t(i);
      }
    }
    ASSERT_LE(unseen, watched_from);
    const std::string seen = codes.substr(unseen);
    uint8_t tags = seen.empty() ? 0 : kTagRan;
    for (char x : seen) tags |= x == 'c' ? kTagCommit : x == 'r' ? kTagRollback : 0;
    if (watching) {
      SetCycleOutcome o{last, first, error, tags, after};
      if (last) {
        o.statements = uint32_t(statements.size());
        o.tagCodes = seen;
        o.sequence = true;
        o.watchedFrom = watched_from;
      }
      s.Answered(o, 0);
    }
    status = after;
  }
  // A sequence of one statement, answered as PostgreSQL answers it.
  void Single(const std::string& sql) {
    const StmtKind k = ClassifySql(sql, ClassifierConfig{}).kind;
    if (k == StmtKind::kTxEnd) {
      const bool rollback = status == 'E' || sql == "ROLLBACK";
      return Sequence({sql}, rollback ? "r" : "c", false, 'I');
    }
    if (status == 'E' && k != StmtKind::kRollbackTo) return Sequence({sql}, "", true, 'E');  // 25P02
    if (sql == "SELECT 1/0") return Sequence({sql}, "", true, status == 'I' ? 'I' : 'E');
    if (k == StmtKind::kBegin) return Sequence({sql}, "b", false, 'T');
    if (k == StmtKind::kSavepoint) return Sequence({sql}, "s", false, 'T');
    if (k == StmtKind::kRollbackTo) return Sequence({sql}, "r", false, 'T');
    Sequence({sql}, "e", false, status);
  }
};

using namespace session_sets_rows;

struct Row {
  const char* name;
  std::vector<std::string> before;      // single statements
  std::vector<std::string> statements;  // the sequence
  std::string codes;                    // the answers of its Executes
  bool error;
  char status;                     // after its Sync
  size_t unseen;                   // answers gone by before the session watched
  std::vector<std::string> after;  // single statements
  std::vector<std::string> want;   // the recorded entries then
  bool incomplete = false;         // overflowed()
};

TEST(SessionSetsSequenceTest, Table) {
  const std::vector<Row> rows = {
      {"a single SET: kept", {}, {A}, "e", false, 'I', 0, {}, {A}},
      {"a single SET: refused", {X}, {"SET work_mem = 'lots'"}, "", true, 'I', 0, {}, {X}},
      {"implicit: an error drops the SETs before it", {X}, {A, "SELECT 1/0"}, "e", true, 'I', 0, {}, {X}},
      {"implicit: an error after the last Execute drops them too", {X}, {A, B}, "ee", true, 'I', 0, {}, {X}},
      {"implicit: no error, all kept, the newer of a parameter last",
       {X}, {B, "SELECT 1", "SET work_mem = '3MB'"}, "eoe", false, 'I', 0, {}, {X, "SET work_mem = '3MB'"}},
      {"implicit: a ROLLBACK drops what came before it, not after", {X}, {A, "ROLLBACK", B}, "ere", false, 'I', 0,
       {}, {X, B}},
      {"implicit: a COMMIT keeps what came before an error", {}, {A, "COMMIT", B, "SELECT 1/0"}, "ece", true, 'I',
       0, {}, {A}},
      {"BEGIN ... COMMIT, then an error", {}, {"BEGIN", A, "COMMIT", "SELECT 1/0"}, "bec", true, 'I', 0, {}, {A}},
      {"BEGIN ... COMMIT, then an error; BEGIN's answer gone by unseen", {},
       {"BEGIN", A, "COMMIT", "SELECT 1/0"}, "bec", true, 'I', 1, {}, {A}},
      {"BEGIN ... ROLLBACK, a SET after it", {}, {"BEGIN", A, "ROLLBACK", B}, "bere", false, 'I', 0, {}, {B}},
      {"BEGIN takes the implicit transaction into the block: committed later", {}, {A, "BEGIN", B}, "ebe", false,
       'T', 0, {"COMMIT"}, {A, B}},
      {"BEGIN takes the implicit transaction into the block: rolled back later", {X}, {A, "BEGIN", B}, "ebe", false,
       'T', 0, {"ROLLBACK"}, {X}},
      {"an error in a block: it fails, ROLLBACK drops it", {X}, {"BEGIN", A, "SELECT 1/0"}, "be", true, 'E', 0,
       {"ROLLBACK"}, {X}},
      {"savepoints in the sequence", {}, {"BEGIN", A, "SAVEPOINT s", B, "ROLLBACK TO s", C, "COMMIT"}, "beserec",
       false, 'I', 0, {}, {A, C}},
      {"an error in a block: ROLLBACK TO a savepoint of the sequence recovers what came before it", {},
       {"BEGIN", A, "SAVEPOINT s", B, "SELECT 1/0"}, "bese", true, 'E', 0, {"ROLLBACK TO s", "COMMIT"}, {A}},
      {"in a block holding a SET: COMMIT, then a SET and an error", {"BEGIN", X}, {"COMMIT", A, "SELECT 1/0"}, "ce",
       true, 'I', 0, {}, {X}},
      {"in a failed block: COMMIT rolls back, the SET after it counts", {"BEGIN", X, "SELECT 1/0"}, {"COMMIT", A},
       "re", false, 'I', 0, {}, {A}},
      {"a read's answer gone by unseen, then a SET and an error", {X}, {"SELECT 1", A, "SELECT 1/0"}, "oe", true,
       'I', 1, {}, {X}},
      {"a read's answer gone by unseen, a SET kept", {}, {"SELECT 1", A}, "oe", false, 'I', 1, {}, {A}},
      // The answers do not fit the statements: not known what PostgreSQL kept.
      {"fewer answers than Executes without an error", {X}, {A, "SELECT 1"}, "e", false, 'I', 0, {}, {X}, true},
      {"a statement where a SET was bound", {X}, {A}, "o", false, 'I', 0, {}, {X}, true},
      {"answers gone by unseen: the places that fit lead to the same", {X},
       {"SET LOCAL work_mem = '1MB'", A, B, "SELECT 1/0"}, "eee", true, 'I', 1, {}, {X}},
      {"answers gone by unseen: not known whether the SET ran in the failed block", {X},
       {"BEGIN", A, "SELECT 1/0"}, "be", true, 'E', 1, {"ROLLBACK"}, {X}, true},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    Session x;
    for (const auto& sql : r.before) x.Single(sql);
    x.Sequence(r.statements, r.codes, r.error, r.status, r.unseen);
    for (const auto& sql : r.after) x.Single(sql);
    ExpectRecorded(x.s, r.want, r.incomplete);
  }
}

}  // namespace
}  // namespace pgvigil::proxy
