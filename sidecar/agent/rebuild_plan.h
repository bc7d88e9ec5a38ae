// Planning of the rebuild operation (make this node a standby of a given
// primary): pure decisions from observed facts, so every rule is table-tested.
// The executor (node_operations.cc) gathers RebuildFacts and runs the steps.
#pragma once

#include <string>
#include <vector>

#include "common/spec.h"
#include "sidecar/agent/op_request.h"
#include "sidecar/health_view.h"

namespace pgvigil {

struct RebuildFacts {
  bool running = false;
  BackendRole role = BackendRole::kUnknown;  // when running; unknown = could not ask
  bool fenced = false;                       // request says fenced in the current term
  bool dataDirValid = false;                 // PG_VERSION and a readable pg_control
  bool walLogHints = false;
  bool checksums = false;
  bool rewindInterrupted = false;  // a previous rebuild started pg_rewind and never finished
  RebuildMethod requested = RebuildMethod::kAuto;
  RecoveryMethod specMethod = RecoveryMethod::kRewindOrBasebackup;
};

enum class RebuildStep {
  kStop,              // pg_ctl stop -m fast
  kSaveLocalConfig,   // keep this node's postgresql.conf / pg_hba.conf / ... in the state dir
  kRewind,            // pg_rewind from the primary
  kBasebackup,        // pg_basebackup into DATA.pgvigil-new
  kConfigureStandby,  // restore local config, standby.signal, primary_conninfo
  kSwapDataDir,       // DATA -> DATA.pgvigil-old, DATA.pgvigil-new -> DATA
  kStart,             // pg_ctl start
  kWaitStreaming,     // WAL receiver streaming from the primary
  kCleanup,           // remove DATA.pgvigil-old, the saved config and the marker
};
const char* ToString(RebuildStep s);

struct RebuildPlan {
  bool refused = false;
  std::string refusal;  // why, when refused
  std::string reason;   // why this method ("checksums on", "no valid data directory", ...)
  RebuildMethod method = RebuildMethod::kBasebackup;  // kRewind or kBasebackup
  // In auto mode a failed rewind (or a rewound node that does not stream) falls
  // back to basebackup.
  bool fallbackToBasebackup = false;
  std::vector<RebuildStep> steps;
};

RebuildPlan PlanRebuild(const RebuildFacts& f);
// The steps of a basebackup rebuild (also used as the fallback).
std::vector<RebuildStep> BasebackupSteps(bool stop_first);

// Whether an operation that stops or overwrites this node must be refused: a
// running primary (or a running node whose role could not be confirmed) needs
// `fenced`. Returns the refusal reason or "".
std::string RefuseUnfencedPrimary(bool running, BackendRole role, bool fenced);

}  // namespace pgvigil
