#include "sidecar/proxy/session_sets.h"

#include <gtest/gtest.h>

#include "sidecar/proxy/set_key.h"

#include <string>
#include <vector>

namespace pgvigil::proxy {
namespace {

std::vector<std::string> Queries(const SessionSets& s) {
  std::vector<std::string> out;
  for (const auto& e : s.confirmed()) out.push_back(e.query);
  return out;
}

// One cycle answered: its change (0 none), error, tags, status after.
std::vector<std::string> Answer(SessionSets& s, uint64_t change, bool error, uint8_t tags, char status,
                                uint64_t standby = 0) {
  return s.Answered({change, 0, error, tags, status}, standby);
}
// A kQuery change of statement `sql` (its text as the entry), keyed as the session keys it.
uint64_t SentSql(SessionSets& s, const std::string& sql, uint64_t standby = 0) {
  return s.Sent(SetChangeKind::kQuery, sql, standby, SetKey(sql));
}
// One statement sent and answered outside a block.
std::vector<std::string> Ran(SessionSets& s, const std::string& sql, uint64_t standby = 0, uint64_t standby_now = 0) {
  return Answer(s, SentSql(s, sql, standby), false, kTagRan, 'I', standby_now);
}
// One extended-protocol sequence (up to its Sync) answered, its changes first..last.
std::vector<std::string> AnswerRange(SessionSets& s, uint64_t first, uint64_t last, bool error, uint8_t tags,
                                     char status, uint64_t standby = 0) {
  return s.Answered({last, first, error, tags, status}, standby);
}

TEST(SessionSetsTest, ASetOutsideABlockCountsWhenItRanWithoutError) {
  SessionSets s;
  Answer(s, s.Sent(SetChangeKind::kQuery, "a", 0), false, kTagRan, 'I');
  Answer(s, s.Sent(SetChangeKind::kQuery, "bad", 0), true, 0, 'I');
  Answer(s, s.Sent(SetChangeKind::kQuery, "multi failed", 0), true, kTagRan, 'I');
  Answer(s, s.Sent(SetChangeKind::kQuery, "parsed only", 0), false, 0, 'I');
  EXPECT_EQ(Queries(s), std::vector<std::string>{"a"});
  EXPECT_FALSE(s.Watching());
}

TEST(SessionSetsTest, ResetAllCountsOnlyWhereItTookEffect) {
  SessionSets s;
  Answer(s, s.Sent(SetChangeKind::kQuery, "a", 0), false, kTagRan, 'I');
  // Refused in a failed block, then the block rolled back.
  Answer(s, s.Sent(SetChangeKind::kResetAll, "RESET ALL", 0), true, 0, 'E');
  Answer(s, 0, false, kTagRan | kTagRollback, 'I');
  // Ran in a block that was rolled back.
  Answer(s, s.Sent(SetChangeKind::kResetAll, "RESET ALL", 0), false, kTagRan, 'T');
  EXPECT_TRUE(s.Watching());
  Answer(s, 0, false, kTagRan | kTagRollback, 'I');
  EXPECT_EQ(Queries(s), std::vector<std::string>{"a"});
  // Committed.
  Answer(s, s.Sent(SetChangeKind::kResetAll, "RESET ALL", 0), false, kTagRan, 'T');
  Answer(s, 0, false, kTagRan | kTagCommit, 'I');
  EXPECT_TRUE(Queries(s).empty());
}

TEST(SessionSetsTest, SavepointsUndoWhatFollowedThem) {
  SessionSets s;
  // BEGIN; SET a; SAVEPOINT p; SET b; RELEASE p; SAVEPOINT q; SET c; ROLLBACK TO q; COMMIT
  Answer(s, s.Sent(SetChangeKind::kQuery, "a", 0), false, kTagRan, 'T');
  Answer(s, s.Sent(SetChangeKind::kSavepoint, "p", 0), false, kTagRan, 'T');
  Answer(s, s.Sent(SetChangeKind::kQuery, "b", 0), false, kTagRan, 'T');
  Answer(s, s.Sent(SetChangeKind::kRelease, "p", 0), false, kTagRan, 'T');
  Answer(s, s.Sent(SetChangeKind::kSavepoint, "q", 0), false, kTagRan, 'T');
  Answer(s, s.Sent(SetChangeKind::kQuery, "c", 0), false, kTagRan, 'T');
  Answer(s, s.Sent(SetChangeKind::kRollbackTo, "q", 0), false, kTagRan | kTagRollback, 'T');
  Answer(s, 0, false, kTagRan | kTagCommit, 'I');
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"a", "b"}));
  // A savepoint made before any SET of the block (not listed): ROLLBACK TO it undoes them all.
  Answer(s, s.Sent(SetChangeKind::kQuery, "d", 0), false, kTagRan, 'T');
  Answer(s, s.Sent(SetChangeKind::kRollbackTo, "early", 0), false, kTagRan | kTagRollback, 'T');
  Answer(s, 0, false, kTagRan | kTagCommit, 'I');
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"a", "b"}));
}

