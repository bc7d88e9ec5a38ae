#include "sidecar/agent/promote_withdraw.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

namespace pgvigil {

std::string PromoteSignalPath(const std::string& data_dir) { return data_dir + "/promote"; }

Result<PromoteSignalRemoval> RemovePromoteSignal(const std::string& data_dir) {
  if (data_dir.empty()) return Result<PromoteSignalRemoval>::Error("no data directory");
  const std::string path = PromoteSignalPath(data_dir);
  if (::unlink(path.c_str()) == 0) return PromoteSignalRemoval::kRemoved;
  if (errno == ENOENT) return PromoteSignalRemoval::kAbsent;
  return Result<PromoteSignalRemoval>::Error("unlink " + path + ": " + std::strerror(errno));
}

Result<bool> PromoteTriggered(const ConnParams& p) {
  static const char kMarker[] = "pgvigil: promotion triggered";
  static const std::string kSql = std::string(
                                      "DO $pgvigil$ BEGIN PERFORM pg_wal_replay_resume(); "
                                      "EXCEPTION WHEN object_not_in_prerequisite_state THEN "
                                      "RAISE EXCEPTION '") +
                                  kMarker + "'; END $pgvigil$";
  Status s = ExecSql(p, kSql);
  if (s.ok()) return false;
  if (s.message().find(kMarker) != std::string::npos) return true;
  return Result<bool>::Error(s.message());
}

Result<PgObservation> SettleUnfinishedPromotion(
    const std::string& data_dir, const std::string& why,
    const std::function<Result<PgObservation>()>& observe, const PromoteTriggeredQuery& triggered,
    const PromoteSettleOptions& options, const std::function<void(const std::string&)>& note) {
  using Clock = std::chrono::steady_clock;
  auto removal = RemovePromoteSignal(data_dir);
  if (!removal.ok())
    return Result<PgObservation>::Error(why + ": the promote signal could not be withdrawn (" +
                                        removal.error() + "); the promotion may still complete");
  if (*removal == PromoteSignalRemoval::kRemoved) {
    // The startup process had not taken it, unless it was between its check
    // of the file and its own removal: after the grace, PostgreSQL says
    // whether it marked a promotion triggered. One that finished just before
    // the removal is a success.
    std::this_thread::sleep_for(options.triggerGrace);
    auto o = observe();
    if (o.ok() && o->role == BackendRole::kPrimary) {
      note("promotion finished as its signal was withdrawn: primary");
      return o;
    }
    auto t = triggered();
    if (t.ok() && !*t) {
      return Result<PgObservation>::Error(
          why + ": the promotion was withdrawn (promote signal removed); this node stays a standby");
    }
    note(why + (t.ok() ? "; the promote signal was taken as it was removed"
                       : "; whether the promote signal was taken is not known (" + t.error() + ")") +
         ": waiting for the promotion to finish");
  } else {
    // Gone: taken by the startup process (which removes it as it acts), or
    // the promotion is complete. It finishes without further waits on replay.
    note(why + "; the promote signal was already taken: waiting for the promotion to finish");
  }
  const auto deadline = Clock::now() + options.takenWait;
  auto answered = Clock::now();
  std::string last = "no observation";
  for (;;) {
    auto o = observe();
    const auto now = Clock::now();
    if (o.ok()) {
      if (o->role == BackendRole::kPrimary) return o;
      answered = now;
      last = "still in recovery";
    } else {
      last = o.error();
      if (now - answered >= options.unansweredLimit) break;
    }
    if (now >= deadline) break;
    std::this_thread::sleep_for(options.poll);
  }
  return Result<PgObservation>::Error(why + "; the promote signal was taken but the promotion did not finish (" +
                                      last + "): the promotion may still complete");
}

}  // namespace pgvigil
