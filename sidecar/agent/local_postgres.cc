#include "sidecar/agent/local_postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/files.h"

namespace pgvigil {

std::optional<NodeSpec> LocalNode::Member(const std::string& node_name) const {
  if (membership) return membership->Find(node_name);
  const NodeSpec* n = spec.FindNode(node_name);
  return n ? std::optional<NodeSpec>(*n) : std::nullopt;
}

LocalNode LocalNode::From(const ClusterSpec& spec, const std::string& node,
                          const std::string& state_dir) {
  LocalNode n;
  n.spec = spec;
  n.name = node;
  n.stateDir = state_dir;
  const NodeSpec* self = spec.FindNode(node);
  if (self) {
    n.dataDir = spec.DataDir(*self);
    n.host = self->host;
    n.port = spec.PgPort(*self);
  }
  while (n.dataDir.size() > 1 && n.dataDir.back() == '/') n.dataDir.pop_back();
  n.binDir = spec.postgres.binDirectory;
  n.osUser = spec.postgres.osUser;
  return n;
}

namespace {

Result<ConnParams> MakeConn(const ClusterSpec& spec, const std::string& host, int port,
                            const UserRef& user, const std::string& app) {
  ConnParams p;
  p.host = host;
  p.port = port;
  p.user = user.name;
  p.dbname = spec.healthCheck.database;
  p.connectTimeoutMs = static_cast<int>(spec.healthCheck.timeout.count());
  p.applicationName = app;
  if (!user.passwordFile.empty()) {
    auto pw = ReadSecretFile(user.passwordFile);
    if (!pw.ok()) return pw.status().Context("password of " + user.name);
    p.password = *pw;
  }
  return p;
}

}  // namespace

Result<ConnParams> LocalNode::SelfConn() const {
  return MakeConn(spec, host, port, spec.postgres.superuser, "pgvigil-agent");
}

Result<ConnParams> LocalNode::PeerConn(const NodeSpec& peer, bool replication) const {
  return MakeConn(spec, peer.host, spec.PgPort(peer),
                  replication ? spec.postgres.replicationUser : spec.postgres.superuser, name);
}

void MarkInheritedFdsCloseOnExec() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return;
  int self = dirfd(d);
  while (dirent* e = readdir(d)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == self) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  closedir(d);
}

int KillStrayCopies(const std::vector<std::string>& paths) {
  std::vector<pid_t> stray;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == getpid()) continue;
    auto cmd = ReadFile(std::string("/proc/") + e->d_name + "/cmdline");
    if (!cmd.ok() || cmd->empty()) continue;
    std::vector<std::string> argv;
    size_t start = 0;
    for (size_t i = 0; i <= cmd->size(); ++i) {
      if (i == cmd->size() || (*cmd)[i] == '\0') {
        if (i > start) argv.push_back(cmd->substr(start, i - start));
        start = i + 1;
      }
    }
    if (argv.empty()) continue;
    std::string prog = argv[0].substr(argv[0].rfind('/') + 1);
    if (prog != "pg_basebackup" && prog != "pg_rewind") continue;
    bool ours = false;
    for (const auto& a : argv)
      for (const auto& p : paths) ours = ours || a == p;
    if (ours) stray.push_back(pid);
  }
  closedir(d);
  for (pid_t pid : stray) {
    spdlog::warn("agent: killing stray copy process (pid {}) left by an earlier rebuild", pid);
    ::kill(pid, SIGKILL);
  }
  for (pid_t pid : stray)
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) {
      // Not our child (its parent died): it is reaped by init; wait for it to go.
      if (ProcessGone(pid)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  return static_cast<int>(stray.size());
}

Status PgTools::Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                    const std::map<std::string, std::string>& env,
                    const std::function<void(const std::string&)>& on_line) {
  std::vector<std::string> full = argv;
  full[0] = node_.binDir + "/" + argv[0];
  ProcessOptions o;
  o.timeout = timeout;
  o.runAsUser = node_.osUser;
  o.env = env;
  o.workingDirectory = "/";
  Operation* op = op_;
  std::string tool = argv[0];
  o.onOutputLine = [op, on_line, tool](const std::string& line) {
    if (on_line) on_line(line);
    if (op) op->Log(tool + ": " + line);
  };
  if (op_) {
    std::string cmd;
    for (const auto& a : full) cmd += (cmd.empty() ? "" : " ") + a;
    op_->Log("run: " + cmd);
  }
  MarkInheritedFdsCloseOnExec();
  auto r = RunProcess(full, o);
  if (!r.ok()) return r.status().Context(tool);
  if (!r->success()) return Status::Error(tool + " " + r->Describe() + ": " + r->outputTail);
  return Status::Ok();
}

