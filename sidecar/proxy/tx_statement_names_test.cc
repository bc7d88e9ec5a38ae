#include "sidecar/proxy/tx_statement_names.h"

#include <gtest/gtest.h>

namespace pgvigil::proxy {
namespace {

TEST(TxStatementNamesTest, ProxyNames) {
  EXPECT_TRUE(IsProxyStatementName("pgvigil_s1"));
  EXPECT_TRUE(IsProxyStatementName("pgvigil_s20481"));
  EXPECT_FALSE(IsProxyStatementName("pgvigil_s"));
  EXPECT_FALSE(IsProxyStatementName("pgvigil_s1x"));
  EXPECT_FALSE(IsProxyStatementName("PGVIGIL_S1"));  // protocol names are case-sensitive
  EXPECT_FALSE(IsProxyStatementName("s1"));
  EXPECT_FALSE(IsProxyStatementName(""));
}

TEST(TxStatementNamesTest, ForeignStatement) {
  struct Row {
    const char* name;
    bool pinned, foreign;
  } rows[] = {
      {"", false, true},           {"", true, true},  // another client's unnamed statement
      {"pgvigil_s3", false, true}, {"pgvigil_s3", true, true},  // another client's named one
      {"s1", false, true},                                      // nothing of the client's is there
      {"s1", true, false},                                      // may be its SQL PREPAREd statement
  };
  for (const auto& r : rows)
    EXPECT_EQ(ForeignStatement(r.name, r.pinned), r.foreign) << r.name << " " << r.pinned;
}

TEST(TxStatementNamesTest, PostgresTexts) {
  EXPECT_EQ(MissingStatementMessage(""), "unnamed prepared statement does not exist");
  EXPECT_EQ(MissingStatementMessage("s1"), "prepared statement \"s1\" does not exist");
  EXPECT_STREQ(kMissingStatementState, "26000");
  EXPECT_STREQ(kAbortedTxState, "25P02");
}

TEST(TxStatementNamesTest, AbortedTransaction) {
  EXPECT_FALSE(RefusedInAbortedTx(StmtKind::kTxEnd));
  EXPECT_FALSE(RefusedInAbortedTx(StmtKind::kRollbackTo));
  for (StmtKind k : {StmtKind::kOther, StmtKind::kDeallocate, StmtKind::kDeallocateAll,
                     StmtKind::kSet, StmtKind::kSavepoint, StmtKind::kBegin, StmtKind::kPrepare})
    EXPECT_TRUE(RefusedInAbortedTx(k)) << ToString(k);
}

}  // namespace
}  // namespace pgvigil::proxy
