// Integration, transaction pooling: what one client leaves on a shared
// backend is not there for the next (real PostgreSQL 15, the shared
// three-node cluster; part of proxy_txpool_test). Each step goes to two fresh
// sessions of PostgreSQL itself and then to two clients of a proxy whose pool
// has one backend, so that both clients run on the same one; the answers
// must be the same.
//  * a Bind or Describe of the unnamed statement by a client that never
//    parsed one gets 26000, and nothing runs (the backend holds the other
//    client's);
//  * another client's named statement cannot be bound, described, closed or
//    run with SQL EXECUTE by its name, nor by the proxy's name for it (which
//    pg_prepared_statements shows; EXECUTE, EXPLAIN [ANALYZE] EXECUTE, CREATE
//    TABLE AS EXECUTE), nor dropped with DEALLOCATE; the same
//    name can be prepared again, for another statement or the same;
//  * in a failed transaction block the statements the proxy answers itself
//    (DEALLOCATE, a refused SET or LISTEN, a duplicate Parse, SQL EXECUTE of a
//    protocol-level name) get PostgreSQL's 25P02, and nothing changes.
#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy::testenv {
namespace {

std::unique_ptr<ProxyUnderTest> OneBackendProxy(PoolMode mode) {
  ProxyOptions o;
  o.threads = 1;
  o.hba =
      "host all all 127.0.0.1/32 trust\n";  // the raw protocol client needs no password exchange
  o.adjust = [=](ClusterSpec& s) {
    s.proxy.pool.mode = mode;
    s.proxy.pool.size = 1;  // transaction mode: every client shares the one backend
    s.proxy.pool.queueTimeout = std::chrono::seconds(10);
    s.proxy.loadBalancing.enabled = false;
  };
  return StartProxy(o);
}

std::string Describe(const std::string& statement) {
  std::string s;
  AppendMessage(&s, 'D', "S" + statement + std::string(1, '\0'));
  return s;
}
std::string Close(const std::string& statement) {
  std::string s;
  AppendClose(&s, 'S', statement);
  return s;
}

std::string Value(int key) {
  return Cluster().Query(0, "SELECT v FROM kv WHERE k = " + std::to_string(key)).value();
}

// x and y: two sessions of PostgreSQL (direct), or two clients of px (on
// its one backend, unless in session mode).
template <typename F>
void TwoClients(const std::unique_ptr<ProxyUnderTest>& px, F&& steps, bool shared = true) {
  ASSERT_TRUE(px);
  for (bool direct : {true, false}) {
    SCOPED_TRACE(direct ? "PostgreSQL" : "proxy");
    auto open = [&] {
      return direct ? std::make_unique<RawPg>(NodeSocket(0)) : std::make_unique<RawPg>(px->port);
    };
    auto x = open(), y = open();
    ASSERT_TRUE(x->ready && y->ready);
    if (!direct && shared) {  // both on the one backend
      EXPECT_EQ(x->Simple("SELECT pg_backend_pid()"), "TDCZ");
      const std::string pid = x->lastValue;
      EXPECT_EQ(y->Simple("SELECT pg_backend_pid()"), "TDCZ");
      EXPECT_EQ(y->lastValue, pid);
    }
    steps(*x, *y, direct);
  }
}

TEST(ProxyTxPoolIsolationTest, UnnamedStatementOfAnotherClientIsNotThere) {
  auto px = OneBackendProxy(PoolMode::kTransaction);
  TwoClients(px, [&](RawPg& x, RawPg& y, bool direct) {
    const int key = direct ? 29701 : 29702;
    ASSERT_TRUE(Cluster()
                    .Query(0, "INSERT INTO kv VALUES (" + std::to_string(key) +
                                  ", '') ON CONFLICT (k) DO UPDATE SET v = ''")
                    .ok());
    // x leaves its unnamed statement behind.
    EXPECT_EQ(x.Run(RunStatement("UPDATE kv SET v = v || 'x' WHERE k = " + std::to_string(key))),
              "12CZ");
    // y never parsed one.
    EXPECT_EQ(y.Run(BindExecute("")), "EZ");
    EXPECT_EQ(y.lastError, "26000");
    EXPECT_EQ(y.Run(Describe("")), "EZ");
    EXPECT_EQ(y.lastError, "26000");
    // Behind a statement of its own in the sequence: the error ends it there.
    EXPECT_EQ(y.Run(ParseMessage("own", "SELECT 'own'")), "1Z");
    EXPECT_EQ(y.Run(BindExecute("own") + BindExecute("")), "2DCEZ");
    EXPECT_EQ(y.lastError, "26000");
    EXPECT_EQ(y.status, 'I');
    // In a transaction block the error fails it.
    EXPECT_EQ(y.Simple("BEGIN"), "CZ");
    EXPECT_EQ(y.Run(BindExecute("")), "EZ");
    EXPECT_EQ(y.lastError, "26000");
    EXPECT_EQ(y.status, 'E');
    EXPECT_EQ(y.Simple("ROLLBACK"), "CZ");
    EXPECT_EQ(Value(key), "x");  // x's UPDATE ran once: never for y
    // Each still has its own.
    EXPECT_EQ(x.Run(BindExecute("")), "2CZ");
    EXPECT_EQ(Value(key), "xx");
    EXPECT_EQ(y.Run(RunStatement("SELECT 'y'")), "12DCZ");
    EXPECT_EQ(y.lastValue, "y");
  });
}

TEST(ProxyTxPoolIsolationTest, NamedStatementsOfAnotherClientAreNotThere) {
  auto px = OneBackendProxy(PoolMode::kTransaction);
  TwoClients(px, [&](RawPg& x, RawPg& y, bool direct) {
    EXPECT_EQ(x.Run(ParseMessage("s1", "SELECT 'x1'")), "1Z");
    EXPECT_EQ(x.Run(BindExecute("s1")), "2DCZ");
    EXPECT_EQ(y.Run(BindExecute("s1")), "EZ");
    EXPECT_EQ(y.lastError, "26000");
    EXPECT_EQ(y.Run(Describe("s1")), "EZ");
    EXPECT_EQ(y.lastError, "26000");
    EXPECT_EQ(y.Simple("EXECUTE s1"), "EZ");
    EXPECT_EQ(y.lastError, "26000");
    EXPECT_EQ(y.Run(Close("s1")), "3Z");  // CloseComplete for a name it has not got, as PostgreSQL
    // The proxy's name for x's statement, as the backend shows it.
    std::string server = "pgvigil_s1";
    if (!direct) {
      EXPECT_EQ(y.Simple("SELECT name FROM pg_prepared_statements WHERE name LIKE 'pgvigil_s%' "
                         "ORDER BY name LIMIT 1"),
                "TDCZ");
      server = y.lastValue;
    }
    for (const std::string& m : {BindExecute(server), Describe(server)}) {
      EXPECT_EQ(y.Run(m), "EZ");
      EXPECT_EQ(y.lastError, "26000");
    }
    for (const char* sql : {"EXECUTE ", "DEALLOCATE ", "EXPLAIN EXECUTE ",
                            "EXPLAIN ANALYZE EXECUTE ", "CREATE TABLE iso_never AS EXECUTE "}) {
      EXPECT_EQ(y.Simple(sql + server), "EZ") << sql;
      EXPECT_EQ(y.lastError, "26000") << sql;
    }
    // The same by the extended protocol: PostgreSQL's error comes at the
    // Execute, the proxy's at the Parse (the backend would describe the
    // statement there); nothing runs either way.
    for (const char* sql : {"EXECUTE ", "DEALLOCATE ", "EXPLAIN ANALYZE EXECUTE "}) {
      EXPECT_EQ(y.Run(RunStatement(sql + server)), direct ? "12EZ" : "EZ") << sql;
      EXPECT_EQ(y.lastError, "26000") << sql;
    }
    if (!direct) {  // still there for x
      EXPECT_EQ(
          y.Simple("SELECT count(*) FROM pg_prepared_statements WHERE name = '" + server + "'"),
          "TDCZ");
      EXPECT_EQ(y.lastValue, "1");
    }
    EXPECT_EQ(x.Run(BindExecute("s1")), "2DCZ");
    EXPECT_EQ(x.lastValue, "x1");
    // The same name, another statement: no 42P05 from x's.
    EXPECT_EQ(y.Run(ParseMessage("s1", "SELECT 'y1'")), "1Z");
    EXPECT_EQ(y.Run(BindExecute("s1")), "2DCZ");
    EXPECT_EQ(y.lastValue, "y1");
    // The same name and the same statement as x's (the proxy's name shared).
    auto z = direct ? std::make_unique<RawPg>(NodeSocket(0)) : std::make_unique<RawPg>(px->port);
    ASSERT_TRUE(z->ready);
    EXPECT_EQ(z->Run(ParseMessage("s1", "SELECT 'x1'") + BindExecute("s1")), "12DCZ");
    EXPECT_EQ(z->lastValue, "x1");
    EXPECT_EQ(x.Run(BindExecute("s1")), "2DCZ");
    EXPECT_EQ(x.lastValue, "x1");
    EXPECT_EQ(y.Run(BindExecute("s1")), "2DCZ");
    EXPECT_EQ(y.lastValue, "y1");
  });
}

// c prepares statement `name` (SELECT 'name'), then opens a transaction
// block and fails it.
void PrepareThenFail(RawPg& c, const std::string& name) {
  EXPECT_EQ(c.Run(ParseMessage(name, "SELECT '" + name + "'")), "1Z");
  EXPECT_EQ(c.Simple("BEGIN"), "CZ");
  EXPECT_EQ(c.Simple("SELECT 1/0"), "EZ");
  EXPECT_EQ(c.lastError, "22012");
}

// Each Query gets 25P02 and leaves the block failed.
void ExpectAborted(RawPg& c, std::initializer_list<const char*> queries) {
  for (const char* sql : queries) {
    EXPECT_EQ(c.Simple(sql), "EZ") << sql;
    EXPECT_EQ(c.lastError, "25P02") << sql;
    EXPECT_EQ(c.status, 'E') << sql;
  }
}

// PostgreSQL refuses every statement but COMMIT / ROLLBACK [TO] in a failed
// transaction block, DEALLOCATE too, and deallocates nothing. The proxy used
// to answer DEALLOCATE itself (forgetting the statement) in both modes.
TEST(ProxyTxPoolIsolationTest, DeallocateInAFailedTransaction) {
  for (PoolMode mode : {PoolMode::kSession, PoolMode::kTransaction}) {
    SCOPED_TRACE(ToString(mode));
    auto px = OneBackendProxy(mode);
    TwoClients(
        px,
        [&](RawPg& c, RawPg&, bool) {
          PrepareThenFail(c, "d1");
          ExpectAborted(c, {"DEALLOCATE d1", "DEALLOCATE ALL", "DEALLOCATE never_prepared"});
          EXPECT_EQ(c.Simple("ROLLBACK"), "CZ");
          EXPECT_EQ(c.Run(BindExecute("d1")), "2DCZ");
          EXPECT_EQ(c.lastValue, "d1");
          // The same pipelined: each Query is answered in turn, on the status
          // the one before left.
          std::string q;
          for (const char* sql : {"BEGIN", "SELECT 1/0", "DEALLOCATE d1", "ROLLBACK"})
            AppendQuery(&q, sql);
          ASSERT_TRUE(c.sock.Send(q));
          EXPECT_EQ(c.Until(std::chrono::seconds(10)), "CZ");
          EXPECT_EQ(c.Until(std::chrono::seconds(10)), "EZ");
          EXPECT_EQ(c.lastError, "22012");
          EXPECT_EQ(c.Until(std::chrono::seconds(10)), "EZ");
          EXPECT_EQ(c.lastError, "25P02");
          EXPECT_EQ(c.Until(std::chrono::seconds(10)), "CZ");
          EXPECT_EQ(c.status, 'I');
          q.clear();
          AppendQuery(&q, "SELECT 'slow' FROM pg_sleep(0.2)");
          AppendQuery(&q, "DEALLOCATE ALL");
          ASSERT_TRUE(c.sock.Send(q));
          EXPECT_EQ(c.Until(std::chrono::seconds(10)), "TDCZ");
          EXPECT_EQ(c.lastValue, "slow");
          EXPECT_EQ(c.Until(std::chrono::seconds(10)), "CZ");
          EXPECT_EQ(c.Run(ParseMessage("d1", "SELECT 'd1'")), "1Z");
          EXPECT_EQ(c.Simple("DEALLOCATE d1"), "CZ");
          EXPECT_EQ(c.Run(BindExecute("d1")), "EZ");
          EXPECT_EQ(c.lastError, "26000");
        },
        mode == PoolMode::kTransaction);
  }
}

// What transaction pooling answers itself for a statement (a refused SET or
// LISTEN, a duplicate Parse, SQL EXECUTE of a protocol-level name) is
// PostgreSQL's 25P02 in a failed transaction block, and nothing changes.
TEST(ProxyTxPoolIsolationTest, ProxyAnswersInAFailedTransaction) {
  for (SessionStatePolicy policy : {SessionStatePolicy::kRefuse, SessionStatePolicy::kPin}) {
    ProxyOptions o;
    o.threads = 1;
    o.hba = "host all all 127.0.0.1/32 trust\n";
    o.adjust = [=](ClusterSpec& s) {
      s.proxy.pool.mode = PoolMode::kTransaction;
      s.proxy.pool.sessionState = policy;
      s.proxy.pool.size = 1;
      s.proxy.loadBalancing.enabled = false;
    };
    auto px = StartProxy(o);
    TwoClients(px, [&](RawPg& c, RawPg&, bool) {
      SCOPED_TRACE(policy == SessionStatePolicy::kPin ? "pin" : "refuse");
      PrepareThenFail(c, "p1");
      ExpectAborted(c, {"SET work_mem = '8MB'", "LISTEN iso_channel", "EXECUTE p1"});
      EXPECT_EQ(c.Run(ParseMessage("p1", "SELECT 'again'")), "EZ");
      EXPECT_EQ(c.lastError, "25P02");
      EXPECT_EQ(c.Run(RunStatement("SET work_mem = '9MB'")), "EZ");
      EXPECT_EQ(c.lastError, "25P02");
      EXPECT_EQ(c.status, 'E');
      EXPECT_EQ(c.Simple("ROLLBACK"), "CZ");
      EXPECT_EQ(c.Run(BindExecute("p1")), "2DCZ");
      EXPECT_EQ(c.lastValue, "p1");
    });
  }
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
