// The init operation (POST /v1/node/init, KUBERNETES.md §4.4): the first
// instance of an empty cluster. initdb (superuser password from
// postgres.superuser.passwordFile), the replication settings and pg_hba
// (SCRAM for the replication user and everyone over TCP, trust only for the
// superuser on the Unix socket), pgvigil.conf, start as primary, then the
// replication user from postgres.replicationUser.
//
// Refused when the data directory holds anything that is not an unfinished
// init of this agent, or when PostgreSQL runs and no init is unfinished.
// Retry: STATE/init-unfinished is written before initdb and removed once
// everything is done ("configured" in it once initdb and the configuration
// files are complete). A retry that finds it resumes: a data directory not yet
// configured is removed and initdb runs again; a configured one is kept,
// started if stopped, and the replication user created or its password set.
#include <dirent.h>
#include <unistd.h>

#include "common/files.h"
#include "sidecar/agent/node_operations.h"
#include "sidecar/agent/postgres_parameters.h"

namespace pgvigil {

namespace {

// Whether `dir` is absent or an empty directory.
bool AbsentOrEmpty(const std::string& dir) {
  if (!PathExists(dir)) return true;
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

// A role name as an SQL identifier; a password as an SQL literal.
std::string Ident(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
std::string Literal(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string InitConf(int port) {
  return "\n# ---- pgvigil init (common to every instance; copied to standbys by pg_basebackup) ----\n"
         "listen_addresses = '*'\n"
         "port = " + std::to_string(port) + "\n"
         "password_encryption = scram-sha-256\n"
         "wal_level = replica\nwal_log_hints = on\nhot_standby = on\n"
         "max_wal_senders = 10\nmax_replication_slots = 10\nwal_keep_size = 256MB\n";
}

std::string InitHba(const std::string& superuser, const std::string& repl) {
  return "# pgvigil init: trust only for the superuser over the Unix socket, SCRAM for everything else.\n"
         "local   all          " + superuser + "  trust\n"
         "local   replication  " + superuser + "  trust\n"
         "local   all          all  scram-sha-256\n"
         "host    replication  " + repl + "  all  scram-sha-256\n"
         "host    all          all  all  scram-sha-256\n";
}

}  // namespace

Status NodeOperations::Init(PgTools& t, Operation& op) {
  const std::string dir = node_.dataDir;
  const std::string marker = node_.stateDir + "/init-unfinished";
  if (node_.stateDir.empty()) return Status::Error("init needs a state directory");
  const bool resuming = PathExists(marker);
  op.SetStep("inspect");
  auto st = t.RunState();
  if (!st.ok()) return st.status().Context("checking whether PostgreSQL runs");
  const bool running = *st == PgRunState::kRunning;
  if (!resuming) {
    if (running) return Status::Error("refused: PostgreSQL runs on this node; init only creates a new cluster");
    if (!AbsentOrEmpty(dir))
      return Status::Error("refused: the data directory " + dir +
                           " is not empty; init only creates a new cluster (rebuild this node instead)");
  } else {
    op.Log("resuming an unfinished init (" + marker + ")");
  }
  const UserRef& su = node_.spec.postgres.superuser;
  const UserRef& repl = node_.spec.postgres.replicationUser;
  if (su.passwordFile.empty()) return Status::Error("postgres.superuser.passwordFile is required for init");
  if (repl.passwordFile.empty())
    return Status::Error("postgres.replicationUser.passwordFile is required for init");
  auto su_pw = ReadSecretFile(su.passwordFile);
  if (!su_pw.ok()) return su_pw.status().Context("superuser password");
  auto repl_pw = ReadSecretFile(repl.passwordFile);
  if (!repl_pw.ok()) return repl_pw.status().Context("replication user password");

  // The marker says "configured" once initdb and the configuration are complete.
  bool configured = false;
  if (resuming) {
    auto m = ReadFile(marker);
    configured = m.ok() && *m == "configured\n" && IsDataDir(dir);
  }
  if (!configured) {
    if (running) return Status::Error("PostgreSQL runs on an incomplete data directory " + dir);
    if (Status s = WriteFileAtomic(marker, "init\n", 0600); !s.ok()) return s;
    if (!AbsentOrEmpty(dir)) {
      op.Log("removing the data directory an earlier init left unfinished");
      if (Status s = RemoveTree(dir); !s.ok()) return s;
    }
    op.SetStep("initdb");
    // initdb runs as the OS user: the data directory is made theirs (its parent
    // may not be), and the password is a copy next to it that they may read.
    if (Status s = MakeDir(dir, 0700); !s.ok()) return s;
    if (Status s = ChownToUser(dir, node_.osUser); !s.ok()) return s;
    const std::string pwfile = dir + ".init-pw";
    if (Status s = WriteFileAtomic(pwfile, *su_pw + "\n", 0600); !s.ok()) return s;
    if (Status s = ChownToUser(pwfile, node_.osUser); !s.ok()) return s;
    Status s = t.Run({"initdb", "-D", dir, "-U", su.name, "--pwfile", pwfile, "--data-checksums",
                      "--no-locale", "-E", "UTF8", "--auth-local=trust", "--auth-host=scram-sha-256"},
                     std::chrono::minutes(5));
    ::unlink(pwfile.c_str());
    if (!s.ok()) return s;
    op.SetStep("configure");
    auto conf = ReadFile(dir + "/postgresql.conf");
    if (!conf.ok()) return conf.status();
    if (Status w = WriteFileAtomic(dir + "/postgresql.conf", *conf + InitConf(node_.port), 0600); !w.ok())
      return w;
    if (Status w = WriteFileAtomic(dir + "/pg_hba.conf", InitHba(su.name, repl.name), 0600); !w.ok())
      return w;
    for (const char* f : {"postgresql.conf", "pg_hba.conf"})
      if (Status c = ChownToUser(dir + "/" + f, node_.osUser); !c.ok()) return c;
    // Written last: the configuration is complete (a resumed init keeps this directory).
    if (Status w = WriteFileAtomic(marker, "configured\n", 0600); !w.ok()) return w;
    op.Log("initialised " + dir + " (superuser " + su.name + ", replication user " + repl.name + ")");
  }
  // postgres.parameters of the spec (pgvigil.conf, included from postgresql.conf).
  if (Status s = ParameterApplier(node_).Apply(); !s.ok()) op.Log("pgvigil.conf: " + s.message());
  if (!running) {
    op.SetStep("start");
    if (Status s = t.Start(); !s.ok()) return s;
  }
  op.SetStep("replication-user");
  auto self = node_.SelfConn();
  if (!self.ok()) return self.status();
  auto o = t.Observe();
  if (!o.ok()) return o.status().Context("after start");
  if (o->role != BackendRole::kPrimary) return Status::Error("PostgreSQL started but is not a primary");
  auto exists = QueryScalar(*self, "SELECT count(*) FROM pg_roles WHERE rolname = " + Literal(repl.name));
  if (!exists.ok()) return exists.status().Context("looking for the replication user");
  const std::string verb = *exists == "0" ? "CREATE" : "ALTER";
  if (Status s = ExecSql(*self, verb + " ROLE " + Ident(repl.name) + " WITH REPLICATION LOGIN PASSWORD " +
                                    Literal(*repl_pw));
      !s.ok())
    return s.Context(verb + " ROLE " + repl.name);
  ::unlink(marker.c_str());
  op.Log("running as primary; replication user " + repl.name + " ready");
  return Status::Ok();
}

}  // namespace pgvigil
