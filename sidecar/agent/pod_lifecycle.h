// pgvigil-sidecar --kubernetes (KUBERNETES.md §4.5.2): the sidecar is the pod's
// main process and so starts and stops its PostgreSQL itself.
//  * At start: a standby data directory (standby.signal / recovery.signal) is
//    started at once (it can do no harm: it only follows). A data directory that
//    is not in recovery is a primary's, maybe one a failover has replaced: it
//    starts only on the controller's `start` under the current term. No data
//    directory: the controller's init or rebuild creates one.
//  * After this node fenced itself (its write lease ran out as primary), it stays
//    stopped until a controller with a newer term acts on it: operations that
//    would run PostgreSQL (start, restart, promote, follow, rebuild) are refused
//    in the term of the fence and older (RefuseAfterSelfFence).
//  * SIGTERM: CHECKPOINT (a short shutdown checkpoint), fast stop, immediate if
//    that does not finish in its share of the grace period (ShutdownPostgres).
// The decisions are pure; StartAtBoot and ShutdownPostgres block (pg_ctl, libpq).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "sidecar/agent/local_postgres.h"
#include "sidecar/agent/op_request.h"

namespace pgvigil {

enum class BootAction { kNone, kStartStandby, kWaitForController, kAlreadyRunning };
const char* ToString(BootAction a);
BootAction DecideBootAction(bool data_dir, bool running, bool recovery_signal);

// Why `kind` in `op_term` must be refused on a node that fenced itself (when
// `fenced`) while the highest term it knew was `fenced_term`, or "".
std::string RefuseAfterSelfFence(OpKind kind, uint64_t op_term, bool fenced, uint64_t fenced_term);

// The self-fence record in the state directory (STATE/self-fenced: the term),
// kept across restarts of the pod: a recreated pod still refuses the old term.
Result<std::optional<uint64_t>> LoadSelfFenceRecord(const std::string& state_dir);
Status SaveSelfFenceRecord(const std::string& state_dir, uint64_t term);

// Starts the local PostgreSQL when DecideBootAction says so; logs what it does.
Status StartAtBoot(const LocalNode& node);

// CHECKPOINT, then pg_ctl stop -m fast; -m immediate when fast did not finish.
// Bounded by `budget` in total (the pod's termination grace period less a margin).
Status ShutdownPostgres(const LocalNode& node, std::chrono::seconds budget);

}  // namespace pgvigil
