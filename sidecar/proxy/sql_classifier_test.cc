// Table tests for read/write classification.
#include "sidecar/proxy/sql_classifier.h"

#include "sidecar/proxy/sql_fast_path.h"

#include <random>

#include <gtest/gtest.h>

namespace pgvigil::proxy {
namespace {

struct Case {
  const char* sql;
  SqlRoute route;
  bool write;
};

TEST(SqlClassifierTest, Table) {
  const Case cases[] = {
      {"SELECT abalance FROM pgbench_accounts WHERE aid = $1", SqlRoute::kRead, false},
      {"  select 1;", SqlRoute::kRead, false},
      {"select inet_server_port()", SqlRoute::kRead, false},
      {"WITH x AS (SELECT 1) SELECT * FROM x", SqlRoute::kRead, false},
      {"VALUES (1),(2)", SqlRoute::kRead, false},
      {"TABLE t", SqlRoute::kRead, false},
      {"-- comment\nSELECT 'insert into t' FROM t", SqlRoute::kRead, false},
      {"SELECT $$ delete $$, E'\\' update', \"update\" FROM t", SqlRoute::kRead, false},
      {"UPDATE pgbench_accounts SET abalance = 1", SqlRoute::kPrimary, true},
      {"insert into t values (1)", SqlRoute::kPrimary, true},
      {"DELETE FROM t", SqlRoute::kPrimary, true},
      {"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", SqlRoute::kPrimary, true},
      {"SELECT * FROM t FOR UPDATE", SqlRoute::kPrimary, true},
      {"SELECT * FROM t FOR NO KEY UPDATE", SqlRoute::kPrimary, true},
      {"SELECT * FROM t FOR SHARE", SqlRoute::kPrimary, true},
      {"SELECT * FROM t FOR KEY SHARE", SqlRoute::kPrimary, true},
      {"SELECT nextval('s')", SqlRoute::kPrimary, true},
      {"select SETVAL('s', 1)", SqlRoute::kPrimary, true},
      {"SELECT * INTO t2 FROM t", SqlRoute::kPrimary, true},
      {"CREATE TABLE t (a int)", SqlRoute::kPrimary, true},
      {"CREATE TEMP TABLE tt (a int)", SqlRoute::kPrimary, true},
      {"LISTEN chan", SqlRoute::kPrimary, false},
      {"UNLISTEN *", SqlRoute::kPrimary, false},
      {"NOTIFY chan, 'x'", SqlRoute::kPrimary, false},
      {"COPY t FROM STDIN", SqlRoute::kPrimary, true},
      {"COPY t TO STDOUT", SqlRoute::kRead, false},
      {"COPY (SELECT 1) TO STDOUT", SqlRoute::kRead, false},
      {"SET search_path = x", SqlRoute::kAll, false},
      {"RESET ALL", SqlRoute::kAll, false},
      {"DISCARD ALL", SqlRoute::kAll, false},
      {"DEALLOCATE s1", SqlRoute::kAll, false},
      {"BEGIN", SqlRoute::kAll, false},
      {"START TRANSACTION READ ONLY", SqlRoute::kAll, false},
      {"COMMIT", SqlRoute::kAll, false},
      {"ROLLBACK TO SAVEPOINT a", SqlRoute::kAll, false},
      {"COMMIT PREPARED 'x'", SqlRoute::kPrimary, true},
      {"SHOW pool_nodes", SqlRoute::kLocal, false},
      {"show POOL_NODES;", SqlRoute::kLocal, false},
      {"PGPOOL SHOW pool_nodes", SqlRoute::kLocal, false},
      {"show pool_version", SqlRoute::kLocal, false},
      {"SHOW transaction_read_only", SqlRoute::kPrimary, false},
      {"/*NO LOAD BALANCE*/ SELECT 1", SqlRoute::kPrimary, false},
      {"EXPLAIN SELECT 1", SqlRoute::kRead, false},
      {"EXPLAIN ANALYZE DELETE FROM t", SqlRoute::kPrimary, true},
      {"SELECT 1; SELECT 2", SqlRoute::kRead, false},
      {"SELECT 1; UPDATE t SET a = 1", SqlRoute::kPrimary, true},
      {"BEGIN; SELECT 1; COMMIT", SqlRoute::kPrimary, false},
      {"VACUUM t", SqlRoute::kPrimary, true},
      {"LOCK t", SqlRoute::kPrimary, true},
      {"CALL p()", SqlRoute::kPrimary, true},
      {"", SqlRoute::kEmpty, false},
      {" ; -- nothing", SqlRoute::kEmpty, false},
      {"SELECT 'unterminated", SqlRoute::kRead, false},
      {"/* unterminated comment", SqlRoute::kEmpty, false},
      {"(SELECT 1)", SqlRoute::kPrimary, false},
      // Shapes near the allocation-free fast path.
      {"SELECT abalance FROM pgbench_accounts WHERE aid = 42;", SqlRoute::kRead, false},
      {"select a from t for update;", SqlRoute::kPrimary, true},
      {"SELECT 1; DELETE FROM t", SqlRoute::kPrimary, true},
      {"SELECT $x$;$x$", SqlRoute::kRead, false},
      {"SELECT * FROM (SELECT nextval('s')) x", SqlRoute::kPrimary, true},
      {"SELECT\tsetval('s', 1)", SqlRoute::kPrimary, true},
      {"SELECT 'a' /*NO LOAD BALANCE*/", SqlRoute::kRead, false},
      {"SELECT a INTO b FROM c", SqlRoute::kPrimary, true},
      // System catalogs and what differs per server: the primary's answer, not a write.
      {"SELECT gid FROM pg_prepared_xacts", SqlRoute::kPrimary, false},
      {"SELECT gid, prepared FROM pg_catalog.pg_prepared_xacts WHERE database = $1", SqlRoute::kPrimary, false},
      {"select count(*) from PG_STAT_ACTIVITY", SqlRoute::kPrimary, false},
      {"SELECT * FROM information_schema.tables", SqlRoute::kPrimary, false},
      {"SELECT t.oid FROM pg_type t WHERE t.typname = 'x'", SqlRoute::kPrimary, false},
      {"SELECT pg_backend_pid()", SqlRoute::kPrimary, false},
      {"SELECT current_setting('transaction_read_only')", SqlRoute::kPrimary, false},
      {"select current_setting($1), current_setting($2)", SqlRoute::kPrimary, false},
      {"SELECT current_setting('search_path')", SqlRoute::kRead, false},
      {"SELECT pg_catalog.now()", SqlRoute::kRead, false},
      {"SELECT pg_catalog.current_setting('search_path')", SqlRoute::kRead, false},
      {"SELECT * FROM pgbench_accounts", SqlRoute::kRead, false},
      {"SELECT 'pg_class' FROM t", SqlRoute::kRead, false},
      {"select count(*) from pg_prepared_statements", SqlRoute::kRead, false},  // this session's own
      {"WITH c AS (SELECT * FROM pg_class) DELETE FROM t", SqlRoute::kPrimary, true},
  };
  ClassifierConfig cfg;
  for (const auto& c : cases) {
    SqlClass r = ClassifySql(c.sql, cfg);
    EXPECT_EQ(r.route, c.route) << c.sql << " -> " << ToString(r.route) << " (" << r.reason << ")";
    EXPECT_EQ(r.write, c.write) << c.sql;
  }
}

TEST(SqlClassifierTest, FlagsAndReasons) {
  ClassifierConfig cfg;
  EXPECT_TRUE(ClassifySql("CREATE TEMPORARY TABLE x(a int)", cfg).createsTemp);
  // search_path with pg_temp first: a CREATE without a schema makes a
  // temporary table, current_schema() the temporary schema (PostgreSQL's
  // regression suite, temp.sql, through read balancing).
  for (const char* q : {"SET search_path TO 'pg_temp'", "SET search_path = pg_temp, public",
                        "set local SEARCH_PATH to \"pg_temp\"", "SET SESSION search_path TO pg_temp"})
    EXPECT_TRUE(ClassifySql(q, cfg).createsTemp) << q;
  for (const char* q : {"SET search_path TO public, pg_temp", "SET search_path TO 'PG_TEMP'",
                        "SET search_path TO \"pg_temp, public\"", "SET work_mem = pg_temp", "RESET search_path"})
    EXPECT_FALSE(ClassifySql(q, cfg).createsTemp) << q;
  EXPECT_TRUE(ClassifySql("begin", cfg).txBegin);
  EXPECT_TRUE(ClassifySql("END", cfg).txEnd);
  EXPECT_FALSE(ClassifySql("ROLLBACK TO a", cfg).txEnd);
  EXPECT_EQ(ClassifySql("select * from t for update", cfg).reason, "locking read");
  EXPECT_EQ(ClassifySql("SELECT nextval('s')", cfg).reason, "function nextval");
  EXPECT_TRUE(ClassifySql("/* no load balance */ select 1", cfg).noLoadBalance);
  EXPECT_EQ(ClassifySql("SHOW pool_nodes", cfg).local, LocalCommand::kPoolNodes);
  EXPECT_EQ(ClassifySql("SHOW pool_version", cfg).local, LocalCommand::kPoolVersion);
}

TEST(SqlClassifierTest, SessionStateThatCannotMove) {
  ClassifierConfig cfg;
  EXPECT_EQ(ClassifySql("LISTEN chan", cfg).sessionState, "LISTEN");
  EXPECT_EQ(ClassifySql("NOTIFY chan", cfg).sessionState, "");
  SqlClass lock = ClassifySql("SELECT pg_advisory_lock(42)", cfg);
  EXPECT_EQ(lock.route, SqlRoute::kPrimary);  // every session's locks in one place
  EXPECT_EQ(lock.sessionState, "an advisory lock");
  EXPECT_EQ(ClassifySql("select pg_try_advisory_lock_shared(1, 2)", cfg).sessionState, "an advisory lock");
  EXPECT_EQ(ClassifySql("SELECT pg_advisory_xact_lock(42)", cfg).sessionState, "");  // ends with the transaction
  EXPECT_EQ(ClassifySql("PREPARE q AS SELECT 1", cfg).sessionState, "a prepared statement (SQL PREPARE)");
  EXPECT_EQ(ClassifySql("PREPARE TRANSACTION 'x'", cfg).sessionState, "");
  EXPECT_EQ(ClassifySql("DECLARE c CURSOR WITH HOLD FOR SELECT 1", cfg).sessionState, "a cursor WITH HOLD");
  EXPECT_EQ(ClassifySql("DECLARE c CURSOR FOR SELECT 1", cfg).sessionState, "");
  EXPECT_EQ(ClassifySql("SELECT set_config('a.b', 'c', false)", cfg).sessionState, "set_config() of a.b");
  EXPECT_EQ(ClassifySql("SELECT set_config('TimeZone', f(1, 2), false)", cfg).sessionState,
            "set_config() of timezone");
  EXPECT_EQ(ClassifySql("SELECT set_config($1, 'c', false)", cfg).sessionState, "set_config()");
  EXPECT_EQ(ClassifySql("SELECT set_config('a.b', 'c', true)", cfg).sessionState, "");
  EXPECT_EQ(ClassifySql("SELECT set_config('a.b', 'c')", cfg).sessionState, "set_config()");
  EXPECT_EQ(ClassifySql("LOAD 'auto_explain'", cfg).sessionState, "LOAD");
  EXPECT_EQ(ClassifySql("SET search_path = a", cfg).reason, "set");
  EXPECT_EQ(ClassifySql("SET LOCAL search_path = a", cfg).reason, "set local");
  EXPECT_EQ(ClassifySql("SET a.b = 1; SELECT 1", cfg).sessionState, "a SET in a multi-statement query");
  EXPECT_EQ(ClassifySql("SELECT 1; SELECT 2", cfg).sessionState, "");
  EXPECT_EQ(ClassifySql("INSERT INTO t VALUES (1)", cfg).sessionState, "");
}

TEST(SqlClassifierTest, ExecuteNamesItsStatement) {
  ClassifierConfig cfg;
  SqlClass x = ClassifySql("EXECUTE s1 (1, 'a')", cfg);
  EXPECT_EQ(x.executes, "s1");
  EXPECT_EQ(x.route, SqlRoute::kPrimary);
  EXPECT_EQ(ClassifySql("execute \"MyStmt\"", cfg).executes, "MyStmt");  // quoted: case kept
  EXPECT_EQ(ClassifySql("EXECUTE Upper", cfg).executes, "upper");          // folded as PostgreSQL does
  EXPECT_EQ(ClassifySql("SELECT 1; EXECUTE s2", cfg).executes, "s2");
  EXPECT_EQ(ClassifySql("SELECT 'EXECUTE s3'", cfg).executes, "");
  EXPECT_EQ(ClassifySql("EXPLAIN EXECUTE s4", cfg).executes, "s4");
  EXPECT_EQ(ClassifySql("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE s5(1)", cfg).executes, "s5");
  EXPECT_EQ(ClassifySql("CREATE TABLE t6 AS EXECUTE s6 WITH NO DATA", cfg).executes, "s6");
  EXPECT_EQ(ClassifySql("CREATE TABLE t7 AS SELECT 1", cfg).executes, "");
}

TEST(SqlClassifierTest, CountsStatements) {
  ClassifierConfig cfg;
  EXPECT_EQ(ClassifySql("SELECT 1", cfg).statements, 1);
  EXPECT_EQ(ClassifySql("DEALLOCATE s1;", cfg).statements, 1);
  EXPECT_EQ(ClassifySql("ROLLBACK; SET work_mem = '8MB'", cfg).statements, 2);
  EXPECT_EQ(ClassifySql("SELECT ';'; ; SELECT 2; SELECT 3", cfg).statements, 3);
  EXPECT_EQ(ClassifySql(" ; ", cfg).statements, 0);
}

TEST(SqlClassifierTest, ConfiguredFunctionLists) {
  ClassifierConfig cfg;
  cfg.writeFunctions = {"audit_log"};
  EXPECT_EQ(ClassifySql("SELECT audit_log('x')", cfg).route, SqlRoute::kPrimary);
  EXPECT_EQ(ClassifySql("SELECT my_func(1)", cfg).route, SqlRoute::kRead);
  cfg.readOnlyFunctions = {"my_func"};
  EXPECT_EQ(ClassifySql("SELECT my_func(1), count(*) FROM t WHERE a IN (1)", cfg).route,
            SqlRoute::kRead);
  SqlClass other = ClassifySql("SELECT other_func(1)", cfg);
  EXPECT_EQ(other.route, SqlRoute::kPrimary);
  EXPECT_EQ(other.reason, "function other_func not known read-only");
}

TEST(SqlLexerTest, Tokens) {
  auto t = LexSql("SELECT \"A b\", 'it''s', $tag$x$tag$, $1 /* c /* nested */ */ FROM t;");
  ASSERT_EQ(t.size(), 11u);
  EXPECT_EQ(t[0].text, "select");
  EXPECT_EQ(t[1].kind, SqlToken::kQuotedIdent);
  EXPECT_EQ(t[1].text, "A b");
  EXPECT_EQ(t[3].kind, SqlToken::kString);
  EXPECT_EQ(t[3].text, "it''s");
  EXPECT_EQ(t[5].text, "x");
  EXPECT_EQ(t[7].kind, SqlToken::kParam);
  EXPECT_EQ(t[8].text, "from");
}


// The allocation-free fast paths (a plain SELECT, one INSERT/UPDATE/DELETE)
// must answer as the lexer does: a leading comment sends the same statement
// through the full classifier.
void ExpectFastAsFull(const std::string& q) {
  ClassifierConfig cfg;
  SqlClass fast = ClassifySql(q, cfg);
  SqlClass full = ClassifySql("/* x */ " + q, cfg);
  EXPECT_EQ(fast.route, full.route) << q;
  EXPECT_EQ(fast.write, full.write) << q;
  EXPECT_EQ(fast.reason, full.reason) << q;
  EXPECT_EQ(fast.kind, full.kind) << q;
  EXPECT_EQ(fast.sessionState, full.sessionState) << q;
  EXPECT_EQ(fast.functions, full.functions) << q;
  EXPECT_EQ(fast.txBegin, full.txBegin) << q;
  EXPECT_EQ(fast.txEnd, full.txEnd) << q;
  EXPECT_EQ(fast.isolation, full.isolation) << q;
  EXPECT_EQ(fast.access, full.access) << q;
  EXPECT_EQ(fast.object, full.object) << q;
  EXPECT_EQ(fast.local, full.local) << q;
  EXPECT_EQ(fast.txEnd, full.txEnd) << q;
  EXPECT_EQ(fast.createsTemp, full.createsTemp) << q;
  EXPECT_EQ(fast.noLoadBalance, full.noLoadBalance) << q;
  EXPECT_EQ(fast.executes, full.executes) << q;
  EXPECT_EQ(fast.statements, full.statements) << q;
  // The first word picks the one fast path ClassifySql tries: never one that
  // would not accept in place of one that would.
  const FastHead head = FastHeadOf(q);
  if (PlainSelect(q, cfg)) {
    EXPECT_EQ(head, FastHead::kSelect) << q;
  }
  if (PlainDml(q)) {
    EXPECT_EQ(head, FastHead::kDml) << q;
  }
  if (PlainTxCommand(q) != TxCommand::kNone) {
    EXPECT_EQ(head, FastHead::kTx) << q;
  }
}

TEST(SqlClassifierTest, FastPathsAgreeWithTheLexer) {
  for (std::string q : {"SELECT abalance FROM pgbench_accounts WHERE aid = $1",
                        "select a, b from t where c = 'x' order by a limit 5;",
                        "SELECT * FROM Orders WHERE Status = 'SHARE'", "SELECT x FROM t FOR UPDATE",
                        "SELECT x FROM last_update_log", "SELECT 1; SELECT 2", "SELECT * INTO t2 FROM t",
                        "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;",
                        "insert into pgbench_history (tid, bid, aid, delta, mtime) values (1, 2, 3, 4, now())",
                        "Delete FROM t WHERE a = 1", "DELETE FROM t; SELECT 1", "UPDATE t SET a = ';'",
                        "update t set a = 1 returning nextval('s')", "INSERT\tINTO t VALUES (1);  \n",
                        "updates t", "SELECT pg_sleep(1)", "SELECT now()",
                        // The one-pass scan: strings and quoted names skipped as the lexer does.
                        "SELECT 'for update' FROM t", "SELECT \"into\" FROM t", "SELECT a FROM t WHERE b = 'x''y'",
                        "SELECT 'it''s' FROM t FOR SHARE", "SELECT E'\\'' FROM t FOR SHARE",
                        "SELECT e'x' FROM t", "SELECT \"a\"\"b\" FROM t INTO u", "SELECT 1 -- it's\n FOR SHARE",
                        "SELECT a FROM t -- x\n", "SELECT 1update FROM t", "SELECT a$b FROM t",
                        "SELECT a FROM PG_Class", "SELECT a FROM pg_prepared_statements", "SELECT a FROM t;;",
                        "SELECT a / 2 FROM t", "SELECT a - 1 FROM t", "SELECT $1::int", "SELECT $$x$$",
                        "SELECT a FROM Information_Schema.tables", "SELECT set_config FROM t",
                        "SELECT a FROM t WHERE b = 'unterminated", "SELECT \"unterminated",
                        "SELECT a FROM t UNION SELECT b FROM u", "SELECT a FROM t FOR NO KEY UPDATE",
                        "SELECT a FROM t FOR KEY SHARE", "select\ta\nfrom t", "SELECT x FROM last_updated",
                        "SELECT caf\xc3\xa9 FROM t", "SELECT a FROM t WHERE b = 1.5e3",
                        // Transaction commands (PlainTxCommand) and near misses.
                        "BEGIN", "begin;", " END ; \n", "COMMIT", "rollback", "Abort;", "end;;",
                        "BEGIN ISOLATION LEVEL SERIALIZABLE", "begin read only", "BEGIN; SELECT 1", "END; BEGIN",
                        "COMMIT PREPARED 'x'", "ROLLBACK TO s", "rollback to savepoint s", "beginx", "begin1",
                        "COMMIT AND CHAIN", "end -- x", "start transaction", "begin work", "ab", ";"}) {
    ExpectFastAsFull(q);
  }
}

// Random statements from pieces near the fast path's edges: the fast path
// answers as the full classifier does (a leading comment forces the latter).
TEST(SqlClassifierTest, FastPathsAgreeOnRandomStatements) {
  const std::vector<std::string> heads = {"SELECT ", "select\t", " SELECT\n", "INSERT ", "update ", "DELETE ",
                                          "BEGIN", "end", " Commit", "ROLLBACK", "abort"};
  const std::vector<std::string> parts = {
      "a", "FROM", "t", "WHERE", "=", "1", "$1", "$", "'", "''", "\"", "'x'", "\"Y\"", "E'", "\\", "(", ")", ";",
      " ", "\n", "--", "/*", "*/", "/", "-", ".", ",", "*", "for", "share", "update", "key", "into", "insert",
      "pg_class", "pg_", "information_schema", "set_config", "select", "nextval", "merge", "1e5", "9x", "a$b",
      "\xc3\xa9", "union", "pg_cursors", "returning", "::int", "$$", "$q$"};
  std::mt19937 rng(16);
  for (int n = 0; n < 20000; ++n) {
    std::string q = heads[rng() % heads.size()];
    for (int k = int(rng() % 10); k > 0; --k) {
      q += parts[rng() % parts.size()];
      if (rng() % 2) q += ' ';
    }
    ExpectFastAsFull(q);
    if (::testing::Test::HasFailure()) return;  // the first one that differs
  }
}

// Every byte value, at each 16-byte lane of PlainSelect's vector scan and
// next to a word: the fast path answers as the full classifier.
TEST(SqlClassifierTest, FastPathsAgreeOnEveryByte) {
  for (size_t pad : {0, 5, 15, 16, 31, 40, 47, 50}) {
    for (int c = 1; c < 256; ++c) {
      const std::string filler(pad, 'x');
      for (std::string q : {"SELECT " + filler + " a" + char(c) + "b FROM t",
                            "SELECT " + filler + " " + char(c) + "into FROM t",
                            "SELECT " + filler + " 1" + char(c) + " FROM t;"}) {
        ExpectFastAsFull(q);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// pgbench's built-in scripts, statements of the route and fidelity tests, and
// the lexer's corners (comments, dollar quotes, E'' strings, writing CTEs,
// locking reads, sequence and volatile functions, several statements,
// non-ASCII names), each also in upper/lower case and with a trailing ';':
// the fast paths answer as the full classifier, and take pgbench's reads.
TEST(SqlClassifierTest, FastPathsAgreeOnACorpus) {
  const std::vector<std::string> corpus = {
      "SELECT abalance FROM pgbench_accounts WHERE aid = 48213",
      "UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 48213",
      "UPDATE pgbench_tellers SET tbalance = tbalance + -1234 WHERE tid = 7",
      "UPDATE pgbench_branches SET bbalance = bbalance + -1234 WHERE bid = 1",
      "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (7, 1, 48213, -1234, CURRENT_TIMESTAMP)",
      "BEGIN", "END", "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
      "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
      "SELECT count(*) FROM oncall WHERE on_call", "UPDATE oncall SET on_call = false WHERE name = 'a'",
      "SELECT inet_server_port()", "SELECT current_setting('transaction_isolation')", "SELECT bump()",
      "SELECT public.bump() + 1", "SELECT txid_current() > 0", "SELECT 't' FROM pg_notify('chan', 'x')",
      "SELECT 't' FROM pg_advisory_lock(42)", "SELECT pg_advisory_unlock(42)", "SELECT port_stable()",
      "BEGIN ISOLATION LEVEL SERIALIZABLE", "BEGIN READ WRITE", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
      "SET default_transaction_isolation = 'serializable'", "RESET default_transaction_isolation",
      // comments
      "/* hi */ SELECT 1", "SELECT 1 /* update */", "SELECT 1 -- update", "SELECT a/*x*/FROM t",
      "/*NO LOAD BALANCE*/ SELECT a FROM t", "SELECT a FROM t /* /* nested */ update */",
      "SELECT 1 - -1", "SELECT 4/2", "SELECT a-b FROM t", "SELECT a --\nFOR UPDATE",
      // dollar quotes, E'' strings, quoted names
      "SELECT $$update$$ FROM t", "SELECT $tag$ it's $ $tag$ FROM t", "SELECT $a$x$a$, $1 FROM t",
      "SELECT E'\\' FROM t", "SELECT e'a\'b' FROM t FOR SHARE", "SELECT E'' FROM t", "SELECT 'a' 'b'",
      // An escape string hides a quote behind a backslash from a scan that
      // does not know E'' (the fast path gives up on any backslash).
      "SELECT E' \\'' set_config set_config' FROM t", "SELECT e'\\'' FOR UPDATE '", "SELECT E'\\'' , 1 INTO x '",
      "SELECT x FROM t WHERE a = E'\\\\' AND b = 'c\\'", "SELECT E'\\'', a FROM t FOR UPDATE --'",
      "SELECT E'\\'', nextval('s') --'",
      "SELECT \"FOR\" \"UPDATE\" FROM \"T\"", "SELECT \"pg_class\".a FROM t", "SELECT U&'\\0041'",
      // CTEs that write, locking reads, SELECT INTO
      "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u",
      "WITH i AS (INSERT INTO t VALUES (1) RETURNING a) SELECT a FROM i", "WITH x AS (SELECT 1) SELECT * FROM x",
      "SELECT * FROM t FOR UPDATE SKIP LOCKED", "SELECT * FROM t FOR NO KEY UPDATE NOWAIT",
      "select * from t for share", "SELECT a INTO TEMP t2 FROM t", "SELECT a FROM t WHERE b IN (SELECT b FROM u)",
      // sequence, volatile, node-specific functions; catalog reads
      "SELECT nextval('s')", "SELECT currval('s')", "SELECT setval('s', 5)", "SELECT random()",
      "SELECT now(), clock_timestamp()", "SELECT pg_backend_pid()", "SELECT current_setting($1)",
      "SELECT set_config('a.b', 'c', false)", "SELECT * FROM pg_stat_activity", "SELECT relname FROM pg_class",
      "SELECT * FROM information_schema.tables", "SELECT pg_catalog.now()", "SELECT * FROM pg_cursors",
      "SELECT nextval FROM t", "SELECT a AS nextval FROM t", "SELECT a FROM pg_", "SELECT a FROM pg_x",
      // several statements
      "SELECT 1; SELECT 2", "SELECT 1; UPDATE t SET a = 1", "BEGIN; SELECT 1; COMMIT", "SELECT 1;;", ";",
      "SELECT 1; ", "SELECT 1 ; -- done", "SET a = 1; SELECT 1", "SELECT 1; /* x */",
      // non-ASCII names and words at the 8-byte scan's edges
      "SELECT caf\xc3\xa9 FROM \xe8\xa1\xa8", "SELECT \xc3\xa9update FROM t", "SELECT update\xc3\xa9 FROM t",
      "SELECT \"\xc3\xa9\" FROM t", "SELECT abcdefg FROM abcdefgh", "SELECT abcdefgh_into FROM t",
      "SELECT a FROM t1234567 FOR UPDATE", "SELECT aaaaaaa_ FROM t", "SELECT aaaaaaa$ FROM t",
      "SELECT aaaaaaaaaaaaaaa.into FROM t", "SELECT x FROM tttttttt.update", "SELECT x FROM t WHERE y=1234567.5",
      "SELECT 1update FROM t", "SELECT 12345678into FROM t", "SELECT a FROM t INTO", "SELECT a FROM t into",
      "SELECT INTO", "SELECT   Into", "SELECT a FROM t WHERE x = 'into'", "SELECT a, \"b\" FROM t",
      // other commands near the fast paths
      "EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT nextval('s')", "SHOW pool_nodes", "TABLE t", "VALUES (1)",
      "COPY t TO STDOUT", "DEALLOCATE ALL", "EXECUTE p(1)", "PREPARE p AS SELECT 1", "LISTEN c",
      "CREATE TEMP TABLE tt (a int)", "DROP TABLE t", "SAVEPOINT s", "RELEASE s", "ROLLBACK TO SAVEPOINT s",
      "START TRANSACTION READ ONLY", "COMMIT AND CHAIN", "SELECT", "select\n", "SELECT\t1"};
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  auto upper = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  };
  for (const std::string& q : corpus) {
    for (const std::string& v : {q, lower(q), upper(q), q + ";", q + " ;\n", "  " + q}) ExpectFastAsFull(v);
    if (::testing::Test::HasFailure()) return;
  }
  // The shortcut is taken where it matters (a changed fast path that gives up
  // on them would still classify right, only slower).
  ClassifierConfig cfg;
  EXPECT_TRUE(PlainSelect("SELECT abalance FROM pgbench_accounts WHERE aid = 48213;", cfg));
  EXPECT_TRUE(PlainSelect("SELECT abalance FROM pgbench_accounts WHERE aid = $1", cfg));
  EXPECT_TRUE(PlainDml("UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 48213;"));
  EXPECT_EQ(PlainTxCommand("END;"), TxCommand::kEnd);
}

// Random text, byte by byte, from an alphabet of identifier characters (both
// cases, digits, '_', '$', UTF-8) and the ones that end or change a token:
// words of every length at every offset of the fast path's 8-byte scan.
TEST(SqlClassifierTest, FastPathsAgreeOnRandomBytes) {
  const std::string alphabet = "aAzZ_$09 \t\n;,.'\"()-/*\\\xc3\xa9" "eE=";
  const std::vector<std::string> words = {"into", "INTO", "share", "Merge", "update", "insert", "delete", "select",
                                          "setval", "nextval", "pg_", "set_config", "information_schema", "for"};
  std::mt19937 rng(1616);
  for (int n = 0; n < 40000; ++n) {
    std::string q = n % 2 ? "SELECT " : "select\n";
    for (int k = int(rng() % 40); k > 0; --k) {
      if (rng() % 6 == 0) q += words[rng() % words.size()];
      else q += alphabet[rng() % alphabet.size()];
    }
    ExpectFastAsFull(q);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace pgvigil::proxy

namespace pgvigil::proxy {
namespace {

// The steps as "kind@place:text" joined by '|'.
std::string Steps(const std::string& sql) {
  std::string out;
  for (const auto& s : ClassifySql(sql, ClassifierConfig{}).steps)
    out += (out.empty() ? "" : "|") + std::string(ToString(s.kind)) + "@" + std::to_string(s.at) + ":" + s.text;
  return out;
}

TEST(SqlClassifierSessionSets, AMultiStatementQueryListsItsSetsAndBlockCommands) {
  ClassifierConfig cfg;
  EXPECT_EQ(Steps("SET work_mem = '5MB'; SELECT 1; RESET ALL"),
            "set@0:SET work_mem = '5MB'|reset all@2: RESET ALL");
  EXPECT_EQ(Steps("SELECT ';'; reset x -- note"), "reset@1: reset x -- note");
  EXPECT_EQ(Steps("SET work_mem = '5MB'"), "");
  EXPECT_EQ(Steps("SELECT 1; DISCARD ALL"), "");
  EXPECT_EQ(Steps("SELECT 1; SELECT 2"), "");
  EXPECT_EQ(Steps("BEGIN;; SET a = 1; SAVEPOINT Sp; SET LOCAL b = 2; ROLLBACK TO sp; RELEASE \"X\"; END"),
            "begin@0:|set@1: SET a = 1|savepoint@2:sp|rollback to savepoint@4:sp|release savepoint@5:X|transaction end@6:");
  EXPECT_EQ(Steps("SELECT 1; ROLLBACK; SET a = 1; COMMIT PREPARED 'x'"), "transaction end@1:|set@2: SET a = 1");
  EXPECT_EQ(ClassifySql("SAVEPOINT Sp", cfg).object, "sp");
  EXPECT_EQ(ClassifySql("ROLLBACK TO SAVEPOINT \"Sp\"", cfg).object, "Sp");
  EXPECT_EQ(ClassifySql("release sp", cfg).object, "sp");
}

}  // namespace
}  // namespace pgvigil::proxy