Result<PgRunState> PgTools::RunState() {
  // What `pg_ctl status` decides, without a child process (an operation's first
  // step; a failover waits on it), with /proc's view of the pid (postmaster_lock.h).
  if (!IsDataDir(node_.dataDir)) return PgRunState::kNoDataDir;
  PostmasterLook look = LookAtPostmaster(node_.dataDir);
  if (look.judgement.stale()) {
    Status s = RemoveStalePidFile(node_.dataDir, look.text);
    Note("stale postmaster.pid (" + std::string(ToString(look.judgement.verdict)) + "): " +
         look.judgement.reason + "; " +
         (s.ok() ? "removed it" : "not removed: " + s.message()));
  }
  return look.judgement.running() ? PgRunState::kRunning : PgRunState::kStopped;
}

void PgTools::Note(const std::string& line) {
  if (op_) op_->Log(line);
  else spdlog::warn("agent: {}", line);
}

Result<ControlData> PgTools::ReadControlData(const std::string& dir) {
  ProcessOptions o;
  o.timeout = std::chrono::seconds(30);
  o.runAsUser = node_.osUser;
  o.workingDirectory = "/";
  o.tailLines = 400;  // the whole output
  auto r = RunProcess({node_.binDir + "/pg_controldata", "-D", dir}, o);
  if (!r.ok()) return r.status();
  if (!r->success())
    return Result<ControlData>::Error("pg_controldata " + r->Describe() + ": " + r->outputTail);
  auto c = ParseControlData(r->outputTail);
  if (!c) return Result<ControlData>::Error("pg_controldata: unexpected output");
  return *c;
}

Status PgTools::Start() {
  // pg_ctl opens the log as the OS user; make sure it exists and is theirs.
  if (!PathExists(node_.logFile())) {
    if (Status s = WriteFileAtomic(node_.logFile(), "", 0600); !s.ok()) return s;
  }
  if (geteuid() == 0) (void)ChownToUser(node_.logFile(), node_.osUser);
  return Run({"pg_ctl", "start", "-D", node_.dataDir, "-l", node_.logFile(), "-w", "-t", "600"},
             std::chrono::seconds(620));
}

Status PgTools::Stop(const std::string& mode) {
  auto state = RunState();
  if (state.ok() && *state != PgRunState::kRunning) {
    Note("PostgreSQL is not running: nothing to stop");
    return Status::Ok();
  }
  Status s = Run({"pg_ctl", "stop", "-D", node_.dataDir, "-m", mode, "-w", "-t", "300"},
                 std::chrono::seconds(320));
  if (s.ok()) return s;
  // pg_ctl waits for the lock file to go; a postmaster that died meanwhile (a
  // zombie until reaped) never removes it.
  state = RunState();
  if (state.ok() && *state != PgRunState::kRunning) {
    Note("pg_ctl stop failed, but the postmaster is no longer running: stopped");
    return Status::Ok();
  }
  return s;
}

Status PgTools::Restart(const std::string& mode) {
  return Run({"pg_ctl", "restart", "-D", node_.dataDir, "-m", mode, "-l", node_.logFile(), "-w",
              "-t", "600"},
             std::chrono::seconds(620));
}

