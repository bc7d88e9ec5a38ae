#include "sidecar/agent/rebuild_plan.h"

namespace pgvigil {

const char* ToString(RebuildStep s) {
  switch (s) {
    case RebuildStep::kStop: return "stop";
    case RebuildStep::kSaveLocalConfig: return "save-local-config";
    case RebuildStep::kRewind: return "rewind";
    case RebuildStep::kBasebackup: return "basebackup";
    case RebuildStep::kConfigureStandby: return "configure-standby";
    case RebuildStep::kSwapDataDir: return "swap-data-directory";
    case RebuildStep::kStart: return "start";
    case RebuildStep::kWaitStreaming: return "wait-streaming";
    case RebuildStep::kCleanup: return "cleanup";
  }
  return "unknown";
}

std::string RefuseUnfencedPrimary(bool running, BackendRole role, bool fenced) {
  if (!running || fenced) return "";
  if (role == BackendRole::kPrimary)
    return "this node is a running primary and the request does not say it is fenced in this term";
  if (role == BackendRole::kUnknown)
    return "this node's PostgreSQL is running but its role could not be confirmed, and the "
           "request does not say it is fenced in this term";
  return "";
}

std::vector<RebuildStep> BasebackupSteps(bool stop_first) {
  std::vector<RebuildStep> s;
  if (stop_first) s.push_back(RebuildStep::kStop);
  for (auto step : {RebuildStep::kSaveLocalConfig, RebuildStep::kBasebackup,
                    RebuildStep::kConfigureStandby, RebuildStep::kSwapDataDir, RebuildStep::kStart,
                    RebuildStep::kWaitStreaming, RebuildStep::kCleanup})
    s.push_back(step);
  return s;
}

RebuildPlan PlanRebuild(const RebuildFacts& f) {
  RebuildPlan p;
  std::string refusal = RefuseUnfencedPrimary(f.running, f.role, f.fenced);
  if (!refusal.empty()) {
    p.refused = true;
    p.refusal = refusal;
    return p;
  }
  // Why rewind is impossible, "" when it is possible.
  std::string no_rewind;
  if (!f.dataDirValid) no_rewind = "no valid data directory to rewind";
  else if (f.rewindInterrupted) no_rewind = "an earlier pg_rewind of this data directory did not finish";
  else if (!f.walLogHints && !f.checksums) no_rewind = "neither wal_log_hints nor data checksums are on";

  bool want_basebackup = f.requested == RebuildMethod::kBasebackup ||
                         (f.requested == RebuildMethod::kAuto &&
                          f.specMethod == RecoveryMethod::kBasebackup);
  if (f.requested == RebuildMethod::kRewind && !no_rewind.empty()) {
    p.refused = true;
    p.refusal = "pg_rewind requested but not possible: " + no_rewind;
    return p;
  }
  if (want_basebackup || !no_rewind.empty()) {
    p.method = RebuildMethod::kBasebackup;
    p.reason = want_basebackup ? (f.requested == RebuildMethod::kBasebackup
                                      ? "basebackup requested"
                                      : "spec.recovery.method is basebackup")
                               : no_rewind;
    p.steps = BasebackupSteps(f.running);
    return p;
  }
  p.method = RebuildMethod::kRewind;
  p.reason = f.checksums ? "data checksums are on" : "wal_log_hints is on";
  p.fallbackToBasebackup = f.requested == RebuildMethod::kAuto;
  if (f.running) p.steps.push_back(RebuildStep::kStop);
  for (auto step : {RebuildStep::kSaveLocalConfig, RebuildStep::kRewind,
                    RebuildStep::kConfigureStandby, RebuildStep::kStart,
                    RebuildStep::kWaitStreaming, RebuildStep::kCleanup})
    p.steps.push_back(step);
  return p;
}

}  // namespace pgvigil
