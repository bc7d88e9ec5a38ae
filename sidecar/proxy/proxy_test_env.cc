#include "sidecar/proxy/proxy_test_env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "sidecar/proxy/pool_passwd.h"

namespace pgvigil::proxy::testenv {

namespace {
std::unique_ptr<testing::PgTestCluster> g_cluster;

class ClusterEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    auto c = testing::PgTestCluster::Create();
    ASSERT_TRUE(c.ok()) << c.error();
    g_cluster = std::move(*c);
    // Users for auth tests; the proxy logs in to the backends with pool_passwd's passwords.
    ASSERT_TRUE(g_cluster->Query(0, "CREATE ROLE alice LOGIN PASSWORD 'alicepw'").ok());
    ASSERT_TRUE(g_cluster->Query(0, "CREATE ROLE blocked LOGIN PASSWORD 'blockedpw'").ok());
    ASSERT_TRUE(g_cluster->Query(0, "CREATE TABLE kv (k int primary key, v text)").ok());
    ASSERT_TRUE(g_cluster->Query(0, "GRANT ALL ON kv TO alice").ok());
    ASSERT_TRUE(g_cluster->WaitStreaming(0, 2).ok());
  }
  void TearDown() override { g_cluster.reset(); }
};
const auto* g_env = ::testing::AddGlobalTestEnvironment(new ClusterEnv);

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
  chmod(path.c_str(), 0600);
}
}  // namespace

testing::PgTestCluster& Cluster() { return *g_cluster; }
int NodePort(int i) { return g_cluster->nodes()[size_t(i)].port; }
std::string NodeSocket(int i) {
  return g_cluster->nodes()[size_t(i)].socketDir + "/.s.PGSQL." + std::to_string(NodePort(i));
}

ProxyUnderTest::~ProxyUnderTest() {
  if (server) server->Stop();
  server.reset();
  if (!dir.empty()) std::system(("rm -rf '" + dir + "'").c_str());
}

void ProxyUnderTest::SetHealth(int i, bool up, BackendRole role) {
  BackendHealth h;
  h.node = cluster->nodes()[size_t(i)].name;
  h.up = up;
  h.role = role;
  h.lastCheck = std::chrono::system_clock::now();
  h.lastChange = h.lastCheck;
  ctx.health->Update(h);
  server->RefreshRouting();
}

void ProxyUnderTest::FeedLsns() {
  for (size_t i = 0; i < cluster->nodes().size(); ++i) {
    auto v = cluster->Query(int(i), i == 0 ? "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text"
                                           : "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::text");
    if (!v.ok() || v->empty()) continue;
    BackendHealth h;
    ctx.health->Get(cluster->nodes()[i].name, &h);
    h.node = cluster->nodes()[i].name;
    h.up = true;
    h.role = i == 0 ? BackendRole::kPrimary : BackendRole::kStandby;
    h.lsn = std::stoull(*v);
    h.lastCheck = std::chrono::system_clock::now();
    ctx.health->Update(h);
  }
  server->RefreshRouting();
}

void ProxyUnderTest::CatchUp() {
  auto target = cluster->Query(0, "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (size_t i = 1; target.ok() && i < cluster->nodes().size(); ++i)
    while (std::chrono::steady_clock::now() < deadline) {
      auto v = cluster->Query(int(i), "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::text");
      if (v.ok() && !v->empty() && std::stoull(*v) >= std::stoull(*target)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  FeedLsns();
}

std::unique_ptr<ProxyUnderTest> StartBalancedToNode1(PoolMode mode, SessionStatePolicy state, bool read_your_writes) {
  ProxyOptions o;
  o.hba = "host all all 127.0.0.1/32 trust\n";
  o.readYourWrites = read_your_writes;
  o.adjust = [mode, state](ClusterSpec& s) {
    s.proxy.pool.mode = mode;
    s.proxy.pool.sessionState = state;
    s.proxy.loadBalancing.enabled = true;
    s.nodes[0].weight = 0;
    s.nodes[1].weight = 1;
    s.nodes[2].weight = 0;
  };
  return StartProxy(o);
}

std::unique_ptr<ProxyUnderTest> StartProxy(const ProxyOptions& o, testing::PgTestCluster* cluster) {
  auto p = std::make_unique<ProxyUnderTest>();
  p->cluster = cluster ? cluster : g_cluster.get();
  char tmpl[] = "/tmp/pgvigil-proxy-test-XXXXXX";
  p->dir = mkdtemp(tmpl);
  p->port = testing::FreePort();
  p->ctx.spec = p->cluster->MakeSpec(testing::FreePort());
  p->ctx.nodeName = "node0";
  p->ctx.spec.nodes[0].proxyPort = p->port;
  p->ctx.spec.proxy.threads = o.threads;
  if (o.pauseLimit.count() > 0) p->ctx.spec.proxy.pauseLimit = o.pauseLimit;
  p->ctx.spec.proxy.loadBalancing.readYourWrites = o.readYourWrites;
  std::string key = "test-pool-key";
  WriteFile(p->dir + "/key", key + "\n");
  auto enc = AesEncryptPassword(p->cluster->superPassword(), key);
  WriteFile(p->dir + "/pool_passwd", "postgres:AES" + *enc + "\nalice:TEXTalicepw\nblocked:TEXTblockedpw\n");
  WriteFile(p->dir + "/pool_hba.conf", o.hba);
  auto& auth = p->ctx.spec.proxy.auth;
  auth.hbaFile = p->dir + "/pool_hba.conf";
  auth.passwordFile = p->dir + "/pool_passwd";
  auth.keyFile = p->dir + "/key";
  if (o.tls) {
    auto r = RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                         "/CN=localhost", "-keyout", p->dir + "/tls.key", "-out", p->dir + "/tls.crt"});
    EXPECT_TRUE(r.ok() && r->success());
    p->ctx.spec.proxy.tls.certFile = p->dir + "/tls.crt";
    p->ctx.spec.proxy.tls.keyFile = p->dir + "/tls.key";
  }
  if (o.adjust) o.adjust(p->ctx.spec);
  p->server = std::make_unique<ProxyServer>(p->ctx);
  Status s = p->server->Start();
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return nullptr;
  for (size_t i = 0; i < p->cluster->nodes().size(); ++i)
    p->SetHealth(int(i), true, i == 0 ? BackendRole::kPrimary : BackendRole::kStandby);
  return p;
}

std::string Conn::Query(const std::string& sql) { return ResultValue(c, PQexec(c, sql.c_str())); }

Rows Table(PGconn* c, const std::string& sql) {
  Rows out;
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    out.push_back({{"error", PQresultErrorMessage(r)}});
  } else {
    for (int i = 0; i < PQntuples(r); ++i) {
      std::map<std::string, std::string> row;
      for (int j = 0; j < PQnfields(r); ++j) row[PQfname(r, j)] = PQgetvalue(r, i, j);
      out.push_back(std::move(row));
    }
  }
  PQclear(r);
  return out;
}

