// What happens to a promotion that did not finish in time. pg_promote and
// pg_ctl promote leave the signal file <datadir>/promote; PostgreSQL's startup
// process acts on it whenever it next looks (after a lock wait in replay, say),
// so a promotion reported as failed could still complete later, beside the
// primary the controller picks next. The file is removed (withdrawn) instead;
// when it is already gone the startup process took it and the promotion is
// underway: it is waited for, with a long bound.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/result.h"
#include "sidecar/agent/pg_status_query.h"

namespace pgvigil {

// <data_dir>/promote, the file pg_promote and pg_ctl promote write.
std::string PromoteSignalPath(const std::string& data_dir);

enum class PromoteSignalRemoval { kRemoved, kAbsent };
// unlink(2) of the signal file: kRemoved, kAbsent (ENOENT), or an error.
Result<PromoteSignalRemoval> RemovePromoteSignal(const std::string& data_dir);

struct PromoteSettleOptions {
  // The signal was taken: how long the promotion may take to finish.
  std::chrono::milliseconds takenWait = std::chrono::minutes(10);
  std::chrono::milliseconds poll = std::chrono::milliseconds(100);
  // The signal was taken but the server stops answering this long: give up.
  std::chrono::milliseconds unansweredLimit = std::chrono::seconds(10);
  // After a removal, how long before asking PostgreSQL whether it took the
  // signal anyway: its startup process checks the file exists, logs, then
  // removes it and marks the promotion triggered; a removal of ours inside
  // that window does not stop it.
  std::chrono::milliseconds triggerGrace = std::chrono::seconds(1);
};

// Whether PostgreSQL marked a promotion triggered (or left recovery): true,
// false, or an error when it cannot tell.
using PromoteTriggeredQuery = std::function<Result<bool>()>;

// Ends a promotion that was signalled but not seen finished (`why`: what was
// seen). Removes the signal file: removed -> after triggerGrace one more look
// (a promotion that finished just before counts) and `triggered` (the startup
// process may have taken the signal as it was removed): not triggered -> an
// error saying it was withdrawn; triggered, or not known -> as when already
// gone: waits up to takenWait for `observe` to report a primary. `note`
// receives progress lines for the operation log.
Result<PgObservation> SettleUnfinishedPromotion(
    const std::string& data_dir, const std::string& why,
    const std::function<Result<PgObservation>()>& observe, const PromoteTriggeredQuery& triggered,
    const PromoteSettleOptions& options, const std::function<void(const std::string&)>& note);

// PromoteTriggeredQuery against the server at p: pg_wal_replay_resume()
// refuses with object_not_in_prerequisite_state once a promotion is triggered
// (PostgreSQL 14 and later) or recovery is over; a DO block turns the refusal
// into an error carrying a marker of ours, whatever the server's message
// language. Side effect: replay paused by hand resumes (a promotion would end
// it too).
Result<bool> PromoteTriggered(const ConnParams& p);

}  // namespace pgvigil
