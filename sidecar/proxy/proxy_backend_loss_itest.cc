// Integration, issue 15 cause 2 and issue 14 item 12: what a client sees when
// its backend goes away.
//  * pg_terminate_backend of an idle client's backend: the client gets the
//    backend's FATAL (57P01) and the connection closes, as with PostgreSQL
//    directly (the test compares what libpq reports both ways); never silently
//    replaced. An idle session whose node went away (shutdown, crash) still
//    moves: proxy_failover_itest.cc.
//  * terminated during a statement: exactly one error (the backend's FATAL).
//  * a backend that stops answering (SIGSTOP of a real postgres process) while
//    a statement waits on it, then routing drops its node: the client gets an
//    error within a second (the test allows 5 s and prints the time);
//  * backend sockets carry keepalives and TCP_USER_TIMEOUT (read from the
//    proxy's own sockets in this process).
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

std::string P(int i) { return std::to_string(NodePort(i)); }

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

void CollectNotice(void* arg, const char* message) { *static_cast<std::string*>(arg) += message; }

// Waits up to 5 s for the idle connection to learn it is gone; returns what
// libpq reported: the notices it got while idle (an idle connection's FATAL
// goes to the notice processor) and its error text ("" if nothing happened).
std::string WaitBroken(PGconn* c) {
  std::string notices;
  PQsetNoticeProcessor(c, CollectNotice, &notices);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{PQsocket(c), POLLIN, 0};
    if (poll(&p, 1, 100) > 0 && (!PQconsumeInput(c) || PQstatus(c) == CONNECTION_BAD)) {
      out = notices + PQerrorMessage(c);
      break;
    }
  }
  PQsetNoticeProcessor(c, nullptr, nullptr);
  return out;
}

// Where a balanced read runs: "port pid". pg_backend_pid() itself goes to the
// primary (the pid the client was given); a STABLE wrapper is balanced like
// any read, so it names the standby backend that serves the session's reads.
const char* kWhoReads = "SELECT inet_server_port() || ' ' || reader_backend_pid()";
void DefineReaderPid(ProxyUnderTest* px) {
  ASSERT_TRUE(Cluster()
                  .Query(0, "CREATE OR REPLACE FUNCTION reader_backend_pid() RETURNS int STABLE LANGUAGE sql "
                            "AS 'SELECT pg_backend_pid()'")
                  .ok());
  px->CatchUp();
}

// Terminates `pid` on node `node` from a direct connection.
void Terminate(int node, const std::string& pid) {
  auto r = Cluster().Query(node, "SELECT pg_terminate_backend(" + pid + ")");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(*r, "t");
}

TEST(ProxyBackendLossTest, IdleBackendTerminatedIsReportedLikePostgres) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  std::string direct_error;
  for (bool proxied : {false, true}) {
    SCOPED_TRACE(proxied ? "proxy" : "direct");
    auto c = Connect(proxied ? px->port : NodePort(0));
    ASSERT_TRUE(c->ok()) << c->error();
    // A write runs on the primary: that is the backend the client waits on.
    std::string pid = c->Query("INSERT INTO kv VALUES (700, 'i') ON CONFLICT (k) DO UPDATE SET v = 'i' "
                               "RETURNING pg_backend_pid()");
    ASSERT_EQ(pid.find("ERROR"), std::string::npos) << pid;
    Terminate(0, pid);
    // libpq reads the FATAL and the end of the connection together and reports
    // the closed connection; what matters is that it learns at once, as directly.
    std::string err = WaitBroken(c->c);
    EXPECT_NE(err, "") << "the client was not told";
    EXPECT_EQ(PQstatus(c->c), CONNECTION_BAD);
    if (!proxied) direct_error = err;
    else EXPECT_EQ(err, direct_error);
  }
  // The standby backend of a balanced session too.
  DefineReaderPid(px.get());
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok());
  std::string who = c->Query(kWhoReads);
  int node = who.substr(0, who.find(' ')) == P(1) ? 1 : 2;
  Terminate(node, who.substr(who.find(' ') + 1));
  EXPECT_EQ(WaitBroken(c->c), direct_error);
}

