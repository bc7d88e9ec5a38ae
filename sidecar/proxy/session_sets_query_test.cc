// SessionSets, a Query of several statements (session_sets_query.cc): which
// of its SETs count, given its statements (split by the classifier, as the
// session does), PostgreSQL's CommandCompletes and the status after it. The
// outcomes are PostgreSQL 15's (proxy_session_sets_query_itest.cc runs the same
// kinds of Query on it).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sidecar/proxy/session_sets.h"
#include "sidecar/proxy/session_sets_testutil.h"
#include "sidecar/proxy/set_key.h"
#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {
namespace {

// Single statements around the Query, as the session sends them.
struct Session {
  SessionSets s;
  char status = 'I';

  void Single(const std::string& sql) {
    if (sql == "BEGIN") {
      Answer(0, false, kTagRan, 'T');
    } else if (sql == "COMMIT") {
      Answer(0, false, kTagRan | (status == 'E' ? kTagRollback : kTagCommit), 'I');
    } else if (sql == "ROLLBACK") {
      Answer(0, false, kTagRan | kTagRollback, 'I');
    } else if (sql.rfind("ROLLBACK TO ", 0) == 0) {
      Answer(s.Sent(SetChangeKind::kRollbackTo, sql.substr(12), 0), false, kTagRan | kTagRollback, 'T');
    } else if (sql.rfind("SAVEPOINT ", 0) == 0) {
      Answer(s.Watching() ? s.Sent(SetChangeKind::kSavepoint, sql.substr(10), 0) : 0, false, kTagRan, 'T');
    } else if (sql == "SELECT 1/0") {
      Answer(0, true, 0, status == 'I' ? 'I' : 'E');
    } else {
      Answer(s.Sent(SetChangeKind::kQuery, sql, 0, SetKey(sql)), false, kTagRan, status);
    }
  }
  void Answer(uint64_t change, bool error, uint8_t tags, char after) {
    s.Answered({change, 0, error, tags, after}, 0);
    status = after;
  }
  // The Query's steps sent as NoteQuerySteps sends them (each entry its
  // statement's text, not a Query message), then its answer.
  void Query(const std::string& sql, const std::string& codes, bool error, char after) {
    SqlClass c = ClassifySql(sql, ClassifierConfig{});
    uint64_t first = 0, last = 0;
    for (auto& st : c.steps) {
      std::string text = st.text.substr(std::min(st.text.find_first_not_of(' '), st.text.size()));
      SetChangeKind kind = st.kind == StmtKind::kResetAll    ? SetChangeKind::kResetAll
                           : st.kind == StmtKind::kBegin     ? SetChangeKind::kBegin
                           : st.kind == StmtKind::kTxEnd     ? SetChangeKind::kTxEnd
                           : st.kind == StmtKind::kSavepoint ? SetChangeKind::kSavepoint
                           : st.kind == StmtKind::kRelease   ? SetChangeKind::kRelease
                           : st.kind == StmtKind::kRollbackTo ? SetChangeKind::kRollbackTo
                                                              : SetChangeKind::kQuery;
      std::string key = kind == SetChangeKind::kQuery ? SetKey(text) : "";
      last = s.Sent(kind, std::move(text), 0, std::move(key), st.at);
      if (!first) first = last;
    }
    SetCycleOutcome o{last, first, error, 0, after, uint32_t(c.statements), codes};
    s.Answered(o, 0);
    status = after;
  }
};

using namespace session_sets_rows;

struct Row {
  const char* name;
  std::vector<std::string> before;  // single statements
  std::string query;
  std::string codes;  // CommandTagCode of each CommandComplete
  bool error;
  char status;  // after the Query
  std::vector<std::string> after;  // single statements
  std::vector<std::string> want;   // the recorded entries then
  bool incomplete = false;         // overflowed()
};

std::string Q(std::vector<std::string> statements) {
  std::string q;
  for (const auto& s : statements) q += (q.empty() ? "" : "; ") + s;
  return q;
}

TEST(SessionSetsQueryTest, Table) {
  const std::vector<Row> rows = {
      {"implicit: a ROLLBACK drops what came before it, not after", {X}, Q({A, "ROLLBACK", B}), "ere", false, 'I',
       {}, {X, B}},
      {"implicit: a COMMIT keeps what came before an error", {}, Q({A, "COMMIT", B, "SELECT 1/0"}), "ece", true, 'I',
       {}, {A}},
      {"implicit: an error drops it all", {X}, Q({A, "SELECT 1/0"}), "e", true, 'I', {}, {X}},
      {"implicit: a newer change of a parameter replaces the older",
       {X}, Q({B, "SET work_mem = '3MB'", "SELECT 1"}), "eeo", false, 'I', {}, {X, "SET work_mem = '3MB'"}},
      {"implicit: RESET ALL drops the older ones", {X}, Q({"RESET ALL", A}), "ee", false, 'I', {}, {A}},
      {"BEGIN ... ROLLBACK in the Query, a SET after it", {}, Q({"BEGIN", A, "ROLLBACK", B}), "bere", false, 'I', {},
       {B}},
      {"BEGIN takes the implicit transaction into the block: committed later",
       {}, Q({A, "BEGIN", B}), "ebe", false, 'T', {"COMMIT"}, {A, B}},
      {"BEGIN takes the implicit transaction into the block: rolled back later",
       {X}, Q({A, "BEGIN", B}), "ebe", false, 'T', {"ROLLBACK"}, {X}},
      {"savepoints in the Query", {},
       Q({"BEGIN", A, "SAVEPOINT s", B, "ROLLBACK TO s", C, "COMMIT"}), "beserec", false, 'I', {}, {A, C}},
      {"RELEASE in the Query", {}, Q({"BEGIN", A, "SAVEPOINT s", B, "RELEASE s", "COMMIT"}), "beselc", false, 'I', {},
       {A, B}},
      {"an error in a block: ROLLBACK TO a savepoint of the Query recovers what came before it", {},
       Q({"BEGIN", A, "SAVEPOINT s", B, "SELECT 1/0"}), "bese", true, 'E', {"ROLLBACK TO s", "COMMIT"}, {A}},
      {"an error in a block, then ROLLBACK", {X}, Q({"BEGIN", A, "SELECT 1/0"}), "be", true, 'E', {"ROLLBACK"}, {X}},
      {"in a block holding a SET: savepoint commands", {"BEGIN", X},
       Q({"SAVEPOINT s", B, "ROLLBACK TO s", "SELECT 1"}), "sero", false, 'T', {"COMMIT"}, {X}},
      {"in a block holding a SET: a COMMIT, then a SET", {"BEGIN", X}, Q({"COMMIT", A}), "ce", false, 'I', {},
       {X, A}},
      {"in a block holding a SET: a ROLLBACK, then a SET", {"BEGIN", X}, Q({"ROLLBACK", A}), "re", false, 'I', {},
       {A}},
      {"in a block: SETs wait with it", {"BEGIN"}, Q({A, "SELECT 1"}), "eo", false, 'T', {"ROLLBACK"}, {}},
      {"in a block: a savepoint made before the Query", {"BEGIN", X, "SAVEPOINT p"},
       Q({A, "ROLLBACK TO p", B}), "ere", false, 'T', {"COMMIT"}, {X, B}},
      {"in a failed block: COMMIT rolls back, the SET after it counts", {"BEGIN", X, "SELECT 1/0"},
       Q({"COMMIT", A}), "re", false, 'I', {}, {A}},
      {"in a failed block: refused", {"BEGIN", X, "SAVEPOINT p", "SELECT 1/0"}, Q({A, "SELECT 1"}), "", true, 'E',
       {"ROLLBACK TO p", "COMMIT"}, {X}},
      // The answers do not fit the statements: not known what PostgreSQL kept.
      {"split otherwise than PostgreSQL", {X},
       "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; " + std::string(A), "oe",
       false, 'I', {}, {X}, true},
      {"COMMIT AND CHAIN keeps the block open", {}, Q({"BEGIN", A, "COMMIT AND CHAIN", B}), "bece", false, 'T',
       {"COMMIT"}, {A}, true},
      {"fewer answers than statements without an error", {X}, Q({A, "SELECT 1"}), "e", false, 'I', {}, {X}, true},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    Session x;
    for (const auto& sql : r.before) x.Single(sql);
    x.Query(r.query, r.codes, r.error, r.status);
    for (const auto& sql : r.after) x.Single(sql);
    ExpectRecorded(x.s, r.want, r.incomplete);
  }
}

TEST(SessionSetsQueryTest, CommandTagCodes) {
  EXPECT_EQ(CommandTagCode("SET"), 'e');
  EXPECT_EQ(CommandTagCode("RESET"), 'e');
  EXPECT_EQ(CommandTagCode("BEGIN"), 'b');
  EXPECT_EQ(CommandTagCode("START TRANSACTION"), 'b');
  EXPECT_EQ(CommandTagCode("COMMIT"), 'c');
  EXPECT_EQ(CommandTagCode("PREPARE TRANSACTION"), 'c');
  EXPECT_EQ(CommandTagCode("ROLLBACK"), 'r');
  EXPECT_EQ(CommandTagCode("SAVEPOINT"), 's');
  EXPECT_EQ(CommandTagCode("RELEASE"), 'l');
  EXPECT_EQ(CommandTagCode("COMMIT PREPARED"), 'o');
  EXPECT_EQ(CommandTagCode("SELECT 1"), 'o');
}

}  // namespace
}  // namespace pgvigil::proxy
