// Integration: an error of the proxy's in an extended-protocol sequence that
// also runs, silently, on the session's standby (a SET LOCAL or SET the proxy
// mirrors there) fails the sequence on both backends (FailSequence and its
// mirror part): the client gets what PostgreSQL gives for the same pipeline
// (one ErrorResponse; ReadyForQuery 'E' in a transaction block, 'I' outside
// one), and neither backend keeps anything of the sequence: the next
// transaction reads on the standby and writes on the primary, with the
// setting at its default on both. Transaction pooling, reads balanced to one
// standby (node 1); the error is the proxy's 42P05 for a Parse of a name the
// client prepared already. Each pipeline also goes to PostgreSQL itself.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

std::unique_ptr<ProxyUnderTest> MirrorProxy() {
  ProxyOptions o;
  o.threads = 1;
  o.hba = "host all all 127.0.0.1/32 trust\n";  // the raw protocol client needs no password exchange
  o.readYourWrites = false;
  o.adjust = [](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = 2;
    s.proxy.pool.queueTimeout = std::chrono::seconds(10);
    s.proxy.pool.sessionState = SessionStatePolicy::kPin;  // a session SET runs (and pins)
    s.proxy.loadBalancing.enabled = true;
    s.nodes[0].weight = 0;
    s.nodes[1].weight = 1;
    s.nodes[2].weight = 0;
  };
  return StartProxy(o);
}

const char* kWhere = "SELECT current_setting('work_mem') || ' ' || inet_server_port()";

// Through the proxy, after the failed sequence: a transaction that reads on
// the standby and writes on the primary, each reporting work_mem and its port.
void NextTransactionRunsNormally(RawPg& c, int key) {
  const std::string dflt = Cluster().Query(0, "SHOW work_mem").value();
  EXPECT_EQ(c.Simple("BEGIN"), "CZ");
  EXPECT_EQ(c.Run(RunStatement(kWhere)), "12DCZ");
  EXPECT_EQ(c.lastValue, dflt + " " + std::to_string(NodePort(1)));
  EXPECT_EQ(c.Run(RunStatement("INSERT INTO kv VALUES (" + std::to_string(key) +
                               ", 'mirror') RETURNING current_setting('work_mem') || ' ' || inet_server_port()")),
            "12DCZ");
  EXPECT_EQ(c.lastValue, dflt + " " + std::to_string(NodePort(0)));
  EXPECT_EQ(c.Simple("COMMIT"), "CZ");
  EXPECT_EQ(c.status, 'I');
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM kv WHERE k = " + std::to_string(key)).value(), "1");
}

TEST(ProxyMirrorFailureTest, ProxyErrorFailsTheMirroredPartInATransactionBlock) {
  auto px = MirrorProxy();
  ASSERT_TRUE(px);
  ASSERT_TRUE(Cluster().Query(0, "DELETE FROM kv WHERE k = 29501").ok());
  for (bool direct : {true, false}) {
    SCOPED_TRACE(direct ? "PostgreSQL" : "proxy");
    std::unique_ptr<RawPg> c = direct ? std::make_unique<RawPg>(NodeSocket(0)) : std::make_unique<RawPg>(px->port);
    ASSERT_TRUE(c->ready);
    EXPECT_EQ(c->Run(ParseMessage("dup", "SELECT 'first'")), "1Z");
    EXPECT_EQ(c->Simple("BEGIN"), "CZ");
    EXPECT_EQ(c->Run(RunStatement("SELECT inet_server_port()")), "12DCZ");  // the standby joins (proxy)
    // SET LOCAL (both backends), the duplicate Parse (the proxy's error), a
    // Bind/Execute skipped, Sync.
    EXPECT_EQ(c->Run(RunStatement("SET LOCAL work_mem = '8MB'") + ParseMessage("dup", "SELECT 'second'") +
                     BindExecute("dup")),
              "12CEZ");
    EXPECT_EQ(c->lastError, "42P05");
    EXPECT_EQ(c->status, 'E');
    EXPECT_EQ(c->Run(RunStatement(kWhere)), "EZ");
    EXPECT_EQ(c->lastError, "25P02");
    EXPECT_EQ(c->Simple("ROLLBACK"), "CZ");
    EXPECT_EQ(c->status, 'I');
    if (!direct) NextTransactionRunsNormally(*c, 29501);
  }
}

// Outside a transaction block the sequence is one implicit transaction: its
// SET is undone with it on PostgreSQL, and so on both backends (the standby's
// mirrored SET used to stay there when only the primary's part was failed).
TEST(ProxyMirrorFailureTest, ProxyErrorUndoesTheMirroredSetOfAnImplicitTransaction) {
  auto px = MirrorProxy();
  ASSERT_TRUE(px);
  ASSERT_TRUE(Cluster().Query(0, "DELETE FROM kv WHERE k = 29502").ok());
  const std::string dflt = Cluster().Query(0, "SHOW work_mem").value();
  for (bool direct : {true, false}) {
    SCOPED_TRACE(direct ? "PostgreSQL" : "proxy");
    std::unique_ptr<RawPg> c = direct ? std::make_unique<RawPg>(NodeSocket(0)) : std::make_unique<RawPg>(px->port);
    ASSERT_TRUE(c->ready);
    EXPECT_EQ(c->Run(ParseMessage("dup", "SELECT 'first'")), "1Z");
    EXPECT_EQ(c->Run(RunStatement("SELECT inet_server_port()")), "12DCZ");  // the standby is held (proxy)
    EXPECT_EQ(c->Run(RunStatement("SET work_mem = '8MB'") + ParseMessage("dup", "SELECT 'second'") +
                     BindExecute("dup")),
              "12CEZ");
    EXPECT_EQ(c->lastError, "42P05");
    EXPECT_EQ(c->status, 'I');
    EXPECT_EQ(c->Run(RunStatement("SELECT current_setting('work_mem')")), "12DCZ");
    EXPECT_EQ(c->lastValue, dflt);
    if (!direct) NextTransactionRunsNormally(*c, 29502);
  }
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
