// This node's PostgreSQL as the node agent drives it: paths, the OS account,
// pg_ctl / pg_controldata wrappers and the file moves of a rebuild. Every call
// blocks (processes with timeouts, libpq): use from an operation thread only.
// PgTools is used by one operation at a time; LocalNode is a plain value.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/result.h"
#include "common/spec.h"
#include "sidecar/live_membership.h"
#include "sidecar/agent/operations.h"
#include "sidecar/agent/pg_output_parse.h"
#include "sidecar/agent/pg_status_query.h"
#include "sidecar/agent/promote_withdraw.h"
#include "sidecar/agent/postmaster_lock.h"

namespace pgvigil {

struct LocalNode {
  ClusterSpec spec;  // as the sidecar started; the members now: Member()
  // The members in use (PUT /v1/node/spec); null: spec.nodes.
  std::shared_ptr<LiveMembership> membership;
  std::string name;
  std::string stateDir;
  std::string dataDir;
  std::string binDir;
  std::string osUser;  // account that runs PostgreSQL (used when we are root)
  std::string host;
  int port = 0;

  static LocalNode From(const ClusterSpec& spec, const std::string& node, const std::string& state_dir);
  // A member by name as the membership is now (a follow or rebuild source may
  // have joined after the start); nullopt when not a member.
  std::optional<NodeSpec> Member(const std::string& node_name) const;
  std::string logFile() const { return dataDir + ".log"; }       // pg_ctl -l
  std::string newDir() const { return dataDir + ".pgvigil-new"; }  // basebackup target
  std::string oldDir() const { return dataDir + ".pgvigil-old"; }  // old data kept aside
  std::string savedConfigDir() const { return stateDir + "/rebuild-config"; }
  std::string markerFile() const { return stateDir + "/rebuild.json"; }
  // libpq parameters: this node as superuser, a peer as superuser or replication user.
  Result<ConnParams> SelfConn() const;
  Result<ConnParams> PeerConn(const NodeSpec& peer, bool replication) const;
};

enum class PgRunState { kRunning, kStopped, kNoDataDir };

class PgTools {
 public:
  PgTools(const LocalNode& node, Operation* op) : node_(node), op_(op) {}

  // Runs binDir/argv[0] as the OS user, every output line into the operation log
  // (and to on_line). Fails with the exit description and output tail.
  Status Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
             const std::map<std::string, std::string>& env = {},
             const std::function<void(const std::string&)>& on_line = nullptr);

  // As pg_ctl status, in-process, but a lock file naming a postmaster that is
  // gone, a zombie or another process counts as stopped, and is removed
  // (logged): pg_ctl, postgres and pg_rewind would wait for it or refuse.
  Result<PgRunState> RunState();
  Result<ControlData> ReadControlData(const std::string& dir);
  Status Start();                            // pg_ctl start -w, log to logFile()
  // pg_ctl stop -m MODE -w when RunState says running; a postmaster that
  // exits while pg_ctl waits (a zombie: pg_ctl would wait forever) is stopped.
  Status Stop(const std::string& mode);
  Status Restart(const std::string& mode);   // pg_ctl restart -m MODE -w
  // Promotes over one SQL connection (pg_ctl promote when SQL cannot signal);
  // the status seen once it accepts writes. *already_primary: nothing was done.
  // Not finished within promoteWait: the promotion is withdrawn (its signal file
  // removed) or, when PostgreSQL already took it, waited for (promote_withdraw.h).
  Result<PgObservation> Promote(bool* already_primary);
  // Tests shorten the waits.
  void SetPromoteWaits(std::chrono::milliseconds promote_wait, const PromoteSettleOptions& settle) {
    promoteWait_ = promote_wait;
    settle_ = settle;
  }
  // Running + role: kUnknown when running but not answering.
  Result<PgObservation> Observe();
  // Polls until this node streams WAL from `primary` (port and state "streaming").
  Status WaitStreaming(const NodeSpec& primary, std::chrono::seconds timeout);

 private:
  void Note(const std::string& line);  // the operation's log, else the sidecar's
  Result<PgObservation> SettlePromotion(const std::string& why);
  const LocalNode& node_;
  Operation* op_;
  std::chrono::milliseconds promoteWait_ = std::chrono::seconds(120);
  PromoteSettleOptions settle_;
};

// Sets FD_CLOEXEC on every open descriptor above 2, so that a server started
// through pg_ctl does not inherit the sidecar's sockets (a postmaster holding
// the REST or proxy listening socket would keep the port after the sidecar
// exits). Workaround until RunProcess closes descriptors in the child itself;
// sockets opened concurrently by other threads can still slip through.
void MarkInheritedFdsCloseOnExec();

// Kills (SIGKILL, by pid) pg_basebackup / pg_rewind processes left running by an
// earlier, killed sidecar whose arguments name one of `paths`, and waits until
// they are gone. Returns how many there were.
int KillStrayCopies(const std::vector<std::string>& paths);

// The lock file (postmaster.pid) of `data_dir` as read now, and whether its
// postmaster runs (postmaster_lock.h; facts from kill(pid, 0) and /proc).
struct PostmasterLook {
  bool present = false;
  std::string text;  // the lock file's content
  PostmasterJudgement judgement;
};
PostmasterLook LookAtPostmaster(const std::string& data_dir);
// What /proc says about `pid`; cwdIsDataDir compares with `data_dir` ("": no comparison).
PidProcessFacts ReadPidProcessFacts(long pid, const std::string& data_dir = "");
// Exited: no such pid, or a zombie.
bool ProcessGone(long pid);
// Removes `data_dir`'s lock file if it still holds `text` (a new postmaster
// writes a new one), and the socket's lock file when it names the same pid. A postmaster whose lock file was taken shuts itself down
// at its next check (PostgreSQL rechecks it every minute).
Status RemoveStalePidFile(const std::string& data_dir, const std::string& text);

// File helpers (root-safe: refuse empty paths and "/"); errors name the path.
bool PathExists(const std::string& path);
bool IsDataDir(const std::string& path);  // has PG_VERSION and global/pg_control
// standby.signal or recovery.signal is in it: PostgreSQL starts in recovery
// there (it removes them before it accepts writes).
bool HasRecoverySignal(const std::string& data_dir);
Status RemoveTree(const std::string& path);
Status RenamePath(const std::string& from, const std::string& to);
Status ChownToUser(const std::string& path, const std::string& user, bool recursive = false);
Status CopyFile(const std::string& from, const std::string& to);
Status MakeDir(const std::string& path, int mode);

}  // namespace pgvigil
