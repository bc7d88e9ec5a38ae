// Integration: protocol features, authentication outcomes, TLS, and failure
// handling through the proxy against real PostgreSQL 15.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

std::string P(int i) { return std::to_string(NodePort(i)); }

TEST(ProxySessionTest, CopyBothWays) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  std::string dir = px->dir;
  {
    std::ofstream(dir + "/in.csv") << "101,x\n102,y\n103,z\n";
  }
  auto in = Psql(px->port, {"-c", "\\copy kv FROM '" + dir + "/in.csv' WITH (FORMAT csv)"});
  ASSERT_EQ(in.exitCode, 0) << in.output;
  EXPECT_NE(in.output.find("COPY 3"), std::string::npos) << in.output;
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM kv WHERE k BETWEEN 101 AND 103").value(), "3");
  ASSERT_TRUE(Cluster().WaitStreaming(0, 2).ok());
  auto out = Psql(px->port, {"-c", "\\copy (SELECT k, v FROM kv WHERE k BETWEEN 101 AND 103 ORDER BY k) TO '" +
                                       dir + "/out.csv' WITH (FORMAT csv)"});
  ASSERT_EQ(out.exitCode, 0) << out.output;
  std::ifstream f(dir + "/out.csv");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // Reads may come from a standby that has not replayed yet; retry once after a pause.
  if (text.empty()) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    out = Psql(px->port, {"-c", "\\copy (SELECT k, v FROM kv WHERE k BETWEEN 101 AND 103 ORDER BY k) TO '" +
                                    dir + "/out.csv' WITH (FORMAT csv)"});
    std::ifstream f2(dir + "/out.csv");
    text.assign((std::istreambuf_iterator<char>(f2)), std::istreambuf_iterator<char>());
  }
  EXPECT_EQ(text, "101,x\n102,y\n103,z\n");
  // A bulk load larger than the proxy's per-backend write queue limit (4 MB).
  {
    std::ofstream big(dir + "/big.csv");
    for (int i = 0; i < 400000; ++i) big << i << ",row-" << i << "-padding-padding\n";
  }
  auto bulk = Psql(px->port, {"-c", "CREATE TABLE IF NOT EXISTS bulk (a int, b text)", "-c",
                              "\\copy bulk FROM '" + dir + "/big.csv' WITH (FORMAT csv)"});
  ASSERT_EQ(bulk.exitCode, 0) << bulk.output;
  EXPECT_EQ(Cluster().Query(0, "SELECT count(*) FROM bulk").value(), "400000");
}

// The kernel spreads connections over the workers' SO_REUSEPORT listeners by
// a hash; the accepting worker hands each to the one with the fewest sessions,
// so connections opened one after another end up evenly spread.
TEST(ProxySessionTest, ConnectionsSpreadEvenlyOverWorkers) {
  ProxyOptions o;
  o.threads = 3;
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < 12; ++i) {
    conns.push_back(Connect(px->port));
    ASSERT_TRUE(conns.back()->ok()) << conns.back()->error();
    EXPECT_EQ(conns.back()->Query("SELECT 1"), "1");
  }
  std::vector<int> per = px->server->WorkerSessions();
  ASSERT_EQ(per.size(), 3u);
  EXPECT_EQ(per[0] + per[1] + per[2], 12);
  for (int n : per) EXPECT_EQ(n, 4) << "sessions per worker: " << per[0] << " " << per[1] << " " << per[2];
  conns.clear();
}

TEST(ProxySessionTest, CancelOfPgSleep) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  const CancelledSleep s = CancelASleep(*c);
  ASSERT_TRUE(s.cancelSent) << s.cancelError;
  ASSERT_TRUE(s.gotResult);
  EXPECT_EQ(s.sqlstate, "57014");
  EXPECT_LT(s.took, std::chrono::seconds(20));
  EXPECT_EQ(c->Query("SELECT 7"), "7");  // the session carries on
}

TEST(ProxySessionTest, ListenNotify) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto listener = Connect(px->port);
  auto notifier = Connect(px->port);
  ASSERT_TRUE(listener->ok() && notifier->ok());
  EXPECT_EQ(listener->Query("LISTEN pgvigil_chan"), "");
  EXPECT_EQ(notifier->Query("NOTIFY pgvigil_chan, 'hello'"), "");
  PGnotify* n = nullptr;
  for (int i = 0; i < 100 && !n; ++i) {
    pollfd p{PQsocket(listener->c), POLLIN, 0};
    poll(&p, 1, 100);
    PQconsumeInput(listener->c);
    n = PQnotifies(listener->c);
  }
  ASSERT_NE(n, nullptr) << "notification not delivered while idle";
  EXPECT_STREQ(n->relname, "pgvigil_chan");
  EXPECT_STREQ(n->extra, "hello");
  PQfreemem(n);
}