TEST(SessionSetsTest, AStandbyThatMissedAConfirmedSetGetsIt) {
  SessionSets s;
  EXPECT_TRUE(Answer(s, s.Sent(SetChangeKind::kQuery, "both", 1), false, kTagRan, 'I', 1).empty());
  EXPECT_EQ(Answer(s, s.Sent(SetChangeKind::kQuery, "primary", 0), false, kTagRan, 'T', 1).size(), 0u);
  EXPECT_EQ(Answer(s, 0, false, kTagRan | kTagCommit, 'I', 1), std::vector<std::string>{"primary"});
}

TEST(SessionSetsTest, DiscardAllDropsWhatWasSentBeforeIt) {
  SessionSets s;
  const uint64_t a = s.Sent(SetChangeKind::kQuery, "a", 0);
  const uint64_t at = s.numbered();  // DISCARD ALL sent behind "a", before its answer
  const uint64_t b = s.Sent(SetChangeKind::kQuery, "b", 0);
  Answer(s, a, false, kTagRan, 'I');
  Answer(s, b, false, kTagRan, 'I');
  s.Discarded(at);
  EXPECT_EQ(Queries(s), std::vector<std::string>{"b"});
}

TEST(SessionSetsTest, ChangesPastTheLimitMarkTheSetsIncompleteUntilResetOrDiscard) {
  SessionSets s;
  for (size_t i = 0; i < SessionSets::kMax; ++i) Answer(s, s.Sent(SetChangeKind::kQuery, "x", 0), false, kTagRan, 'I');
  EXPECT_FALSE(s.overflowed());
  Answer(s, s.Sent(SetChangeKind::kQuery, "past", 0), false, kTagRan, 'I');
  EXPECT_TRUE(s.overflowed());
  EXPECT_EQ(s.size(), SessionSets::kMax);
  Answer(s, s.Sent(SetChangeKind::kResetAll, "RESET ALL", 0), false, kTagRan, 'I');
  EXPECT_FALSE(s.overflowed());
  EXPECT_EQ(s.size(), 0u);
  for (size_t i = 0; i <= SessionSets::kMax; ++i) Answer(s, s.Sent(SetChangeKind::kQuery, "y", 0), false, kTagRan, 'I');
  ASSERT_TRUE(s.overflowed());
  const uint64_t before = s.numbered();
  Answer(s, s.Sent(SetChangeKind::kQuery, "z", 0), false, kTagRan, 'I');
  s.Discarded(before - 1);  // a DISCARD ALL sent before the last dropped one: still incomplete
  EXPECT_TRUE(s.overflowed());
  s.Discarded(s.numbered());
  EXPECT_FALSE(s.overflowed());
}

