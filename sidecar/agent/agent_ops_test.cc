// Node operations against real PostgreSQL 15 over the REST API: rebuild by
// pg_basebackup, promote + rebuild of the old primary by pg_rewind, follow
// without rebuild, an interrupted rebuild run again, refusals, a primary killed
// by SIGKILL whose lock file names a zombie or a recycled pid.
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "common/files.h"
#include "common/process.h"
#include "sidecar/agent/agent_test_env.h"
#include "sidecar/agent/local_postgres.h"

#include <libpq-fe.h>

namespace pgvigil::testing {
namespace {

std::string Str(const web::json::value& v, const char* field) {
  return v.has_field(field) && v.at(field).is_string() ? v.at(field).as_string() : "";
}

std::string LogText(const web::json::value& op) {
  std::string out;
  if (op.has_field("log"))
    for (const auto& l : op.at("log").as_array()) out += l.as_string() + "\n";
  return out;
}

// Starts an operation and returns its id ("" on failure, with the reply in *reply).
std::string StartOp(AgentTestEnv& env, int node, const std::string& op, const std::string& body,
                    HttpReply* reply = nullptr) {
  HttpReply r = env.Op(node, op, body);
  if (reply) *reply = r;
  if (r.status != 202) {
    ADD_FAILURE() << op << " -> " << r.status << " " << r.body;
    return "";
  }
  return Str(r.json(), "id");
}

web::json::value RunOp(AgentTestEnv& env, int node, const std::string& op, const std::string& body) {
  std::string id = StartOp(env, node, op, body);
  if (id.empty()) return web::json::value::null();
  return env.WaitOperation(node, id);
}

bool Eventually(const std::function<bool()>& pred) { return AgentTestEnv::WaitFor(pred, 30000); }

bool HasRows(PgTestCluster& c, int node, const std::string& table, const std::string& count) {
  return Eventually([&] {
    auto r = c.Query(node, "SELECT count(*) FROM " + table);
    return r.ok() && *r == count;
  });
}

// Whether the postmaster of `data_dir` has a TCP socket bound to local `port`.
bool PostmasterHoldsPort(const std::string& data_dir, int port) {
  std::ifstream pidf(data_dir + "/postmaster.pid");
  pid_t pid = 0;
  if (!(pidf >> pid) || pid <= 0) return false;
  char hex[8];
  std::snprintf(hex, sizeof hex, ":%04X", port);
  std::set<std::string> inodes;  // socket inodes bound to the port
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
      if (local.size() > 5 && local.substr(local.size() - 5) == hex) inodes.insert(inode);
    }
  }
  std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(fd_dir.c_str());
  if (!d) return false;
  bool held = false;
  while (dirent* ent = readdir(d)) {
    char target[256];
    ssize_t n = readlink((fd_dir + "/" + ent->d_name).c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = 0;
    std::string t = target;  // "socket:[12345]"
    if (t.rfind("socket:[", 0) == 0 && inodes.count(t.substr(8, t.size() - 9))) held = true;
  }
  closedir(d);
  return held;
}

TEST(AgentOps, RebuildEmptyNodeByBasebackup) {
  PgTestCluster::Options o;
  o.nodes = 2;
  o.standbys = false;  // node1 has no data directory at all
  auto e = AgentTestEnv::Create(o, {1});
  ASSERT_TRUE(e.ok()) << e.error();
  auto& env = **e;
  auto& c = env.cluster();
  ASSERT_TRUE(c.Query(0, "CREATE TABLE before_rebuild AS SELECT g FROM generate_series(1, 1000) g").ok());
  auto op = RunOp(env, 1, "rebuild", R"({"term": 1, "primary": "node0"})");
  ASSERT_EQ(Str(op, "state"), "succeeded") << op.serialize();
  EXPECT_EQ(Str(op, "method"), "basebackup");
  EXPECT_EQ(op.at("progress").at("percent").as_integer(), 100);
  EXPECT_GT(op.at("progress").at("doneBytes").as_number().to_uint64(), 1000000u);
  EXPECT_EQ(op.at("progress").at("doneBytes").as_number().to_uint64(),
            op.at("progress").at("totalBytes").as_number().to_uint64());
  ASSERT_TRUE(c.WaitStreaming(0, 1).ok());
  EXPECT_EQ(*c.Query(1, "SELECT pg_is_in_recovery()"), "t");
  EXPECT_TRUE(HasRows(c, 1, "before_rebuild", "1000"));
  ASSERT_TRUE(c.Query(0, "CREATE TABLE after_rebuild AS SELECT 1 AS x").ok());
  EXPECT_TRUE(HasRows(c, 1, "after_rebuild", "1"));
  // Nothing left aside once the new directory runs as a standby.
  const std::string data = c.nodes()[1].dataDir;
  EXPECT_FALSE(access((data + ".pgvigil-new").c_str(), F_OK) == 0);
  EXPECT_FALSE(access((data + ".pgvigil-old").c_str(), F_OK) == 0);
  // Probes agree.
  EXPECT_TRUE(Eventually([&] { return env.Get(1, "/replica").status == 200; }));
  // The PostgreSQL the agent started does not hold the agent's REST port.
  EXPECT_FALSE(PostmasterHoldsPort(data, env.apiPort(1)));
}

// Init (KUBERNETES.md §4.4): node1 has no data directory; node0's server is
// not involved. The replication user logs in over TCP with its secret.
TEST(AgentOps, InitEmptyNodeStartsPrimaryRefusesDataAndResumes) {
  PgTestCluster::Options o;
  o.nodes = 2;
  o.standbys = false;
  auto e = AgentTestEnv::Create(o, {1}, [&](ClusterSpec& spec) {
    spec.postgres.parameters["listen_addresses"] = "127.0.0.1";
    spec.postgres.parameters["unix_socket_directories"] = spec.DataDir(spec.nodes[1]) + ".run";
  });
  ASSERT_TRUE(e.ok()) << e.error();
  auto& env = **e;
  auto& c = env.cluster();
  const std::string data = c.nodes()[1].dataDir;
  const std::string state = env.ctx(1).stateDir;
  ASSERT_TRUE(MakeDir(data + ".run", 0755).ok());
  ASSERT_TRUE(ChownToUser(data + ".run", "postgres").ok());
  // Anything in the data directory: refused, left as it was.
  ASSERT_TRUE(MakeDir(data, 0700).ok());
  ASSERT_TRUE(WriteFileAtomic(data + "/someone-elses", "x").ok());
  auto refused = RunOp(env, 1, "init", R"({"term": 1})");
  EXPECT_EQ(Str(refused, "state"), "failed") << refused.serialize();
  EXPECT_NE(Str(refused, "error").find("not empty"), std::string::npos) << refused.serialize();
  EXPECT_TRUE(PathExists(data + "/someone-elses"));
  ASSERT_EQ(::unlink((data + "/someone-elses").c_str()), 0);

  auto op = RunOp(env, 1, "init", R"({"term": 1})");
  ASSERT_EQ(Str(op, "state"), "succeeded") << op.serialize();
  EXPECT_EQ(*c.Query(1, "SELECT pg_is_in_recovery()"), "f");
  EXPECT_EQ(*c.Query(1, "SHOW data_checksums"), "on");
  EXPECT_EQ(*c.Query(1, "SHOW wal_level"), "replica");
  EXPECT_EQ(*c.Query(1, "SELECT rolreplication FROM pg_roles WHERE rolname = 'repl'"), "t");
  PGconn* repl = PQconnectdb(("host=127.0.0.1 port=" + std::to_string(c.nodes()[1].port) +
                              " user=repl dbname=postgres replication=database password=" +
                              c.replPassword()).c_str());
  EXPECT_EQ(PQstatus(repl), CONNECTION_OK) << PQerrorMessage(repl);
  PQfinish(repl);
  PGconn* wrong = PQconnectdb(("host=127.0.0.1 port=" + std::to_string(c.nodes()[1].port) +
                               " user=repl dbname=postgres password=wrong").c_str());
  EXPECT_NE(PQstatus(wrong), CONNECTION_OK) << "pg_hba must ask for the password over TCP";
  PQfinish(wrong);
  EXPECT_FALSE(PathExists(state + "/init-unfinished"));
  EXPECT_TRUE(Eventually([&] { return env.Get(1, "/primary").status == 200; }));
  ASSERT_TRUE(c.Query(1, "CREATE TABLE after_init AS SELECT 1 AS x").ok());

  // A second init (the controller retrying after a lost reply): refused, data kept.
  auto again = RunOp(env, 1, "init", R"({"term": 1})");
  EXPECT_EQ(Str(again, "state"), "failed") << again.serialize();
  EXPECT_TRUE(HasRows(c, 1, "after_init", "1"));

  // Killed after initdb and the configuration, before the replication user:
  // resumed, the data directory kept and started.
  ASSERT_TRUE(c.StopNode(1, "fast").ok());
  ASSERT_TRUE(WriteFileAtomic(state + "/init-unfinished", "configured\n").ok());
  auto resumed = RunOp(env, 1, "init", R"({"term": 2})");
  ASSERT_EQ(Str(resumed, "state"), "succeeded") << resumed.serialize();
  EXPECT_NE(LogText(resumed).find("resuming"), std::string::npos);
  EXPECT_TRUE(HasRows(c, 1, "after_init", "1"));

  // Killed during initdb: the partial directory is removed and initdb runs again.
  ASSERT_TRUE(c.StopNode(1, "fast").ok());
  ASSERT_TRUE(RemoveTree(data).ok());
  ASSERT_TRUE(MakeDir(data, 0700).ok());
  ASSERT_TRUE(WriteFileAtomic(data + "/PG_VERSION", "15\n").ok());
  ASSERT_TRUE(WriteFileAtomic(state + "/init-unfinished", "init\n").ok());
  auto redone = RunOp(env, 1, "init", R"({"term": 3})");
  ASSERT_EQ(Str(redone, "state"), "succeeded") << redone.serialize();
  EXPECT_EQ(*c.Query(1, "SELECT pg_is_in_recovery()"), "f");
  EXPECT_EQ(*c.Query(1, "SELECT count(*) FROM pg_class WHERE relname = 'after_init'"), "0");
  ASSERT_TRUE(c.StopNode(1, "fast").ok());
}

TEST(AgentOps, PromoteStandbyThenRewindOldPrimary) {
  PgTestCluster::Options o;
  o.nodes = 2;
  auto e = AgentTestEnv::Create(o, {0, 1});
  ASSERT_TRUE(e.ok()) << e.error();
  auto& env = **e;
  auto& c = env.cluster();
  ASSERT_TRUE(c.Query(0, "CREATE TABLE t AS SELECT g FROM generate_series(1, 100) g").ok());
  ASSERT_TRUE(HasRows(c, 1, "t", "100"));

  auto promoted = RunOp(env, 1, "promote", R"({"term": 2})");
  ASSERT_EQ(Str(promoted, "state"), "succeeded") << promoted.serialize();
  EXPECT_EQ(*c.Query(1, "SELECT pg_is_in_recovery()"), "f");
  // The new primary takes writes; the old one (still running) diverges too.
  ASSERT_TRUE(c.Query(1, "INSERT INTO t SELECT g FROM generate_series(101, 250) g").ok());
  ASSERT_TRUE(c.Query(0, "CREATE TABLE diverged AS SELECT 1 AS x").ok());

  // The old primary is running: without "fenced" the rebuild is refused and
  // nothing is touched.
  ASSERT_TRUE(Eventually([&] { return env.Get(0, "/primary").status == 200; }));
  HttpReply refused = env.Op(0, "rebuild", R"({"term": 2, "primary": "node1"})");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(Str(refused.json(), "reason"), "running_primary_not_fenced");
  HttpReply stop_refused = env.Op(0, "stop", R"({"term": 2})");
  EXPECT_EQ(stop_refused.status, 409) << stop_refused.body;
  EXPECT_TRUE(c.IsRunning(0));
  EXPECT_EQ(*c.Query(0, "SELECT pg_is_in_recovery()"), "f");

  // Fenced in this term: stopped cleanly and rewound (checksums are on).
  auto rebuilt = RunOp(env, 0, "rebuild", R"({"term": 2, "primary": "node1", "fenced": true})");
  ASSERT_EQ(Str(rebuilt, "state"), "succeeded") << rebuilt.serialize();
  EXPECT_EQ(Str(rebuilt, "method"), "rewind") << LogText(rebuilt);
  EXPECT_NE(LogText(rebuilt).find("pg_rewind"), std::string::npos);
  EXPECT_EQ(LogText(rebuilt).find("falling back"), std::string::npos) << LogText(rebuilt);
  ASSERT_TRUE(c.WaitStreaming(1, 1).ok());
  EXPECT_EQ(*c.Query(0, "SELECT pg_is_in_recovery()"), "t");
  EXPECT_TRUE(HasRows(c, 0, "t", "250"));
  // The diverged write on the old primary is gone.
  EXPECT_FALSE(c.Query(0, "SELECT 1 FROM diverged").ok());
  // It kept its own configuration (its own port: it answers where it used to).
  EXPECT_TRUE(Eventually([&] { return env.Get(0, "/replica").status == 200; }));
}

TEST(AgentOps, FollowNewPrimaryWithoutRebuild) {
  PgTestCluster::Options o;
  o.nodes = 3;
  auto e = AgentTestEnv::Create(o, {1, 2});
  ASSERT_TRUE(e.ok()) << e.error();
  auto& env = **e;
  auto& c = env.cluster();
  ASSERT_TRUE(c.Query(0, "CREATE TABLE t AS SELECT 1 AS x").ok());
  ASSERT_TRUE(HasRows(c, 1, "t", "1"));
  ASSERT_TRUE(HasRows(c, 2, "t", "1"));
  // A file in node2's data directory shows that follow does not rebuild it.
  const std::string witness = c.nodes()[2].dataDir + "/pgvigil-test-witness";
  ASSERT_TRUE(WriteFileAtomic(witness, "kept\n").ok());
  // The primary goes away (clean shutdown: both standbys receive all its WAL).
  ASSERT_TRUE(c.StopNode(0, "fast").ok());
  auto promoted = RunOp(env, 1, "promote", R"({"term": 3})");
  ASSERT_EQ(Str(promoted, "state"), "succeeded") << promoted.serialize();

  auto followed = RunOp(env, 2, "follow", R"({"term": 3, "primary": "node1"})");
  ASSERT_EQ(Str(followed, "state"), "succeeded") << followed.serialize();
  EXPECT_NE(LogText(followed).find("reloaded"), std::string::npos) << LogText(followed);
  ASSERT_TRUE(c.WaitStreaming(1, 1).ok());
  ASSERT_TRUE(c.Query(1, "INSERT INTO t VALUES (2)").ok());
  EXPECT_TRUE(HasRows(c, 2, "t", "2"));
  EXPECT_TRUE(access(witness.c_str(), F_OK) == 0) << "follow rebuilt the data directory";
  auto tl = env.Get(2, "/v1/status").json();
  EXPECT_TRUE(Eventually([&] {
    auto s = env.Get(2, "/replica").json();
    return s.has_field("upstreamPort") && s.at("upstreamPort").as_integer() == c.nodes()[1].port &&
           s.at("timeline").as_integer() == 2;
  }));
}

// The pid of a pg_basebackup writing into `dir`, 0 when none.
// A pg_basebackup writing into `dir` (and whose arguments contain `also`, when given).
pid_t FindBasebackup(const std::string& dir, const std::string& also = "") {
  pid_t found = 0;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (dirent* ent = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(ent->d_name));
    if (pid <= 0) continue;
    std::ifstream in(std::string("/proc/") + ent->d_name + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (auto& ch : cmd)
      if (ch == '\0') ch = ' ';
    if (cmd.find("pg_basebackup") != std::string::npos && cmd.find(dir) != std::string::npos &&
        cmd.find(also) != std::string::npos) {
      found = pid;
      break;
    }
  }
  closedir(d);
  return found;
}

TEST(AgentOps, InterruptedRebuildRunsAgainAndKeepsOldDataUntilThen) {
  PgTestCluster::Options o;
  o.nodes = 2;
  auto e = AgentTestEnv::Create(o, {1});
  ASSERT_TRUE(e.ok()) << e.error();
  auto& env = **e;
  auto& c = env.cluster();
  ASSERT_TRUE(c.Query(0, "CREATE TABLE big AS SELECT g, repeat('x', 500) AS pad "
                         "FROM generate_series(1, 60000) g").ok());
  const std::string data = c.nodes()[1].dataDir;
  const std::string witness = data + "/pgvigil-test-witness";
  ASSERT_TRUE(WriteFileAtomic(witness, "old\n").ok());

  // A throttled basebackup, so that it can be caught half-way.
  HttpReply started;
  std::string id = StartOp(env, 1, "rebuild",
                           R"({"term": 5, "primary": "node0", "method": "basebackup", "maxRate": "4MB"})",
                           &started);
  ASSERT_FALSE(id.empty());
  // One operation at a time; older terms refused.
  HttpReply busy = env.Op(1, "start", R"({"term": 5})");
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(Str(busy.json(), "reason"), "busy");
  EXPECT_EQ(Str(busy.json(), "running"), id);
  HttpReply stale = env.Op(1, "start", R"({"term": 4})");
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(Str(stale.json(), "reason"), "stale_term");

  pid_t pid = 0;
  ASSERT_TRUE(AgentTestEnv::WaitFor(
      [&] {
        auto op = env.Get(1, "/v1/node/operations/" + id, env.token()).json();
        if (!op.has_field("progress") || op.at("progress").at("percent").as_integer() < 10) return false;
        pid = FindBasebackup(data + ".pgvigil-new");
        return pid > 0;
      },
      120000));
  auto mid = env.Get(1, "/v1/node/operations/" + id, env.token()).json();
  EXPECT_EQ(Str(mid, "step"), "basebackup");
  EXPECT_LT(mid.at("progress").at("percent").as_integer(), 100);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  auto failed = env.WaitOperation(1, id);
  ASSERT_EQ(Str(failed, "state"), "failed") << failed.serialize();
  EXPECT_NE(Str(failed, "error").find("signal 9"), std::string::npos) << Str(failed, "error");
  // The old data directory is untouched.
  EXPECT_TRUE(access(witness.c_str(), F_OK) == 0);

  // A sidecar killed during a basebackup leaves pg_basebackup running (it is in its
  // own process group): the killed copy's WAL-streaming child still runs. Stand
  // up one more, throttled, writing where a rebuild writes; it may give up at
  // once (the directory is not empty). Either way it must be running or gone
  // before the rebuild starts, or it would race the rebuild's fresh directory.
  std::atomic<bool> orphanDone{false};
  std::thread orphan([&] {
    ProcessOptions po;
    po.runAsUser = "postgres";
    po.env["PGPASSWORD"] = c.replPassword();
    po.timeout = std::chrono::minutes(5);
    (void)RunProcess({PgTestCluster::BinDir() + "/pg_basebackup", "-D", data + ".pgvigil-new", "-h",
                      "127.0.0.1", "-p", std::to_string(c.nodes()[0].port), "-U", "repl", "-X",
                      "stream", "-r", "1M", "-P"},
                     po);
    orphanDone = true;
  });
  ASSERT_TRUE(AgentTestEnv::WaitFor(
      [&] { return orphanDone || FindBasebackup(data + ".pgvigil-new", " -U repl ") > 0; }, 20000));
  ASSERT_TRUE(AgentTestEnv::WaitFor([&] { return FindBasebackup(data + ".pgvigil-new") > 0; }, 20000));

  auto again = RunOp(env, 1, "rebuild", R"({"term": 5, "primary": "node0", "method": "basebackup"})");
  orphan.join();
  ASSERT_EQ(Str(again, "state"), "succeeded") << again.serialize();
  EXPECT_EQ(again.at("progress").at("percent").as_integer(), 100);
  std::string log = LogText(again);
  // pg_basebackup -X stream runs as two processes; both go.
  EXPECT_NE(log.find("copy process(es) left by an interrupted rebuild"), std::string::npos) << log;
  EXPECT_EQ(FindBasebackup(data + ".pgvigil-new"), 0);
  EXPECT_NE(log.find("moved the old data directory aside"), std::string::npos) << log;
  EXPECT_NE(log.find("removed the old data directory"), std::string::npos) << log;
  // Kept until the new one streamed, then removed; the new one is a fresh copy.
  EXPECT_LT(log.find("moved the old data directory aside"), log.find("streaming from"));
  EXPECT_LT(log.find("streaming from"), log.find("removed the old data directory"));
  EXPECT_FALSE(access(witness.c_str(), F_OK) == 0);
  ASSERT_TRUE(c.WaitStreaming(0, 1).ok());
  EXPECT_TRUE(HasRows(c, 1, "big", "60000"));
}

// Live (not zombie) processes working in `dir`: a killed postmaster's children.
int LiveProcessesIn(const std::string& dir) {
  int n = 0;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    const long pid = std::atol(e->d_name);
    if (pid <= 0) continue;
    const PidProcessFacts f = ReadPidProcessFacts(pid, dir);
    if (f.exists && f.state != 'Z' && f.state != 'X' && f.cwdIsDataDir) ++n;
  }
  closedir(d);
  return n;
}