// The listener keeps writing; after each write the proxy asks its backend for
// the WAL position (read-your-writes) with a statement of its own. A
// notification that arrives during that statement is the client's too.
TEST(ProxySessionTest, NotificationsDuringProxyStatementsAreDelivered) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto listener = Connect(px->port);
  auto notifier = Connect(px->port);
  ASSERT_TRUE(listener->ok() && notifier->ok());
  ASSERT_EQ(listener->Query("CREATE TABLE IF NOT EXISTS notify_w (i int)"), "");
  ASSERT_EQ(listener->Query("LISTEN pgvigil_busy"), "");
  constexpr int kNotes = 60;
  std::thread sender([&] {
    for (int i = 0; i < kNotes; ++i) {
      notifier->Query("NOTIFY pgvigil_busy, '" + std::to_string(i) + "'");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  int got = 0;
  auto drain = [&] {
    PQconsumeInput(listener->c);
    while (PGnotify* n = PQnotifies(listener->c)) {
      ++got;
      PQfreemem(n);
    }
  };
  for (int i = 0; i < 400 && got < kNotes; ++i) {
    ASSERT_EQ(listener->Query("INSERT INTO notify_w VALUES (" + std::to_string(i) + ")"), "");
    drain();
  }
  sender.join();
  for (int i = 0; i < 50 && got < kNotes; ++i) {
    pollfd p{PQsocket(listener->c), POLLIN, 0};
    poll(&p, 1, 100);
    drain();
  }
  EXPECT_EQ(got, kNotes) << "notifications lost";
}

TEST(ProxySessionTest, AuthenticationOutcomes) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto ok = Connect(px->port);  // scram-sha-256 with the AES pool_passwd entry
  EXPECT_TRUE(ok->ok()) << ok->error();
  auto md5 = Connect(px->port, "alice", "alicepw");
  EXPECT_TRUE(md5->ok()) << md5->error();
  auto wrong = Connect(px->port, "postgres", "not-the-password");
  EXPECT_FALSE(wrong->ok());
  EXPECT_NE(wrong->error().find("password authentication failed for user \"postgres\""), std::string::npos)
      << wrong->error();
  auto wrong_md5 = Connect(px->port, "alice", "nope");
  EXPECT_NE(wrong_md5->error().find("password authentication failed for user \"alice\""), std::string::npos);
  auto unknown = Connect(px->port, "mallory", "x");
  EXPECT_NE(unknown->error().find("password authentication failed for user \"mallory\""), std::string::npos)
      << unknown->error();
  auto rejected = Connect(px->port, "blocked", "blockedpw");
  EXPECT_NE(rejected->error().find("pool_hba.conf rejects connection for host \"127.0.0.1\", user \"blocked\""),
            std::string::npos)
      << rejected->error();
  auto& m = *px->ctx.metrics;
  EXPECT_EQ(m.Value("pgvigil_proxy_auth_failures_total", "reason=\"password\""), 3);
  EXPECT_EQ(m.Value("pgvigil_proxy_auth_failures_total", "reason=\"hba\""), 1);
  // The SQLSTATEs, as psql shows them with VERBOSITY verbose.
  auto v = Psql(px->port, {"-c", "select 1"}, "postgres", "wrong");
  EXPECT_NE(v.exitCode, 0);
}

TEST(ProxySessionTest, TlsRequiredAndRefused) {
  ProxyOptions o;
  o.tls = true;
  o.hba = "hostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n";
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  auto tls = Connect(px->port, "postgres", "", "sslmode=require");
  ASSERT_TRUE(tls->ok()) << tls->error();
  EXPECT_NE(PQsslInUse(tls->c), 0);
  EXPECT_EQ(tls->Query("SELECT 1"), "1");
  auto plain = Connect(px->port, "postgres", "", "sslmode=disable");
  EXPECT_FALSE(plain->ok());
  EXPECT_NE(plain->error().find("SSL off"), std::string::npos) << plain->error();
  // A proxy without TLS answers SSLRequest with 'N': sslmode=require fails, prefer falls back.
  auto px2 = StartProxy();
  EXPECT_FALSE(Connect(px2->port, "postgres", "", "sslmode=require")->ok());
  EXPECT_TRUE(Connect(px2->port, "postgres", "", "sslmode=prefer")->ok());
}

TEST(ProxySessionTest, MalformedClientBytesCloseOnlyThatClient) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto good = Connect(px->port);
  ASSERT_TRUE(good->ok());
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(px->port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const char junk[] = "\x00\x01\x00\x00GET / HTTP/1.1\r\n";  // length 65536: over the startup cap
  ASSERT_GT(write(fd, junk, sizeof junk - 1), 0);
  // Closed without a word, as PostgreSQL does (see proxy_preauth_itest.cc).
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf);
  EXPECT_LE(n, 0);
  close(fd);
  EXPECT_EQ(good->Query("SELECT 42"), "42");
  EXPECT_EQ(px->ctx.metrics->Value("pgvigil_proxy_protocol_errors_total"), 1);
}

