#include "common/testing/pg_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/files.h"
#include "common/process.h"

namespace pgvigil::testing {

namespace {

bool IsRoot() { return geteuid() == 0; }

Status Chown(const std::string& path, const std::string& user) {
  if (!IsRoot()) return Status::Ok();
  struct passwd* pw = getpwnam(user.c_str());
  if (!pw) return Status::Error("no OS user " + user);
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::Error("chown " + path);
  return Status::Ok();
}

Status WriteText(const std::string& path, const std::string& text, int mode) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Status::Error("cannot write " + path);
  out << text;
  out.close();
  chmod(path.c_str(), mode);
  return Status::Ok();
}

}  // namespace

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

std::string PgTestCluster::BinDir() {
  const char* env = std::getenv("PGVIGIL_PG_BIN");
  return env ? env : "/usr/lib/postgresql/15/bin";
}

Status PgTestCluster::RunPgTool(const std::vector<std::string>& argv, int timeout_ms) const {
  std::vector<std::string> full = argv;
  full[0] = BinDir() + "/" + argv[0];
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  if (IsRoot()) o.runAsUser = "postgres";
  o.env["PGPASSFILE"] = pgpassFile();
  o.workingDirectory = dir_;
  auto r = RunProcess(full, o);
  if (!r.ok()) return r.status();
  if (!r->success())
    return Status::Error(argv[0] + " failed (" + r->Describe() + "): " + r->outputTail);
  return Status::Ok();
}

Result<std::unique_ptr<PgTestCluster>> PgTestCluster::Create(const Options& options) {
  std::unique_ptr<PgTestCluster> c(new PgTestCluster());
  if (Status s = c->Init(options); !s.ok()) return s;
  return c;
}

Status PgTestCluster::Init(const Options& options) {
  char tmpl[] = "/tmp/pgvigil-test-XXXXXX";
  if (!mkdtemp(tmpl)) return Status::Error("mkdtemp failed");
  dir_ = tmpl;
  chmod(dir_.c_str(), 0755);
  extraConf_ = options.extraConf;
  std::string secrets = dir_ + "/secrets";
  mkdir(secrets.c_str(), 0755);
  // Secrets the sidecars and controllers read (as this user): private, or refused.
  (void)WriteText(superPasswordFile(), superPassword() + "\n", 0600);
  (void)WriteText(replPasswordFile(), replPassword() + "\n", 0600);
  (void)WriteText(pgpassFile(),
                  "127.0.0.1:*:*:postgres:" + superPassword() + "\n127.0.0.1:*:*:repl:" +
                      replPassword() + "\n",
                  0600);
  if (Status s = Chown(pgpassFile(), "postgres"); !s.ok()) return s;
  for (int i = 0; i < options.nodes; ++i) {
    PgTestNode n;
    n.name = "node" + std::to_string(i);
    n.port = FreePort();
    n.dataDir = dir_ + "/" + n.name + "/data";
    n.socketDir = dir_ + "/" + n.name + "/run";
    std::string base = dir_ + "/" + n.name;
    mkdir(base.c_str(), 0755);
    mkdir(n.socketDir.c_str(), 0755);
    if (Status s = Chown(base, "postgres"); !s.ok()) return s;
    if (Status s = Chown(n.socketDir, "postgres"); !s.ok()) return s;
    nodes_.push_back(n);
  }
  // node0: initdb, users, start. Like fsync = off below, --no-sync (here and in
  // pg_basebackup): a test's cluster never outlives the machine, and each sync of
  // its ~1000 files waits behind whatever else is writing to the disk.
  std::string pwfile = dir_ + "/secrets/initdb.pw";
  (void)WriteText(pwfile, superPassword() + "\n", 0644);
  if (Status s = RunPgTool({"initdb", "-D", nodes_[0].dataDir, "-U", "postgres", "--pwfile", pwfile,
                            "-A", "scram-sha-256", "--auth-local=trust", "--data-checksums",
                            "--no-sync"},
                           120000);
      !s.ok())
    return s;
  if (Status s = WriteConf(0, options.extraConf); !s.ok()) return s;
  if (Status s = StartNode(0); !s.ok()) return s;
  auto created = Query(0, "CREATE ROLE repl WITH REPLICATION LOGIN PASSWORD '" + replPassword() + "'");
  if (!created.ok()) return created.status();
  if (options.standbys) {
    for (int i = 1; i < options.nodes; ++i)
      if (Status s = BuildStandby(i, 0); !s.ok()) return s;
    if (Status s = WaitStreaming(0, options.nodes - 1); !s.ok()) return s;
  }
  return Status::Ok();
}

Status PgTestCluster::WriteConf(int node, const std::vector<std::string>& extra) {
  const PgTestNode& n = nodes_[node];
  std::string conf =
      "\n# pgvigil test settings\n"
      "listen_addresses = '127.0.0.1'\n"
      "port = " + std::to_string(n.port) + "\n"
      "unix_socket_directories = '" + n.socketDir + "'\n"
      "wal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\n"
      "hot_standby = on\nwal_log_hints = on\nwal_keep_size = 128MB\n"
      "shared_buffers = 32MB\nmax_connections = 200\nfsync = off\n"
      "logging_collector = off\nlog_min_messages = warning\n";
  for (const auto& line : extra) conf += line + "\n";
  {
    std::ofstream out(n.dataDir + "/postgresql.conf", std::ios::app);
    if (!out) return Status::Error("cannot append to postgresql.conf of " + n.name);
    out << conf;
  }
  std::string hba =
      "local all all trust\n"
      "local replication all trust\n"
      "host all all 127.0.0.1/32 scram-sha-256\n"
      "host replication all 127.0.0.1/32 scram-sha-256\n";
  std::string hba_path = n.dataDir + "/pg_hba.conf";
  if (Status s = WriteText(hba_path, hba, 0600); !s.ok()) return s;
  return Chown(hba_path, "postgres");
}