Result<PgObservation> PgTools::Promote(bool* already_primary) {
  *already_primary = false;
  auto p = node_.SelfConn();
  if (p.ok()) {
    PromoteOutcome outcome;
    auto o = PromoteAndWait(*p, promoteWait_, &outcome);
    *already_primary = outcome == PromoteOutcome::kAlreadyPrimary;
    if (o.ok() || outcome == PromoteOutcome::kAlreadyPrimary) return o;
    // Signalled but not seen finished: the signal file may still be acted on later.
    if (outcome == PromoteOutcome::kPromoted) return SettlePromotion(o.error());
    spdlog::warn("agent: promotion over SQL not possible ({}); using pg_ctl promote", o.error());
  }
  // Fallback: pg_ctl (signal file + SIGUSR1), then a look.
  const auto wait_s = std::max<long long>(
      1, std::chrono::ceil<std::chrono::seconds>(promoteWait_).count());
  if (Status s = Run({"pg_ctl", "promote", "-D", node_.dataDir, "-w", "-t", std::to_string(wait_s)},
                     std::chrono::seconds(wait_s + 10));
      !s.ok())
    return SettlePromotion("pg_ctl promote: " + s.message());
  return Observe();
}

Result<PgObservation> PgTools::SettlePromotion(const std::string& why) {
  auto triggered = [this]() -> Result<bool> {
    auto p = node_.SelfConn();
    if (!p.ok()) return p.status();
    return PromoteTriggered(*p);
  };
  auto o = SettleUnfinishedPromotion(node_.dataDir, why, [this] { return Observe(); }, triggered, settle_,
                                     [this](const std::string& line) { Note(line); });
  if (!o.ok()) Note(o.error());
  return o;
}

Result<PgObservation> PgTools::Observe() {
  auto p = node_.SelfConn();
  if (!p.ok()) return p.status();
  return ObservePostgres(*p);
}

