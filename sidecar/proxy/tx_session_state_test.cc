// DecideTxSessionState: which statements may run on a shared backend in
// transaction pooling, as one table per policy.
#include <gtest/gtest.h>

#include "sidecar/proxy/tx_session_state.h"

namespace pgvigil::proxy {
namespace {

struct Row {
  const char* sql;
  TxStateVerdict refuse;  // with proxy.pool.sessionState refuse
  const char* what;       // start of the state named ("" when allowed)
};

TEST(TxSessionStateTest, TableFromClassifiedSql) {
  const Row rows[] = {
      {"SELECT 1", TxStateVerdict::kAllow, ""},
      {"INSERT INTO t VALUES (1)", TxStateVerdict::kAllow, ""},
      {"BEGIN", TxStateVerdict::kAllow, ""},
      {"COMMIT", TxStateVerdict::kAllow, ""},
      {"SET LOCAL work_mem = '8MB'", TxStateVerdict::kAllow, ""},
      {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", TxStateVerdict::kAllow, ""},
      {"RESET work_mem", TxStateVerdict::kAllow, ""},
      {"RESET ALL", TxStateVerdict::kAllow, ""},
      {"DISCARD ALL", TxStateVerdict::kAllow, ""},
      {"DEALLOCATE ALL", TxStateVerdict::kAllow, ""},
      {"SELECT pg_advisory_xact_lock(1)", TxStateVerdict::kAllow, ""},
      {"DECLARE c CURSOR FOR SELECT 1", TxStateVerdict::kAllow, ""},
      {"SET TimeZone = 'Asia/Tokyo'", TxStateVerdict::kAllow, ""},
      {"SET SESSION datestyle TO 'SQL, DMY'", TxStateVerdict::kAllow, ""},
      {"SET TIME ZONE 'UTC'", TxStateVerdict::kAllow, ""},
      {"SET NAMES 'LATIN1'", TxStateVerdict::kAllow, ""},
      {"SET \"TimeZone\" TO DEFAULT", TxStateVerdict::kAllow, ""},
      {"set client_encoding to latin1", TxStateVerdict::kAllow, ""},
      {"SET application_name = 'x'", TxStateVerdict::kAllow, ""},
      {"SET standard_conforming_strings = off", TxStateVerdict::kAllow, ""},
      {"RESET TimeZone", TxStateVerdict::kAllow, ""},
      {"SET work_mem = '8MB'", TxStateVerdict::kRefuse, "SET"},
      {"SET timezone_abbreviations = 'India'", TxStateVerdict::kRefuse, "SET"},
      {"SELECT 1; SET TimeZone = 'UTC'", TxStateVerdict::kRefuse, "a SET in a multi-statement"},
      {"SELECT set_config('TimeZone', 'UTC', false)", TxStateVerdict::kAllow, ""},
      {"select set_config('client_encoding', $1, false)", TxStateVerdict::kAllow, ""},
      {"SELECT set_config('work_mem', $1, true)", TxStateVerdict::kAllow, ""},
      {"SELECT set_config('work_mem', '8MB', 'true')", TxStateVerdict::kAllow, ""},
      {"SELECT set_config($1, $2, false)", TxStateVerdict::kRefuse, "set_config()"},
      {"SELECT set_config('TimeZone', 'UTC', $1)", TxStateVerdict::kAllow, ""},
      {"SELECT set_config('TimeZone', 'UTC', false), set_config('work_mem', '8MB', false)",
       TxStateVerdict::kRefuse, "set_config()"},
      {"SELECT 1; SELECT set_config('TimeZone', 'UTC', false)", TxStateVerdict::kRefuse, "set_config()"},
      {"SELECT set_config('TimeZone', lower('UTC'), false)", TxStateVerdict::kAllow, ""},
      {"SET SESSION search_path = public", TxStateVerdict::kRefuse, "SET"},
      {"SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", TxStateVerdict::kRefuse, "SET SESSION"},
      {"SELECT 1; SET work_mem = '8MB'", TxStateVerdict::kRefuse, "a SET in a multi-statement"},
      {"CREATE TEMP TABLE x (a int)", TxStateVerdict::kRefuse, "a temporary table"},
      {"CREATE TEMPORARY TABLE x AS SELECT 1", TxStateVerdict::kRefuse, "a temporary table"},
      // Found by PostgreSQL's regression suite (temp.sql): a CREATE TABLE
      // without a schema behind it makes a temporary table.
      {"SET LOCAL search_path TO pg_temp, public", TxStateVerdict::kRefuse, "a search_path with pg_temp first"},
      {"SET search_path = 'pg_temp'", TxStateVerdict::kRefuse, "a search_path with pg_temp first"},
      {"SET LOCAL search_path TO public, pg_temp", TxStateVerdict::kAllow, ""},
      {"LISTEN ch", TxStateVerdict::kRefuse, "LISTEN"},
      {"SELECT pg_advisory_lock(1)", TxStateVerdict::kRefuse, "an advisory lock"},
      {"PREPARE p AS SELECT 1", TxStateVerdict::kRefuse, "a prepared statement (SQL PREPARE)"},
      {"DECLARE c CURSOR WITH HOLD FOR SELECT 1", TxStateVerdict::kRefuse, "a cursor WITH HOLD"},
      {"LOAD 'auto_explain'", TxStateVerdict::kRefuse, "LOAD"},
      {"SELECT set_config('work_mem', '8MB', false)", TxStateVerdict::kRefuse, "set_config()"},
  };
  ClassifierConfig cfg;
  for (const Row& r : rows) {
    SqlClass c = ClassifySql(r.sql, cfg);
    TxStateFacts f;
    f.kind = c.kind;
    f.createsTemp = c.createsTemp;
    f.sessionState = c.sessionState;
    f.setsTrackedParameter = SetsTrackedParameter(c.kind, c.object);
    TxStateDecision d = DecideTxSessionState(f, SessionStatePolicy::kRefuse);
    EXPECT_EQ(ToString(d.verdict), std::string(ToString(r.refuse))) << r.sql;
    EXPECT_EQ(d.what.rfind(r.what, 0), 0u) << r.sql << " -> " << d.what;
    if (r.refuse == TxStateVerdict::kAllow) {
      EXPECT_EQ(d.what, "") << r.sql;
    }
    // The same with pin: what is refused pins instead; what is allowed stays so.
    TxStateDecision p = DecideTxSessionState(f, SessionStatePolicy::kPin);
    EXPECT_EQ(ToString(p.verdict),
              std::string(r.refuse == TxStateVerdict::kAllow ? "allow" : "pin")) << r.sql;
    // A client pinned already runs anything.
    f.alreadyPinned = true;
    EXPECT_EQ(DecideTxSessionState(f, SessionStatePolicy::kRefuse).verdict, TxStateVerdict::kAllow) << r.sql;
  }
}

TEST(TxSessionStateTest, RefusalMessageNamesStateAndSetting) {
  std::string m = TxStateRefusedMessage("LISTEN");
  EXPECT_EQ(m.rfind("LISTEN is not allowed in transaction pooling mode", 0), 0u) << m;
  EXPECT_NE(m.find("proxy.pool.sessionState"), std::string::npos) << m;
  EXPECT_STREQ(kTxStateRefusedState, "0A000");
}

}  // namespace
}  // namespace pgvigil::proxy