TEST(SessionSetsTest, SeveralChangesOfOneSequenceShareItsAnswerInOrder) {
  SessionSets s;
  // Parse/Bind/Execute of SET a and SET b, one Sync: both count.
  uint64_t first = s.Sent(SetChangeKind::kQuery, "a", 0);
  uint64_t last = s.Sent(SetChangeKind::kQuery, "b", 0);
  AnswerRange(s, first, last, false, kTagRan, 'I');
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"a", "b"}));
  // An error anywhere in it: none (one implicit transaction).
  first = s.Sent(SetChangeKind::kQuery, "c", 0);
  last = s.Sent(SetChangeKind::kQuery, "d", 0);
  AnswerRange(s, first, last, true, kTagRan, 'I');
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"a", "b"}));
  // In a block: SAVEPOINT p; SET e; ROLLBACK TO p; SET f, one Sync; then COMMIT.
  first = s.Sent(SetChangeKind::kSavepoint, "p", 0);
  s.Sent(SetChangeKind::kQuery, "e", 0);
  s.Sent(SetChangeKind::kRollbackTo, "p", 0);
  last = s.Sent(SetChangeKind::kQuery, "f", 0);
  AnswerRange(s, first, last, false, kTagRan | kTagRollback, 'T');
  EXPECT_TRUE(s.Watching());
  Answer(s, 0, false, kTagRan | kTagCommit, 'I');
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"a", "b", "f"}));
  // An older change never answered (its cycle was lost) does not count.
  s.Sent(SetChangeKind::kQuery, "lost", 0);
  first = last = s.Sent(SetChangeKind::kQuery, "g", 0);
  AnswerRange(s, first, last, false, kTagRan, 'I');
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"a", "b", "f", "g"}));
  EXPECT_FALSE(s.Watching());
}

TEST(SessionSetsTest, ANewerChangeOfAParameterReplacesTheOlderOne) {
  SessionSets s;
  // A driver that sets search_path and application_name before each transaction.
  for (int i = 0; i < 150; ++i)
    Ran(s, i % 2 ? "SET application_name = 'a" + std::to_string(i) + "'"
                 : "SET search_path TO s" + std::to_string(i) + ", public");
  EXPECT_FALSE(s.overflowed());
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"SET search_path TO s148, public", "SET application_name = 'a149'"}));
}

TEST(SessionSetsTest, DistinctParametersKeepTheirOrderTheNewestLast) {
  SessionSets s;
  Ran(s, "SET work_mem = '1MB'");
  Ran(s, "SET search_path TO a");
  Ran(s, "SET TIME ZONE 'UTC'");
  Ran(s, "SET myapp.x = 1");
  Ran(s, "SET \"Work_Mem\" = '2MB'");
  Ran(s, "SET timezone = 'Europe/Paris'");
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"SET search_path TO a", "SET myapp.x = 1",
                                                  "SET \"Work_Mem\" = '2MB'", "SET timezone = 'Europe/Paris'"}));
}

TEST(SessionSetsTest, AResetReplacesAnOlderSetOfItsParameter) {
  SessionSets s;
  Ran(s, "SET work_mem = '1MB'");
  Ran(s, "SET search_path TO a");
  Ran(s, "RESET work_mem");
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"SET search_path TO a", "RESET work_mem"}));
  Ran(s, "SET work_mem TO DEFAULT");
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"SET search_path TO a", "SET work_mem TO DEFAULT"}));
}

TEST(SessionSetsTest, RoleChangesAreNeverReplacedNorReplacedAcross) {
  SessionSets s;
  Ran(s, "SET ROLE alice");
  Ran(s, "SET search_path TO a");
  Ran(s, "SET ROLE bob");
  Ran(s, "RESET ROLE");
  Ran(s, "SET SESSION AUTHORIZATION alice");
  Ran(s, "RESET SESSION AUTHORIZATION");
  // The SET of search_path made before a SET ROLE stays (what a change without
  // a key does may depend on it).
  Ran(s, "SET search_path TO b");
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"SET ROLE alice", "SET search_path TO a", "SET ROLE bob",
                                                  "RESET ROLE", "SET SESSION AUTHORIZATION alice",
                                                  "RESET SESSION AUTHORIZATION", "SET search_path TO b"}));
  Ran(s, "SET search_path TO c");
  EXPECT_EQ(Queries(s).back(), "SET search_path TO c");
  EXPECT_EQ(s.size(), 7u);
}

