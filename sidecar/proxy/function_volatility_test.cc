// Unit tests for the function volatility cache and the statement kinds the
// classifier gives transaction and session commands.
#include "sidecar/proxy/function_volatility.h"

#include <gtest/gtest.h>

#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {
namespace {

using V = FunctionVolatility::Verdict;

TEST(FunctionVolatilityTest, KnownUnknownAndExpiry) {
  FunctionVolatility fv;
  auto t0 = FunctionVolatility::Clock::time_point{} + std::chrono::hours(1);
  std::vector<std::string> unknown;
  EXPECT_EQ(fv.Classify("db", {"f", "g"}, t0, &unknown), V::kUnknown);
  EXPECT_EQ(unknown, (std::vector<std::string>{"f", "g"}));
  fv.Store("db", {{"f", false}, {"g", false}}, t0);
  EXPECT_EQ(fv.Classify("db", {"f", "g"}, t0, nullptr), V::kStable);
  EXPECT_EQ(fv.Classify("other", {"f"}, t0, nullptr), V::kUnknown);  // per database
  fv.Store("db", {{"w", true}}, t0);
  EXPECT_EQ(fv.Classify("db", {"f", "w"}, t0, nullptr), V::kVolatile);
  EXPECT_EQ(fv.Classify("db", {"f"}, t0 + FunctionVolatility::kTimeToLive, nullptr), V::kUnknown);
  fv.Forget("db");
  EXPECT_EQ(fv.Classify("db", {"w"}, t0, nullptr), V::kUnknown);
}

TEST(FunctionVolatilityTest, Bounded) {
  FunctionVolatility fv;
  auto t0 = FunctionVolatility::Clock::time_point{};
  for (size_t i = 0; i < FunctionVolatility::kMaxNamesPerDatabase + 10; ++i)
    fv.Store("db", {{"f" + std::to_string(i), false}}, t0);
  EXPECT_LE(fv.Size("db"), FunctionVolatility::kMaxNamesPerDatabase);
  for (size_t i = 0; i < FunctionVolatility::kMaxDatabases + 5; ++i) fv.Store("db" + std::to_string(i), {{"f", false}}, t0);
  size_t dbs = 0;
  for (size_t i = 0; i < FunctionVolatility::kMaxDatabases + 5; ++i) dbs += fv.Size("db" + std::to_string(i)) > 0;
  EXPECT_LE(dbs, FunctionVolatility::kMaxDatabases);
}

TEST(FunctionVolatilityTest, LookupQueryQuotesAndBounds) {
  std::string q = FunctionVolatility::LookupQuery({"f", "it's", "g\\x", "MyFunc"});
  EXPECT_NE(q.find("ARRAY['f','MyFunc']::name[]"), std::string::npos) << q;
  EXPECT_EQ(q.find("it"), std::string::npos);
  EXPECT_NE(FunctionVolatility::LookupQuery({}).find("ARRAY['']"), std::string::npos);
}

TEST(StatementKindTest, TransactionAndSessionCommands) {
  struct Case {
    const char* sql;
    StmtKind kind;
    TxIsolation iso;
    TxAccess access;
    const char* object;
  } cases[] = {
      {"BEGIN", StmtKind::kBegin, TxIsolation::kUnspecified, TxAccess::kUnspecified, ""},
      {"begin isolation level serializable", StmtKind::kBegin, TxIsolation::kSerializable, TxAccess::kUnspecified, ""},
      {"BEGIN ISOLATION LEVEL REPEATABLE READ, READ WRITE", StmtKind::kBegin, TxIsolation::kOther,
       TxAccess::kReadWrite, ""},
      {"START TRANSACTION READ ONLY, ISOLATION LEVEL SERIALIZABLE DEFERRABLE", StmtKind::kBegin,
       TxIsolation::kSerializable, TxAccess::kReadOnly, ""},
      {"BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY", StmtKind::kBegin, TxIsolation::kOther, TxAccess::kReadOnly,
       ""},
      {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", StmtKind::kSetTransaction, TxIsolation::kSerializable,
       TxAccess::kUnspecified, ""},
      {"SET TRANSACTION READ WRITE", StmtKind::kSetTransaction, TxIsolation::kUnspecified, TxAccess::kReadWrite, ""},
      {"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
       StmtKind::kSetSessionCharacteristics, TxIsolation::kSerializable, TxAccess::kUnspecified, ""},
      {"SET default_transaction_isolation = 'serializable'", StmtKind::kSet, TxIsolation::kSerializable,
       TxAccess::kUnspecified, "default_transaction_isolation"},
      {"set session default_transaction_isolation to 'read committed'", StmtKind::kSet, TxIsolation::kOther,
       TxAccess::kUnspecified, "default_transaction_isolation"},
      {"SET default_transaction_isolation TO DEFAULT", StmtKind::kSet, TxIsolation::kDefault, TxAccess::kUnspecified,
       "default_transaction_isolation"},
      {"RESET default_transaction_isolation", StmtKind::kReset, TxIsolation::kDefault, TxAccess::kUnspecified,
       "default_transaction_isolation"},
      {"SET transaction_isolation TO serializable", StmtKind::kSetTransaction, TxIsolation::kSerializable,
       TxAccess::kUnspecified, ""},
      {"SET transaction_read_only = off", StmtKind::kSetTransaction, TxIsolation::kUnspecified, TxAccess::kReadWrite,
       ""},
      {"SET LOCAL work_mem = '1MB'", StmtKind::kSetLocal, TxIsolation::kUnspecified, TxAccess::kUnspecified, ""},
      {"SET search_path = a", StmtKind::kSet, TxIsolation::kUnspecified, TxAccess::kUnspecified, "search_path"},
      {"SET TIME ZONE 'UTC'", StmtKind::kSet, TxIsolation::kUnspecified, TxAccess::kUnspecified, "timezone"},
      {"SET NAMES 'LATIN1'", StmtKind::kSet, TxIsolation::kUnspecified, TxAccess::kUnspecified, "client_encoding"},
      {"SET \"DateStyle\" TO 'ISO'", StmtKind::kSet, TxIsolation::kUnspecified, TxAccess::kUnspecified,
       "datestyle"},
      {"RESET ALL", StmtKind::kResetAll, TxIsolation::kUnspecified, TxAccess::kUnspecified, ""},
      {"DISCARD ALL", StmtKind::kDiscardAll, TxIsolation::kUnspecified, TxAccess::kUnspecified, ""},
      {"DISCARD PLANS", StmtKind::kDiscardOther, TxIsolation::kUnspecified, TxAccess::kUnspecified, ""},
      {"DEALLOCATE s1", StmtKind::kDeallocate, TxIsolation::kUnspecified, TxAccess::kUnspecified, "s1"},
      {"DEALLOCATE PREPARE \"S1\"", StmtKind::kDeallocate, TxIsolation::kUnspecified, TxAccess::kUnspecified, "S1"},
      {"deallocate all", StmtKind::kDeallocateAll, TxIsolation::kUnspecified, TxAccess::kUnspecified, ""},
      {"PREPARE p AS SELECT 1", StmtKind::kPrepare, TxIsolation::kUnspecified, TxAccess::kUnspecified, "p"},
      {"SAVEPOINT a", StmtKind::kSavepoint, TxIsolation::kUnspecified, TxAccess::kUnspecified, "a"},
      {"RELEASE SAVEPOINT a", StmtKind::kRelease, TxIsolation::kUnspecified, TxAccess::kUnspecified, "a"},
      {"ROLLBACK TO SAVEPOINT a", StmtKind::kRollbackTo, TxIsolation::kUnspecified, TxAccess::kUnspecified, "a"},
      {"ROLLBACK WORK TO a", StmtKind::kRollbackTo, TxIsolation::kUnspecified, TxAccess::kUnspecified, "a"},
      {"COMMIT", StmtKind::kTxEnd, TxIsolation::kUnspecified, TxAccess::kUnspecified, ""},
      {"CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", StmtKind::kDdl, TxIsolation::kUnspecified,
       TxAccess::kUnspecified, ""},
      {"SELECT 1", StmtKind::kOther, TxIsolation::kUnspecified, TxAccess::kUnspecified, ""},
  };
  for (const auto& c : cases) {
    SqlClass r = ClassifySql(c.sql, ClassifierConfig{});
    EXPECT_EQ(ToString(r.kind), std::string(ToString(c.kind))) << c.sql;
    EXPECT_EQ(int(r.isolation), int(c.iso)) << c.sql;
    EXPECT_EQ(int(r.access), int(c.access)) << c.sql;
    EXPECT_EQ(r.object, c.object) << c.sql;
  }
}

TEST(StatementKindTest, FunctionsNeedingALookup) {
  auto f = [](const char* sql) { return ClassifySql(sql, ClassifierConfig{}).functions; };
  EXPECT_EQ(f("SELECT my_func(1), lower(x) FROM t"), (std::vector<std::string>{"my_func"}));
  EXPECT_EQ(f("SELECT s.fn(a) FROM t"), (std::vector<std::string>{"fn"}));
  EXPECT_EQ(f("SELECT \"MyFunc\"()"), (std::vector<std::string>{"MyFunc"}));
  EXPECT_EQ(f("SELECT 1.5::numeric(10,2), x::varchar(3)"), (std::vector<std::string>{}));
  EXPECT_EQ(f("EXPLAIN ANALYZE SELECT w()"), (std::vector<std::string>{"w"}));
  ClassifierConfig listed;
  listed.readOnlyFunctions = {"my_func"};
  EXPECT_TRUE(ClassifySql("SELECT my_func(1)", listed).functions.empty());  // lists configured: no lookup
  for (const char* sql : {"SELECT txid_current()", "SELECT pg_notify('c','x')", "SELECT lo_creat(-1)",
                          "SELECT pg_advisory_unlock(1)", "SELECT gin_clean_pending_list('i')",
                          "SELECT pg_catalog.pg_current_wal_lsn()", "select currval('s')"}) {
    SqlClass c = ClassifySql(sql, ClassifierConfig{});
    EXPECT_EQ(c.route, SqlRoute::kPrimary) << sql;
    EXPECT_TRUE(c.write) << sql;
  }
}

}  // namespace
}  // namespace pgvigil::proxy
