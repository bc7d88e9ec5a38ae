// Integration (issue 15.1, 14.7): the BackendKeyData a client gets through the
// proxy carries the pid of the backend that serves it, so pg_backend_pid(),
// NOTIFY's sender pid, pg_stat_activity and pg_terminate_backend agree with
// what libpq reports; cancel requests with that key still reach the backend;
// the secret half comes from a CSPRNG, different for every session.
#include <gtest/gtest.h>
#include <poll.h>

#include <set>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"

namespace pgvigil::proxy::testenv {
namespace {

using std::chrono::milliseconds;

ProxyOptions NoBalancing() {
  ProxyOptions o;
  o.adjust = [](ClusterSpec& s) { s.proxy.loadBalancing.enabled = false; };
  return o;
}

TEST(ProxyBackendKeyTest, PidIsTheServingBackendsAndNotifySaysSo) {
  auto px = StartProxy(NoBalancing());
  ASSERT_TRUE(px);
  auto c = Connect(px->port, "postgres", "", "sslmode=disable application_name=pidcheck");
  ASSERT_TRUE(c->ok()) << c->error();
  int pid = PQbackendPID(c->c);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(c->Query("SELECT pg_backend_pid()"), std::to_string(pid));
  // The same pid on the primary, from outside the proxy.
  auto row = Cluster().Query(0, "SELECT application_name FROM pg_stat_activity WHERE pid = " + std::to_string(pid));
  ASSERT_TRUE(row.ok()) << row.error();
  EXPECT_EQ(*row, "pidcheck");
  // A notification to itself names its own pid, as libpq users check.
  EXPECT_EQ(c->Query("LISTEN pidcheck_chan"), "");
  EXPECT_EQ(c->Query("NOTIFY pidcheck_chan, 'me'"), "");
  PGnotify* n = nullptr;
  for (int i = 0; i < 50 && !n; ++i) {
    PQconsumeInput(c->c);
    n = PQnotifies(c->c);
    if (!n) {
      pollfd p{PQsocket(c->c), POLLIN, 0};
      poll(&p, 1, 100);
    }
  }
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->be_pid, pid);
  PQfreemem(n);
}

TEST(ProxyBackendKeyTest, CancelAndTerminateReachTheBackend) {
  auto px = StartProxy(NoBalancing());
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  int pid = PQbackendPID(c->c);
  // Cancel with the key libpq got.
  const CancelledSleep s = CancelASleep(*c);
  ASSERT_TRUE(s.cancelSent) << s.cancelError;
  ASSERT_TRUE(s.gotResult);
  EXPECT_EQ(s.sqlstate, "57014");
  EXPECT_EQ(c->Query("SELECT pg_backend_pid()"), std::to_string(pid));
  // pg_terminate_backend(the pid libpq reports) ends this session.
  EXPECT_EQ(c->Query("BEGIN"), "");
  auto killed = Cluster().Query(0, "SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  ASSERT_TRUE(killed.ok()) << killed.error();
  EXPECT_EQ(*killed, "t");
  std::string after = c->Query("SELECT 1");
  EXPECT_EQ(after.substr(0, 5), "ERROR") << after;
  EXPECT_EQ(c->Query("SELECT 1").substr(0, 5), "ERROR");
  EXPECT_NE(PQstatus(c->c), CONNECTION_OK);
}

TEST(ProxyBackendKeyTest, TerminatingTheReportedPidOfAnIdleSessionEndsIt) {
  auto px = StartProxy(NoBalancing());
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  int pid = PQbackendPID(c->c);
  auto killed = Cluster().Query(0, "SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  ASSERT_TRUE(killed.ok()) << killed.error();
  EXPECT_EQ(*killed, "t");
  std::this_thread::sleep_for(milliseconds(300));
  std::string after = c->Query("SELECT 1");
  EXPECT_EQ(after.substr(0, 5), "ERROR") << after;
  EXPECT_NE(PQstatus(c->c), CONNECTION_OK);
}

TEST(ProxyBackendKeyTest, PidsAreRealAndSecretsCannotBeGuessed) {
  auto px = StartProxy();  // balancing on: the login backend is the primary's
  ASSERT_TRUE(px);
  std::vector<std::unique_ptr<Conn>> conns;
  std::set<int> pids;
  for (int i = 0; i < 8; ++i) {
    conns.push_back(Connect(px->port));
    ASSERT_TRUE(conns.back()->ok()) << conns.back()->error();
    pids.insert(PQbackendPID(conns.back()->c));
  }
  EXPECT_EQ(pids.size(), 8u);  // eight sessions at once: eight backends
  std::string list;
  for (int p : pids) list += (list.empty() ? "" : ",") + std::to_string(p);
  auto n = Cluster().Query(0, "SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + list + ")");
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(*n, "8");
  // The proxy's secrets: a cancel with the right pid and a guessed secret does nothing.
  ASSERT_EQ(PQsendQuery(conns[0]->c, "SELECT pg_sleep(1.5)"), 1);
  std::string guess;
  AppendCancelRequest(&guess, {uint32_t(PQbackendPID(conns[0]->c)), 0});
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(px->port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(write(fd, guess.data(), guess.size()), ssize_t(guess.size()));
  close(fd);
  PGresult* r = PQgetResult(conns[0]->c);
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(conns[0]->c);
  PQclear(r);
  while ((r = PQgetResult(conns[0]->c))) PQclear(r);
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