PgTestCluster::~PgTestCluster() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!IsRunning(static_cast<int>(i))) continue;
    (void)StopNode(static_cast<int>(i), "immediate");
  }
  // Anything still alive (pg_ctl failed): kill the postmaster by its pid file.
  for (const auto& n : nodes_) {
    std::ifstream pidf(n.dataDir + "/postmaster.pid");
    pid_t pid = 0;
    if (pidf >> pid && pid > 0) kill(pid, SIGKILL);
  }
  const char* keep = std::getenv("PGVIGIL_KEEP_TEST_DIR");
  if (!dir_.empty() && !(keep && std::string(keep) == "1")) {
    auto r = RunProcess({"rm", "-rf", dir_});
    (void)r;
  }
}

std::string PgTestCluster::ConnInfo(int node, const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(nodes_[node].port) + " user=postgres password=" +
         superPassword() + " dbname=" + db + " connect_timeout=5";
}

Status PgTestCluster::StopNode(int node, const std::string& mode) {
  return RunPgTool({"pg_ctl", "-D", nodes_[node].dataDir, "-m", mode, "-w", "-t", "60", "stop"});
}

Status PgTestCluster::StartNode(int node) {
  return RunPgTool({"pg_ctl", "-D", nodes_[node].dataDir, "-l",
                    dir_ + "/" + nodes_[node].name + "/postgresql.log", "-w", "-t", "60", "start"},
                   90000);
}

Status PgTestCluster::PromoteNode(int node) {
  return RunPgTool({"pg_ctl", "-D", nodes_[node].dataDir, "-w", "-t", "60", "promote"});
}

bool PgTestCluster::IsRunning(int node) const {
  std::ifstream pidf(nodes_[node].dataDir + "/postmaster.pid");
  pid_t pid = 0;
  if (!(pidf >> pid) || pid <= 0) return false;
  return kill(pid, 0) == 0;
}

Result<std::string> PgTestCluster::Query(int node, const std::string& sql) const {
  PGconn* conn = PQconnectdb(ConnInfo(node).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string err = PQerrorMessage(conn);
    PQfinish(conn);
    return Result<std::string>::Error(nodes_[node].name + ": " + err);
  }
  PGresult* res = PQexec(conn, sql.c_str());
  auto st = PQresultStatus(res);
  std::string out;
  Status status;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    status = Status::Error(nodes_[node].name + ": " + PQerrorMessage(conn));
  } else if (st == PGRES_TUPLES_OK && PQntuples(res) > 0) {
    out = PQgetvalue(res, 0, 0);
  }
  PQclear(res);
  PQfinish(conn);
  if (!status.ok()) return status;
  return out;
}

Status PgTestCluster::WaitStreaming(int node, int count, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = Query(node, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
    if (r.ok() && std::atoi(r->c_str()) >= count) return Status::Ok();
    last = r.ok() ? *r + " streaming" : r.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Error(nodes_[node].name + ": expected " + std::to_string(count) +
                       " streaming standbys, last saw " + last);
}

Status PgTestCluster::BuildStandby(int node, int primary) {
  const PgTestNode& n = nodes_[node];
  if (IsRunning(node)) (void)StopNode(node, "immediate");
  auto rm = RunProcess({"rm", "-rf", n.dataDir});
  (void)rm;
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(nodes_[primary].port) +
                         " user=repl passfile=" + pgpassFile() + " application_name=" + n.name;
  if (Status s = RunPgTool({"pg_basebackup", "-D", n.dataDir, "-d", conninfo, "-X", "stream", "-R",
                            "-c", "fast", "--no-sync"},
                           180000);
      !s.ok())
    return s;
  // The copied configuration names the primary's port and socket: rewrite ours.
  if (Status s = WriteConf(node, extraConf_); !s.ok()) return s;
  return StartNode(node);
}

ClusterSpec PgTestCluster::MakeSpec(int port_base) const {
  ClusterSpec spec;
  spec.name = "test";
  spec.postgres.binDirectory = BinDir();
  spec.postgres.superuser = {"postgres", superPasswordFile()};
  spec.postgres.replicationUser = {"repl", replPasswordFile()};
  spec.watchdog.enabled = false;
  spec.proxy.listen = "127.0.0.1";
  spec.api.listen = "127.0.0.1";
  spec.api.controllerPort = port_base + 9;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    NodeSpec n;
    n.name = nodes_[i].name;
    n.host = "127.0.0.1";
    n.port = nodes_[i].port;
    n.dataDirectory = nodes_[i].dataDir;
    int base = port_base + 10 * static_cast<int>(i);
    n.proxyPort = base + 10;
    n.apiPort = base + 11;
    n.watchdogPort = base + 12;
    n.heartbeatPort = base + 13;
    spec.nodes.push_back(n);
  }
  spec.primary = nodes_.empty() ? "" : nodes_[0].name;
  return spec;
}

ClusterSpec PgTestCluster::MakeSpecOnFreePorts() const {
  ClusterSpec spec = MakeSpec(0);
  spec.api.controllerPort = FreePort();
  for (auto& n : spec.nodes) {
    n.proxyPort = FreePort();
    n.apiPort = FreePort();
    n.watchdogPort = FreePort();
    n.heartbeatPort = FreePort();
  }
  return spec;
}

}  // namespace pgvigil::testing
