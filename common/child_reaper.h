// Child processes when this process is PID 1 of a container (or a child
// subreaper): orphans (the postmaster that pg_ctl started and left) are
// reparented to us and must be reaped, or they stay zombies forever. A reaper
// thread calls waitpid(-1) for that, which would also collect the exit status
// of a child that RunProcess (common/process.h) is waiting for. So runners
// register the pids they start (Watch, under the fork lock, so no status can
// be reaped before its pid is known), and the reaper keeps a watched pid's
// status for its runner (TryReap) instead of dropping it.
//
// Without a reaper (the VM sidecar, the controller, tests) every call behaves
// as plain waitpid(pid, WNOHANG). Process-wide; thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>

#include "common/result.h"

namespace pgvigil::child_reaper {

// Held across fork() and Watch(pid) by whoever starts a child it will wait for.
std::unique_lock<std::mutex> LockForFork();
// `pid` (just forked; the fork lock is held) will be waited for with TryReap.
void Watch(pid_t pid);
// Non-blocking: true with the wait status once the child has exited, whether it
// was reaped here or by the reaper thread (the watch ends then).
bool TryReap(pid_t pid, int* status);
// Blocks until TryReap succeeds (polling every few milliseconds).
int WaitFor(pid_t pid);

// Starts the reaper thread (once): reaps every child; watched pids' statuses are
// kept for TryReap, the rest are counted and logged at debug level. `subreaper`:
// also become the child subreaper (prctl PR_SET_CHILD_SUBREAPER) when not PID 1,
// so orphans of our children come to us as they would to PID 1.
Status StartReaper(bool subreaper);
// Stops the reaper thread (tests); watched pids fall back to plain waitpid.
void StopReaper();
// Orphans (unwatched children) reaped so far.
uint64_t OrphansReaped();

}  // namespace pgvigil::child_reaper
