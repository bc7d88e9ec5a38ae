// Real PostgreSQL 15 servers (Debian binaries) on 127.0.0.1 for integration
// tests: node 0 is the primary, the others streaming standbys built with
// pg_basebackup. Runs the servers as the `postgres` OS user when we are root.
// Host connections use scram-sha-256 (users postgres and repl, passwords in
// files under dir()); the unix socket trusts postgres. The destructor stops every
// server it started, by pid, and removes the directory (unless PGVIGIL_KEEP_TEST_DIR=1).
// Not thread-safe; use from the test thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/spec.h"

namespace pgvigil::testing {

struct PgTestNode {
  std::string name;     // "node0", "node1", ...
  int port = 0;         // on 127.0.0.1
  std::string dataDir;
  std::string socketDir;
};

class PgTestCluster {
 public:
  struct Options {
    int nodes = 3;
    bool standbys = true;  // false: only node 0 initialised and running; others empty
    std::vector<std::string> extraConf;  // lines appended to every postgresql.conf
  };

  static Result<std::unique_ptr<PgTestCluster>> Create(const Options& options);
  static Result<std::unique_ptr<PgTestCluster>> Create() { return Create(Options{}); }
  ~PgTestCluster();
  PgTestCluster(const PgTestCluster&) = delete;
  PgTestCluster& operator=(const PgTestCluster&) = delete;

  const std::vector<PgTestNode>& nodes() const { return nodes_; }
  const std::string& dir() const { return dir_; }
  std::string superPasswordFile() const { return dir_ + "/secrets/postgres.password"; }
  std::string replPasswordFile() const { return dir_ + "/secrets/repl.password"; }
  std::string pgpassFile() const { return dir_ + "/secrets/pgpass"; }  // owned by postgres
  std::string superPassword() const { return "pgvigil-test-super"; }
  std::string replPassword() const { return "pgvigil-test-repl"; }
  // libpq conninfo over TCP with the superuser's password.
  std::string ConnInfo(int node, const std::string& db = "postgres") const;

  Status StopNode(int node, const std::string& mode = "fast");  // pg_ctl stop -m MODE
  Status StartNode(int node);
  Status PromoteNode(int node);
  bool IsRunning(int node) const;
  // First column of the first row (empty string for no rows), over libpq.
  Result<std::string> Query(int node, const std::string& sql) const;
  // Waits until `node` (a primary) shows `count` rows streaming in pg_stat_replication.
  Status WaitStreaming(int node, int count, int timeout_ms = 30000) const;
  // Makes `node` a fresh streaming standby of `primary` (pg_basebackup), and starts it.
  Status BuildStandby(int node, int primary);

  // A spec describing these nodes (127.0.0.1, their ports, secrets), with
  // per-node sidecar ports from `port_base`: node i gets proxy, api, watchdog and
  // heartbeat = port_base + 10*(i+1) + 0..3; the controller port_base + 9.
  // Watchdog disabled, no VIP. Tests adjust it.
  ClusterSpec MakeSpec(int port_base) const;
  // The same spec with every sidecar port (each node's proxy, api, watchdog and
  // heartbeat) and the controller port its own FreePort(): ctest runs tests side
  // by side, and a fixed block would be shared by two of them.
  ClusterSpec MakeSpecOnFreePorts() const;

  // Runs a PostgreSQL binary (initdb, pg_ctl, ...) from the bin directory as postgres.
  Status RunPgTool(const std::vector<std::string>& argv, int timeout_ms = 60000) const;
  static std::string BinDir();  // /usr/lib/postgresql/15/bin unless PGVIGIL_PG_BIN is set

 private:
  PgTestCluster() = default;
  Status Init(const Options& options);
  Status WriteConf(int node, const std::vector<std::string>& extra);
  std::string dir_;
  std::vector<PgTestNode> nodes_;
  std::vector<std::string> extraConf_;
};

// A free TCP port on 127.0.0.1 (bind to port 0, read it back, close).
int FreePort();

}  // namespace pgvigil::testing
