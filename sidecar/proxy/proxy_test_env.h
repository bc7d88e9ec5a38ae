// Shared by the proxy integration tests: one real three-node PostgreSQL 15
// cluster per test binary (node0 primary, node1/node2 streaming standbys), a
// proxy started in-process on a free port with a pool_passwd (AES entry), an hba
// file and a health view filled the way the agent's health checker would, and
// small libpq / psql helpers. Test-thread only.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/testing/pg_cluster.h"
#include "sidecar/component.h"
#include "sidecar/proxy/proxy_server.h"

namespace pgvigil::proxy::testenv {

// The cluster, created by the environment before the first test.
testing::PgTestCluster& Cluster();
int NodePort(int i);
// The path of node i's Unix socket (trusted: a raw protocol client logs in
// without a password, to send PostgreSQL itself what a test sends the proxy).
std::string NodeSocket(int i);

struct ProxyUnderTest {
  SidecarContext ctx;
  std::unique_ptr<ProxyServer> server;
  std::string dir;  // auth files
  int port = 0;
  ~ProxyUnderTest();
  // Marks node i up/down with a role, as the health checker would, and refreshes routing.
  void SetHealth(int i, bool up, BackendRole role);
  // Reads every node's LSN (the primary's insert LSN, the standbys' replay LSN)
  // into the health view, as the health checker would, and refreshes routing.
  void FeedLsns();
  // Waits (up to 30 s) until every standby has replayed what the primary has
  // written, then FeedLsns.
  void CatchUp();
  testing::PgTestCluster* cluster = nullptr;
};

struct ProxyOptions {
  std::string hba = "host all blocked 127.0.0.1/32 reject\n"
                    "host all alice 127.0.0.1/32 md5\n"
                    "host all all 127.0.0.1/32 scram-sha-256\n";
  bool tls = false;
  int threads = 2;
  std::chrono::milliseconds pauseLimit{0};  // 0: the spec's default
  std::function<void(ClusterSpec&)> adjust;  // last changes to the proxy's spec
  bool readYourWrites = true;
};
// cluster: defaults to the shared one.
std::unique_ptr<ProxyUnderTest> StartProxy(const ProxyOptions& o = {}, testing::PgTestCluster* cluster = nullptr);
// A proxy for raw protocol clients (hba trust, no password exchange), reads
// balanced to one standby (node 1), read-your-writes off unless asked for.
std::unique_ptr<ProxyUnderTest> StartBalancedToNode1(PoolMode mode,
                                                     SessionStatePolicy state = SessionStatePolicy::kRefuse,
                                                     bool read_your_writes = false);

// libpq connection through the proxy (or directly to node `direct` when >= 0).
struct Conn {
  PGconn* c = nullptr;
  ~Conn() {
    if (c) PQfinish(c);
  }
  bool ok() const { return c && PQstatus(c) == CONNECTION_OK; }
  std::string error() const { return c ? PQerrorMessage(c) : "no connection"; }
  // First column of the first row, or "ERROR <sqlstate>: <message>".
  std::string Query(const std::string& sql);
};
// First column of the first row of r, or "ERROR <sqlstate>: <message>"; clears r.
std::string ResultValue(PGconn* c, PGresult* r);
using Rows = std::vector<std::map<std::string, std::string>>;
// Every row of a result (SHOW pools / clients / servers), by column name; an
// error as one row {"error": ...}.
Rows Table(PGconn* c, const std::string& sql);
// PQprepare of sql as the named statement: "" when prepared, else
// "ERROR <sqlstate>: <message>".
std::string Prepare(PGconn* c, const char* name, const char* sql);
std::unique_ptr<Conn> Connect(int port, const std::string& user = "postgres", const std::string& password = "",
                              const std::string& extra = "sslmode=disable");

// A client's cancel, as psql's Ctrl-C: sends SELECT pg_sleep(30) on c, after
// 500 ms cancels it with libpq's PQcancel (the key c got at login), then reads
// every result.
struct CancelledSleep {
  bool cancelSent = false;  // PQcancel returned 1
  std::string cancelError;  // its message otherwise
  bool gotResult = false;   // the sleep answered at all
  std::string sqlstate;     // of its first result ("" when none)
  std::chrono::steady_clock::duration took{};  // from the send to the last result
};
CancelledSleep CancelASleep(Conn& c);

// psql -Atc SQL through the proxy; output (stdout+stderr) and exit code.
struct PsqlResult {
  int exitCode = -1;
  std::string output;
};
PsqlResult Psql(int port, const std::vector<std::string>& args, const std::string& user = "postgres",
                const std::string& password = "");
PsqlResult Pgbench(int port, const std::vector<std::string>& args);
// psycopg 3 (Debian's python3-psycopg under /usr/bin/python3) running the
// Python `body` with `conn` connected (autocommit) to port and connect(**kw)
// opening more connections there; prints "done" at the end.
PsqlResult Psycopg(int port, const std::string& body);

}  // namespace pgvigil::proxy::testenv