std::string FirstLineReplaced(const std::string& text, long pid) {
  return std::to_string(pid) + text.substr(text.find('\n'));
}

// A primary killed by SIGKILL (a crashed pod) whose postmaster is a zombie
// nobody has reaped yet (this machine's init takes ~2 s): the lock file names
// it, and `pg_ctl stop` would wait for it until its timeout. The rebuild under
// the new primary counts it as stopped, removes the stale lock file and
// rewinds. Then the lock file of the stopped standby names a recycled pid (a
// live sleep): `start` removes it too (postgres would refuse to start).
TEST(AgentOps, KilledPrimaryWithStaleLockFileIsRewoundAndStarts) {
  // Orphans (the postmaster pg_ctl leaves) come to this process, which does
  // not reap them: a killed postmaster stays a zombie.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  {
    PgTestCluster::Options o;
    o.nodes = 2;
    auto e = AgentTestEnv::Create(o, {0, 1});
    ASSERT_TRUE(e.ok()) << e.error();
    auto& env = **e;
    auto& c = env.cluster();
    const std::string data = c.nodes()[0].dataDir;
    ASSERT_TRUE(c.Query(0, "CREATE TABLE t AS SELECT g FROM generate_series(1, 100) g").ok());
    ASSERT_TRUE(HasRows(c, 1, "t", "100"));

    auto pidfile = ReadFile(data + "/postmaster.pid");
    ASSERT_TRUE(pidfile.ok());
    const pid_t pm = static_cast<pid_t>(std::atol(pidfile->c_str()));
    ASSERT_GT(pm, 0);
    ASSERT_EQ(kill(pm, SIGKILL), 0);
    // Its children notice and exit (a container runtime would kill them all).
    ASSERT_TRUE(AgentTestEnv::WaitFor([&] { return ProcessGone(pm) && LiveProcessesIn(data) == 0; }, 30000));
    ASSERT_EQ(kill(pm, 0), 0) << "a zombie: not reaped";
    ASSERT_EQ(LookAtPostmaster(data).judgement.verdict, PostmasterVerdict::kZombie);

    auto promoted = RunOp(env, 1, "promote", R"({"term": 2})");
    ASSERT_EQ(Str(promoted, "state"), "succeeded") << promoted.serialize();
    ASSERT_TRUE(c.Query(1, "INSERT INTO t SELECT g FROM generate_series(101, 250) g").ok());

    auto rebuilt = RunOp(env, 0, "rebuild", R"({"term": 2, "primary": "node1", "fenced": true})");
    ASSERT_EQ(Str(rebuilt, "state"), "succeeded") << rebuilt.serialize();
    const std::string log = LogText(rebuilt);
    EXPECT_NE(log.find("stale postmaster.pid"), std::string::npos) << log;
    EXPECT_NE(log.find("zombie"), std::string::npos) << log;
    EXPECT_EQ(Str(rebuilt, "method"), "rewind") << log;
    EXPECT_EQ(log.find("falling back"), std::string::npos) << log;
    ASSERT_TRUE(c.WaitStreaming(1, 1).ok());
    EXPECT_TRUE(HasRows(c, 0, "t", "250"));
    EXPECT_EQ(kill(pm, 0), 0) << "still the unreaped zombie";

    // Killed again and reaped; its lock file now names a live program.
    auto standby_pidfile = ReadFile(data + "/postmaster.pid");
    ASSERT_TRUE(standby_pidfile.ok());
    const pid_t pm2 = static_cast<pid_t>(std::atol(standby_pidfile->c_str()));
    ASSERT_EQ(kill(pm2, SIGKILL), 0);
    ASSERT_TRUE(AgentTestEnv::WaitFor([&] { return ProcessGone(pm2) && LiveProcessesIn(data) == 0; }, 30000));
    const pid_t sleeper = fork();
    if (sleeper == 0) {
      execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_GT(sleeper, 0);
    // The pid recycled: both lock files (data directory and socket) name it.
    const std::string socket_lock = SocketLockPath(*ParsePidFile(*standby_pidfile));
    ASSERT_FALSE(socket_lock.empty());
    auto socket_text = ReadFile(socket_lock);
    ASSERT_TRUE(socket_text.ok());
    auto recycle = [&] {
      ASSERT_TRUE(WriteFileAtomic(data + "/postmaster.pid", FirstLineReplaced(*standby_pidfile, sleeper), 0600).ok());
      ASSERT_TRUE(WriteFileAtomic(socket_lock, FirstLineReplaced(*socket_text, sleeper), 0600).ok());
    };
    recycle();
    auto stopped = RunOp(env, 0, "stop", R"({"term": 2, "fenced": true})");
    EXPECT_EQ(Str(stopped, "state"), "succeeded") << stopped.serialize();
    EXPECT_NE(LogText(stopped).find("already stopped"), std::string::npos) << LogText(stopped);
    EXPECT_FALSE(PathExists(socket_lock));
    recycle();
    auto started = RunOp(env, 0, "start", R"({"term": 2})");
    EXPECT_EQ(Str(started, "state"), "succeeded") << started.serialize();
    EXPECT_NE(LogText(started).find("not this data directory's postmaster"), std::string::npos)
        << LogText(started);
    EXPECT_TRUE(c.WaitStreaming(1, 1).ok());
    EXPECT_TRUE(HasRows(c, 0, "t", "250"));
    kill(sleeper, SIGKILL);
  }
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

}  // namespace
}  // namespace pgvigil::testing