TEST(SessionSetsTest, ATextOfSeveralStatementsIsNeverReplaced) {
  SessionSets s;
  const std::string multi = "SET search_path TO a;\nSET work_mem = '1MB';\n";  // SetKey gives it none
  Ran(s, multi);
  Ran(s, "SET search_path TO b");
  Ran(s, "SET work_mem = '2MB'");
  Ran(s, "SET search_path TO c");
  EXPECT_EQ(Queries(s), (std::vector<std::string>{multi, "SET work_mem = '2MB'", "SET search_path TO c"}));
}

TEST(SessionSetsTest, OnlyRecordedChangesAreReplaced) {
  SessionSets s;
  Ran(s, "SET work_mem = '1MB'");
  // In a block: waits with it; rolled back, the recorded one stays.
  Answer(s, SentSql(s, "SET work_mem = '2MB'"), false, kTagRan, 'T');
  EXPECT_EQ(Queries(s), std::vector<std::string>{"SET work_mem = '1MB'"});
  Answer(s, 0, false, kTagRan | kTagRollback, 'I');
  EXPECT_EQ(Queries(s), std::vector<std::string>{"SET work_mem = '1MB'"});
  // Committed: the block's last change of it is what is left.
  Answer(s, SentSql(s, "SET work_mem = '3MB'"), false, kTagRan, 'T');
  Answer(s, SentSql(s, "SET search_path TO a"), false, kTagRan, 'T');
  Answer(s, SentSql(s, "SET work_mem = '4MB'"), false, kTagRan, 'T');
  Answer(s, 0, false, kTagRan | kTagCommit, 'I');
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"SET search_path TO a", "SET work_mem = '4MB'"}));
  // Refused or failed: nothing is replaced.
  Answer(s, SentSql(s, "SET work_mem = 'lots'"), true, 0, 'I');
  EXPECT_EQ(Queries(s), (std::vector<std::string>{"SET search_path TO a", "SET work_mem = '4MB'"}));
}

TEST(SessionSetsTest, AStandbyInTheSessionIsGivenTheNewerChangeAsBefore) {
  SessionSets s;
  Ran(s, "SET work_mem = '1MB'");
  // Standby 1 joined (given the recorded ones), then a change sent to the primary alone.
  EXPECT_EQ(Ran(s, "SET work_mem = '2MB'", 0, 1), std::vector<std::string>{"SET work_mem = '2MB'"});
  EXPECT_TRUE(Ran(s, "SET work_mem = '3MB'", 1, 1).empty());
  EXPECT_EQ(Queries(s), std::vector<std::string>{"SET work_mem = '3MB'"});
}

TEST(SessionSetsTest, AChangeOfARecordedParameterNeverOverflows) {
  SessionSets s;
  for (size_t i = 0; i < SessionSets::kMax; ++i) Ran(s, "SET pgvigil_t.p" + std::to_string(i) + " = 1");
  Ran(s, "SET pgvigil_t.p0 = 2");
  EXPECT_FALSE(s.overflowed());
  EXPECT_EQ(s.size(), SessionSets::kMax);
  EXPECT_EQ(Queries(s).back(), "SET pgvigil_t.p0 = 2");
  Ran(s, "SET pgvigil_t.other = 1");
  EXPECT_TRUE(s.overflowed());
  s.Discarded(s.numbered());
  EXPECT_FALSE(s.overflowed());
  EXPECT_EQ(s.size(), 0u);
}

TEST(SessionSetsTest, CommandTags) {
  EXPECT_EQ(CommandTagBits("COMMIT"), kTagRan | kTagCommit);
  EXPECT_EQ(CommandTagBits("PREPARE TRANSACTION"), kTagRan | kTagCommit);
  EXPECT_EQ(CommandTagBits("ROLLBACK"), kTagRan | kTagRollback);
  EXPECT_EQ(CommandTagBits("SET"), kTagRan);
  EXPECT_EQ(CommandTagBits("COMMITX"), kTagRan);
}

}  // namespace
}  // namespace pgvigil::proxy