TEST(ProxySessionTest, NoConfirmedPrimaryFailsClosedAndPrimaryChangeMovesIdleSessions) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok());
  EXPECT_EQ(c->Query("INSERT INTO kv VALUES (1, 'c') ON CONFLICT (k) DO UPDATE SET v = 'c' "
                     "RETURNING inet_server_port()"),
            P(0));
  auto in_tx = Connect(px->port);
  ASSERT_TRUE(in_tx->ok());
  EXPECT_EQ(in_tx->Query("BEGIN"), "");
  EXPECT_EQ(in_tx->Query("INSERT INTO kv VALUES (2, 't') ON CONFLICT (k) DO UPDATE SET v = 't' "
                         "RETURNING inet_server_port()"),
            P(0));
  EXPECT_EQ(px->server->SessionsInTransaction(), 1);
  // The controller names node1 primary while node1 is in recovery: no primary is
  // confirmed; the idle session leaves node0 and carries on (reads work, writes
  // are refused), the one in a transaction is closed and told why.
  RoutingTable t = px->server->Routing();
  t.generation = 5;
  t.primary = "node1";
  ASSERT_TRUE(px->server->SetRouting(t).ok());
  EXPECT_FALSE(px->server->SetRouting(t).ok());  // same generation again
  std::string r = in_tx->Query("SELECT 1");
  EXPECT_NE(r.find("primary changed"), std::string::npos) << r;
  EXPECT_NE(r.find("in a transaction"), std::string::npos) << r;
  EXPECT_EQ(px->server->SessionsInTransaction(), 0);
  std::string rc = c->Query("SELECT 1");
  EXPECT_EQ(rc, "1");
  std::string wc = c->Query("UPDATE kv SET v = 'd' WHERE k = 1");
  EXPECT_EQ(wc.substr(0, 12), "ERROR 25006:") << wc;
  auto c2 = Connect(px->port);
  ASSERT_TRUE(c2->ok()) << c2->error();
  std::string w = c2->Query("UPDATE kv SET v = 'd' WHERE k = 1");
  EXPECT_EQ(w.substr(0, 12), "ERROR 25006:") << w;
  std::string rd = c2->Query("SELECT inet_server_port()");
  EXPECT_TRUE(rd == P(1) || rd == P(2)) << rd;
  EXPECT_EQ(Cluster().Query(0, "SELECT v FROM kv WHERE k = 1").value(), "c");
  // Health says node1 is primary but it still is in recovery: in_hot_standby refuses writes.
  px->SetHealth(1, true, BackendRole::kPrimary);
  px->SetHealth(0, true, BackendRole::kStandby);
  auto c3 = Connect(px->port);
  ASSERT_TRUE(c3->ok()) << c3->error();
  std::string w3 = c3->Query("UPDATE kv SET v = 'e' WHERE k = 1");
  EXPECT_NE(w3.find("in recovery"), std::string::npos) << w3;
  EXPECT_EQ(Cluster().Query(0, "SELECT v FROM kv WHERE k = 1").value(), "c");
  EXPECT_GE(px->ctx.metrics->Value("pgvigil_proxy_sessions_closed_total", "reason=\"primary_changed\""), 1);
  EXPECT_GE(px->ctx.metrics->Value("pgvigil_proxy_sessions_moved_total"), 1);
}

TEST(ProxySessionTest, StandbyStoppedMidRunLeavesBalancing) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok());
  // Make sure this session balances to node2, then stop node2.
  std::string port;
  for (int i = 0; i < 30 && port != P(2); ++i) {
    c = Connect(px->port);
    port = c->Query("SELECT inet_server_port()");
  }
  ASSERT_EQ(port, P(2));
  ASSERT_TRUE(Cluster().StopNode(2).ok());
  px->SetHealth(2, false, BackendRole::kUnknown);  // what the health checker reports
  EXPECT_EQ(c->Query("SELECT inet_server_port()"), P(1));  // same session keeps reading
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Connect(px->port)->Query("SELECT inet_server_port()"), P(1));
  auto rows = px->server->PoolNodes();
  EXPECT_EQ(rows[2].status, "down");
  ASSERT_TRUE(Cluster().StartNode(2).ok());
  px->SetHealth(2, true, BackendRole::kStandby);
  ASSERT_TRUE(Cluster().WaitStreaming(0, 2).ok());
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