Status PgTools::WaitStreaming(const NodeSpec& primary, std::chrono::seconds timeout) {
  int want_port = node_.spec.PgPort(primary);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no observation";
  while (std::chrono::steady_clock::now() < deadline) {
    auto o = Observe();
    if (o.ok()) {
      if (o->role != BackendRole::kStandby) return Status::Error("this node is not in recovery");
      if (o->walReceiver == "streaming" && o->upstreamPort == want_port) {
        if (op_) op_->Log("streaming from " + o->upstreamHost + ":" + std::to_string(o->upstreamPort) +
                          " on timeline " + std::to_string(o->timeline));
        return Status::Ok();
      }
      last = "WAL receiver '" + o->walReceiver + "' upstream " + o->upstreamHost + ":" +
             std::to_string(o->upstreamPort);
    } else {
      last = o.error();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return Status::Error("not streaming from " + primary.name + " after " +
                       std::to_string(timeout.count()) + " s (last: " + last + ")");
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

PidProcessFacts ReadPidProcessFacts(long pid, const std::string& data_dir) {
  PidProcessFacts f;
  if (pid <= 0) return f;
  f.isSelf = pid == ::getpid() || pid == ::getppid();
  f.exists = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  if (!f.exists) return f;
  const std::string proc = "/proc/" + std::to_string(pid);
  if (auto stat = ReadFile(proc + "/stat"); stat.ok()) f.state = ParseProcStatState(*stat);
  if (auto comm = ReadFile(proc + "/comm"); comm.ok()) {
    f.comm = *comm;
    while (!f.comm.empty() && f.comm.back() == '\n') f.comm.pop_back();
  }
  char buf[4096];
  const ssize_t n = ::readlink((proc + "/cwd").c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    f.cwdKnown = true;
    f.cwd.assign(buf, static_cast<size_t>(n));
    struct stat cwd_st, dir_st;
    f.cwdIsDataDir = !data_dir.empty() && ::stat((proc + "/cwd").c_str(), &cwd_st) == 0 &&
                     ::stat(data_dir.c_str(), &dir_st) == 0 && cwd_st.st_dev == dir_st.st_dev &&
                     cwd_st.st_ino == dir_st.st_ino;
  }
  return f;
}

bool ProcessGone(long pid) {
  const PidProcessFacts f = ReadPidProcessFacts(pid);
  return !f.exists || f.state == 'Z' || f.state == 'X';
}

PostmasterLook LookAtPostmaster(const std::string& data_dir) {
  PostmasterLook l;
  auto text = ReadFile(data_dir + "/postmaster.pid");
  l.present = text.ok() || PathExists(data_dir + "/postmaster.pid");
  if (text.ok()) l.text = *text;
  const auto content = ParsePidFile(l.text);
  PidProcessFacts facts;
  if (content) facts = ReadPidProcessFacts(content->pid, data_dir);
  l.judgement = JudgePostmaster(l.present, content, facts, data_dir);
  return l;
}

Status RemoveStalePidFile(const std::string& data_dir, const std::string& text) {
  const std::string path = data_dir + "/postmaster.pid";
  auto now = ReadFile(path);
  if (!now.ok()) return Status::Ok();  // gone already
  if (*now != text) return Status::Error(path + " changed (a new postmaster?)");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status::Error("unlink " + path + ": " + std::strerror(errno));
  // The socket's lock file names the same pid: postgres would refuse it as well.
  const auto content = ParsePidFile(text);
  const std::string socket_lock = content ? SocketLockPath(*content) : "";
  if (socket_lock.empty()) return Status::Ok();
  auto lock = ReadFile(socket_lock);
  const auto lock_content = lock.ok() ? ParsePidFile(*lock) : std::nullopt;
  if (!lock_content || lock_content->pid != content->pid) return Status::Ok();
  if (::unlink(socket_lock.c_str()) != 0 && errno != ENOENT)
    return Status::Error("unlink " + socket_lock + ": " + std::strerror(errno));
  return Status::Ok();
}

bool IsDataDir(const std::string& path) {
  return PathExists(path + "/PG_VERSION") && PathExists(path + "/global/pg_control");
}

bool HasRecoverySignal(const std::string& data_dir) {
  return PathExists(data_dir + "/standby.signal") || PathExists(data_dir + "/recovery.signal");
}

namespace {
Status CheckPath(const std::string& path) {
  if (path.empty() || path == "/" || path.find("/../") != std::string::npos)
    return Status::Error("refusing to touch path '" + path + "'");
  return Status::Ok();
}
}  // namespace

Status RemoveTree(const std::string& path) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  if (!PathExists(path)) return Status::Ok();
  ProcessOptions o;
  o.timeout = std::chrono::minutes(30);
  auto r = RunProcess({"rm", "-rf", "--one-file-system", "--", path}, o);
  if (!r.ok()) return r.status().Context("rm " + path);
  if (!r->success()) return Status::Error("rm -rf " + path + ": " + r->Describe() + " " + r->outputTail);
  return Status::Ok();
}

Status RenamePath(const std::string& from, const std::string& to) {
  if (Status s = CheckPath(from); !s.ok()) return s;
  if (Status s = CheckPath(to); !s.ok()) return s;
  if (::rename(from.c_str(), to.c_str()) != 0)
    return Status::Error("rename " + from + " -> " + to + ": " + std::strerror(errno));
  return Status::Ok();
}

Status ChownToUser(const std::string& path, const std::string& user, bool recursive) {
  if (geteuid() != 0) return Status::Ok();  // not root: files are already ours
  if (Status s = CheckPath(path); !s.ok()) return s;
  if (recursive) {
    ProcessOptions o;
    o.timeout = std::chrono::minutes(30);
    auto r = RunProcess({"chown", "-R", "--", user + ":", path}, o);
    if (!r.ok()) return r.status();
    if (!r->success()) return Status::Error("chown -R " + path + ": " + r->outputTail);
    return Status::Ok();
  }
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &found) != 0 || !found)
    return Status::Error("no such OS user '" + user + "'");
  if (::lchown(path.c_str(), pw.pw_uid, pw.pw_gid) != 0)
    return Status::Error("chown " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Status CopyFile(const std::string& from, const std::string& to) {
  auto content = ReadFile(from);
  if (!content.ok()) return content.status();
  return WriteFileAtomic(to, *content, 0600);
}

Status MakeDir(const std::string& path, int mode) {
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
    return Status::Error("mkdir " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace pgvigil