std::string ResultValue(PGconn* c, PGresult* r) {
  std::string out;
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    out = (st == PGRES_TUPLES_OK && PQntuples(r) > 0) ? PQgetvalue(r, 0, 0) : "";
  } else {
    const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out = std::string("ERROR ") + (code ? code : "?") + ": " + PQerrorMessage(c);
  }
  PQclear(r);
  return out;
}

std::string Prepare(PGconn* c, const char* name, const char* sql) {
  PGresult* r = PQprepare(c, name, sql, 0, nullptr);
  std::string out;
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out = std::string("ERROR ") + (state ? state : "?") + ": " + PQresultErrorMessage(r);
  }
  PQclear(r);
  return out;
}

CancelledSleep CancelASleep(Conn& c) {
  CancelledSleep out;
  const auto start = std::chrono::steady_clock::now();
  if (PQsendQuery(c.c, "SELECT pg_sleep(30)") != 1) {
    out.cancelError = "the sleep was not sent: " + c.error();
    return out;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  PGcancel* cancel = PQgetCancel(c.c);
  char err[256] = {};
  out.cancelSent = cancel && PQcancel(cancel, err, sizeof err) == 1;
  if (!out.cancelSent) out.cancelError = err;
  if (cancel) PQfreeCancel(cancel);
  PGresult* r = PQgetResult(c.c);
  out.gotResult = r != nullptr;
  if (r) {
    const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out.sqlstate = code ? code : "";
    PQclear(r);
  }
  while ((r = PQgetResult(c.c))) PQclear(r);
  out.took = std::chrono::steady_clock::now() - start;
  return out;
}

std::unique_ptr<Conn> Connect(int port, const std::string& user, const std::string& password,
                              const std::string& extra) {
  auto c = std::make_unique<Conn>();
  std::string pw = password.empty() && user == "postgres" ? g_cluster->superPassword() : password;
  std::string ci = "host=127.0.0.1 port=" + std::to_string(port) + " user=" + user +
                   " dbname=postgres connect_timeout=10 password=" + pw + " " + extra;
  c->c = PQconnectdb(ci.c_str());
  return c;
}

PsqlResult Psql(int port, const std::vector<std::string>& args, const std::string& user,
                const std::string& password) {
  std::vector<std::string> argv = {"psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", user,
                                   "-d", "postgres", "-X", "-v", "ON_ERROR_STOP=1"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(60000);
  o.env["PGPASSWORD"] = password.empty() ? g_cluster->superPassword() : password;
  o.env["PGSSLMODE"] = "disable";
  o.tailLines = 1000;
  auto r = RunProcess(argv, o);
  if (!r.ok()) return {-1, r.error()};
  return {r->exitCode, r->outputTail};
}

PsqlResult Pgbench(int port, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"pgbench", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "postgres"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("postgres");
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(120000);
  o.env["PGPASSWORD"] = g_cluster->superPassword();
  o.env["PGSSLMODE"] = "disable";
  o.tailLines = 200;
  auto r = RunProcess(argv, o);
  if (!r.ok()) return {-1, r.error()};
  return {r->exitCode, r->outputTail};
}

PsqlResult Psycopg(int port, const std::string& body) {
  std::string path = "/tmp/pgvigil-route-psycopg-" + std::to_string(::getpid()) + ".py";
  std::ofstream(path, std::ios::trunc)
      << "import sys, psycopg\n"
         "def connect(**kw):\n"
         "    return psycopg.connect(host='127.0.0.1', port=" << port
      << ", user='postgres', dbname='postgres', password='" << g_cluster->superPassword()
      << "', sslmode='disable', **kw)\n"
         "conn = connect(autocommit=True)\n"
      << body << "\nprint('done')\n";
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(60000);
  o.tailLines = 200;
  // Debian's interpreter, which has python3-psycopg (hack/install-deps.sh).
  auto r = RunProcess({"/usr/bin/python3", path}, o);
  std::remove(path.c_str());
  if (!r.ok()) return {-1, r.error()};
  return {r->exitCode, r->outputTail};
}

}  // namespace pgvigil::proxy::testenv
