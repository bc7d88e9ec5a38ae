// Whether the postmaster named by a data directory's lock file (postmaster.pid)
// still runs: pure judgement from the file's content and what /proc says about
// its pid, so every case is table-tested. The I/O (reading the file and /proc,
// removing a stale file) is in local_postgres.cc (LookAtPostmaster).
//
// After a crash the lock file stays behind. `pg_ctl stop` and `postgres` only
// ask whether the pid exists, so a pid that is now a zombie (killed, not yet
// reaped by its new parent), a recycled pid (another program, or a process of
// a restarted container's new pid namespace) or this process make them wait
// for a shutdown that never comes, or refuse to start. Here those count as
// stopped, and the file as stale: it may be removed (PostgreSQL itself removes
// a lock file whose pid is gone). A process whose working directory is the data
// directory and whose name is postgres is the postmaster (a postmaster works
// in its data directory); when /proc cannot tell, running is the safe answer.
#pragma once

#include <optional>
#include <string>

namespace pgvigil {

// The lock file's lines used here: the postmaster's pid (negative for a
// single-user backend), its data directory, port and first socket directory.
struct PidFileContent {
  long pid = 0;           // > 0
  std::string dataDir;    // line 2; lines may be missing in a cut file
  int port = 0;           // line 4
  std::string socketDir;  // line 5 (empty: no Unix socket)
};
// nullopt when the first line is not a pid (empty, cut or garbage).
std::optional<PidFileContent> ParsePidFile(const std::string& text);

// The lock file a postmaster keeps beside its Unix socket (same first line,
// same staleness), or "" when the lock file names no socket directory.
std::string SocketLockPath(const PidFileContent& c);

// What /proc says about the pid. Unknown fields stay empty/false.
struct PidProcessFacts {
  bool exists = false;  // kill(pid, 0) succeeds or fails with EPERM
  bool isSelf = false;  // this process or its parent
  char state = 0;       // /proc/PID/stat state ('Z' zombie, 'X' dead); 0 unknown
  std::string comm;     // /proc/PID/comm without the newline; "" unknown
  bool cwdKnown = false;      // /proc/PID/cwd could be read
  bool cwdIsDataDir = false;  // it is the data directory (same device and inode:
                              // aliases, bind mounts and mount namespaces agree)
  std::string cwd;            // its path, for messages
};
// The state letter of a /proc/PID/stat line ("123 (name) S 1 ..."), or 0.
char ParseProcStatState(const std::string& stat);

enum class PostmasterVerdict {
  kNoPidFile,      // no lock file: stopped
  kUnreadable,     // a lock file without a pid: not running, left alone (PostgreSQL refuses to start over it)
  kRunning,        // its postmaster (or a process /proc cannot tell apart) runs
  kGone,           // the pid does not exist
  kZombie,         // the pid has exited and waits to be reaped
  kNotPostmaster,  // the pid is another process (recycled, this process)
};
const char* ToString(PostmasterVerdict v);

struct PostmasterJudgement {
  PostmasterVerdict verdict = PostmasterVerdict::kNoPidFile;
  std::string reason;  // one line for logs
  bool running() const { return verdict == PostmasterVerdict::kRunning; }
  // The lock file names a postmaster that is not running: safe to remove.
  bool stale() const {
    return verdict == PostmasterVerdict::kGone || verdict == PostmasterVerdict::kZombie ||
           verdict == PostmasterVerdict::kNotPostmaster;
  }
};

// `file`: the lock file's parsed content, or nullopt when it has none;
// `present`: whether the lock file exists; `data_dir`: this node's data
// directory (for messages).
PostmasterJudgement JudgePostmaster(bool present, const std::optional<PidFileContent>& file,
                                    const PidProcessFacts& proc, const std::string& data_dir);

}  // namespace pgvigil
