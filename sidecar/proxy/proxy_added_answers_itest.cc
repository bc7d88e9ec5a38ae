// Integration: the answers to messages the proxy adds to a client's
// extended-protocol sequence (a named statement parsed again on a backend
// that has not got it, the Close sent before such a Parse) never reach the
// client, and the client's own answers all do, also when an error in the
// sequence makes PostgreSQL skip the proxy's Parse (it answers nothing more
// up to Sync). The proxy used to count the answers to swallow per backend:
// the count a skipped Parse left took the client's next ParseComplete (in the
// same sequence before the error, or in the sequence pipelined behind it),
// and the statement counted as parsed there (26000 at its next use). Each
// pipeline also goes to PostgreSQL itself over its Unix socket; the client
// must get the same message types from both.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy::testenv {
namespace {

// Sends sequences a and b, each with its Sync, in one write (b pipelined
// behind a, before a's ReadyForQuery): the message types answering each, "a|b".
std::string Pipelined(RawPg& c, const std::string& a, const std::string& b) {
  std::string s = a;
  AppendSync(&s);
  s += b;
  AppendSync(&s);
  if (!c.sock.Send(s)) return "send failed";
  std::string first = c.Until(std::chrono::seconds(10));
  return first + "|" + c.Until(std::chrono::seconds(10));
}

std::string CloseStatement(const std::string& name) {
  std::string s;
  AppendClose(&s, 'S', name);
  return s;
}

// The sequences both tests send: a fails (division by zero at the Bind of
// "bad") before the Bind of `other`, which the proxy must parse on that
// backend first; with `own_parse` the client's own Parse comes before the
// error in a. b, pipelined behind it, parses, runs and closes statements of
// its own.
struct Case {
  bool ownParse;
  std::string other;
};
std::string SequenceA(const Case& k) {
  return (k.ownParse ? RunStatement("SELECT 1/0") : BindExecute("bad")) + BindExecute(k.other);
}
const char* const kRows30 = "SELECT generate_series(1, 30)";
std::string SequenceB() { return RunStatement("SELECT 3") + CloseStatement("never_prepared"); }

// a and b pipelined get PostgreSQL's answers; the statement a did not reach
// is still the client's, and runs.
void ExpectPostgresAnswers(RawPg& x, const Case& k) {
  EXPECT_EQ(Pipelined(x, SequenceA(k), SequenceB()), k.ownParse ? "1EZ|12DC3Z" : "EZ|12DC3Z");
  EXPECT_EQ(x.status, 'I');
  EXPECT_EQ(x.Run(BindExecute(k.other)), "2DCZ");
  EXPECT_EQ(x.lastValue, "2");
}

// Session mode, reads balanced: statements parsed in a READ WRITE transaction
// are on the primary alone; a sequence of reads runs on the standby, where the
// proxy parses them first.
TEST(ProxyAddedAnswersTest, AnswersAfterAnErrorReachTheClientWhole) {
  ProxyOptions o;
  o.hba = "host all all 127.0.0.1/32 trust\n";  // the raw protocol client needs no password exchange
  o.readYourWrites = false;
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  RawPg c(px->port);
  ASSERT_TRUE(c.ready);
  EXPECT_EQ(c.Simple("BEGIN READ WRITE"), "CZ");
  for (const char* name : {"other1", "other2"}) {
    EXPECT_EQ(c.Run(ParseMessage(name, "SELECT 2")), "1Z");
  }
  EXPECT_EQ(c.Run(ParseMessage("rows30", kRows30)), "1Z");
  EXPECT_EQ(c.Simple("COMMIT"), "CZ");
  EXPECT_EQ(c.Run(ParseMessage("bad", "SELECT 1/0")), "1Z");
  RawPg d(NodeSocket(1));
  ASSERT_TRUE(d.ready);
  for (const char* name : {"other1", "other2", "bad"}) {
    EXPECT_EQ(d.Run(ParseMessage(name, name[0] == 'b' ? "SELECT 1/0" : "SELECT 2")), "1Z");
  }
  EXPECT_EQ(d.Run(ParseMessage("rows30", kRows30)), "1Z");
  for (const Case& k : {Case{false, "other1"}, Case{true, "other2"}}) {
    for (bool direct : {true, false}) {
      SCOPED_TRACE(std::string(direct ? "PostgreSQL" : "proxy") + (k.ownParse ? ", own Parse first" : ""));
      ExpectPostgresAnswers(direct ? d : c, k);
    }
  }
  // The standby's answer to a sequence with the proxy's own Parse in the
  // middle comes in one read: rows, the ParseComplete that answers the proxy
  // (not the client's), more rows. The rows around it are relayed in runs
  // (BackendConn::OnRead, plain_run.h); the proxy's ParseComplete never is.
  const std::string seq = RunStatement("SELECT generate_series(1, 20)") + BindExecute("rows30") +
                          RunStatement("SELECT pg_is_in_recovery()");
  const std::string want = "12" + std::string(20, 'D') + "C" + "2" + std::string(30, 'D') + "C" + "12DCZ";
  EXPECT_EQ(d.Run(seq), want);
  // First with the proxy's Parse on the standby, then without it (parsed there now).
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    EXPECT_EQ(c.Run(seq), want);
    EXPECT_EQ(c.lastValue, "t") << "the sequence ran on the primary: no Parse of the proxy's was needed";
    EXPECT_EQ(c.status, 'I');
  }
}

// Transaction pooling, one pool backend holding at most three of the proxy's
// statements: another client's three Parses there close the client's
// statements; the proxy parses them again (after a Close of its own) at their
// next use.
TEST(ProxyAddedAnswersTest, TransactionPoolingAnswersAfterAnErrorReachTheClientWhole) {
  ProxyOptions o;
  o.threads = 1;
  o.hba = "host all all 127.0.0.1/32 trust\n";
  o.adjust = [](ClusterSpec& s) {
    s.proxy.pool.mode = PoolMode::kTransaction;
    s.proxy.pool.size = 1;
    s.proxy.pool.queueTimeout = std::chrono::seconds(10);
    s.proxy.pool.maxPreparedStatements = 3;
    s.proxy.loadBalancing.enabled = false;
  };
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  RawPg c(px->port), other(px->port);
  ASSERT_TRUE(c.ready && other.ready);
  RawPg d(NodeSocket(0));
  ASSERT_TRUE(d.ready);
  for (RawPg* x : {&c, &d}) {
    for (const char* name : {"other1", "other2", "bad"}) {
      EXPECT_EQ(x->Run(ParseMessage(name, name[0] == 'b' ? "SELECT 1/0" : "SELECT 2")), "1Z");
    }
  }
  int text = 10;
  for (const Case& k : {Case{false, "other1"}, Case{true, "other2"}}) {
    // The other client's statements (new texts) take the backend's room.
    std::string parses, closes;
    for (const char* name : {"o1", "o2", "o3"}) {
      parses += ParseMessage(name, "SELECT " + std::to_string(++text));
      closes += CloseStatement(name);
    }
    EXPECT_EQ(other.Run(parses), "111Z");
    EXPECT_EQ(other.Run(closes), "333Z");
    for (bool direct : {true, false}) {
      SCOPED_TRACE(std::string(direct ? "PostgreSQL" : "proxy") + (k.ownParse ? ", own Parse first" : ""));
      ExpectPostgresAnswers(direct ? d : c, k);
    }
  }
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