TEST(ProxyBackendLossTest, TerminatedDuringStatementGivesExactlyOneError) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  for (bool proxied : {false, true}) {
    SCOPED_TRACE(proxied ? "proxy" : "direct");
    auto c = Connect(proxied ? px->port : NodePort(0));
    ASSERT_TRUE(c->ok()) << c->error();
    std::string pid = c->Query("INSERT INTO kv VALUES (701, 's') ON CONFLICT (k) DO UPDATE SET v = 's' "
                               "RETURNING pg_backend_pid()");
    ASSERT_EQ(pid.find("ERROR"), std::string::npos) << pid;
    ASSERT_EQ(PQsendQuery(c->c, "DO $$ BEGIN PERFORM pg_sleep(30); END $$"), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Terminate(0, pid);
    PGresult* r = PQgetResult(c->c);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
    const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    EXPECT_STREQ(code ? code : "", "57P01");
    std::string msg = PQerrorMessage(c->c);
    PQclear(r);
    while ((r = PQgetResult(c->c))) PQclear(r);
    EXPECT_EQ(Count(msg, "FATAL"), 1) << msg;
    EXPECT_EQ(PQstatus(c->c), CONNECTION_BAD);
  }
}

// The pid of the postgres process serving `sql`'s backend, via the proxy.
struct Stopped {
  int pid = 0;
  ~Stopped() {
    if (pid > 0) kill(pid, SIGCONT);
  }
};

void WaitingStatementGetsErrorWhenRoutingDrops(bool standby) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  DefineReaderPid(px.get());
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok());
  std::string who = standby ? c->Query(kWhoReads)
                            : c->Query("INSERT INTO kv VALUES (702, 'w') ON CONFLICT (k) DO UPDATE SET v = 'w' "
                                       "RETURNING inet_server_port() || ' ' || pg_backend_pid()");
  ASSERT_NE(who.find(' '), std::string::npos) << who;
  std::string port = who.substr(0, who.find(' '));
  int node = port == P(0) ? 0 : port == P(1) ? 1 : 2;
  ASSERT_EQ(node == 0, !standby) << who;
  Stopped s;
  s.pid = std::stoi(who.substr(who.find(' ') + 1));
  ASSERT_EQ(kill(s.pid, SIGSTOP), 0);
  // The next statement waits on the stopped backend.
  ASSERT_EQ(PQsendQuery(c->c, standby ? "SELECT 1" : "UPDATE kv SET v = 'x' WHERE k = 702"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  px->SetHealth(node, false, BackendRole::kUnknown);  // routing drops the node
  pollfd p{PQsocket(c->c), POLLIN, 0};
  poll(&p, 1, 5000);
  PGresult* r = PQgetResult(c->c);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measured ] %s: error %.3f s after routing dropped node%d\n", standby ? "standby" : "primary",
              secs, node);
  ASSERT_NE(r, nullptr);
  const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  EXPECT_STREQ(code ? code : "", "57P01");
  EXPECT_NE(std::string(PQerrorMessage(c->c)).find("node" + std::to_string(node)), std::string::npos)
      << PQerrorMessage(c->c);
  PQclear(r);
  EXPECT_LT(secs, 5.0);
  px->SetHealth(node, true, node == 0 ? BackendRole::kPrimary : BackendRole::kStandby);
}

TEST(ProxyBackendLossTest, StatementOnStoppedStandbyFailsWhenRoutingDropsIt) {
  WaitingStatementGetsErrorWhenRoutingDrops(true);
}

TEST(ProxyBackendLossTest, StatementOnStoppedPrimaryFailsWhenRoutingDropsIt) {
  WaitingStatementGetsErrorWhenRoutingDrops(false);
}

TEST(ProxyBackendLossTest, BackendSocketsCarryKeepalivesAndUserTimeout) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok());
  ASSERT_EQ(c->Query("INSERT INTO kv VALUES (703, 'k') ON CONFLICT (k) DO NOTHING"), "");
  // Every socket of this process connected to the primary that has our short
  // keepalive idle time is a proxy backend socket; libpq's use the kernel's.
  int found = 0;
  DIR* d = opendir("/proc/self/fd");
  ASSERT_NE(d, nullptr);
  while (dirent* e = readdir(d)) {
    int fd = atoi(e->d_name);
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (fd <= 2 || getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 || peer.sin_family != AF_INET ||
        ntohs(peer.sin_port) != NodePort(0))
      continue;
    int keep = 0, idle = 0, interval = 0, count = 0;
    unsigned user_timeout = 0;
    socklen_t l = sizeof(int);
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keep, &l);
    l = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &l);
    if (!keep || idle > 60) continue;  // not ours
    l = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, &l);
    l = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, &l);
    l = sizeof user_timeout;
    getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, &l);
    EXPECT_EQ(idle, 5);
    EXPECT_EQ(interval, 1);
    EXPECT_EQ(count, 3);
    EXPECT_EQ(user_timeout, 10000u);
    ++found;
  }
  closedir(d);
  EXPECT_GE(found, 1) << "no proxy backend socket to the primary found";
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
