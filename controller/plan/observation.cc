#include "controller/plan/observation.h"

namespace pgvigil::plan {

const char* ToString(OperationKind k) {
  switch (k) {
    case OperationKind::kPromote:
      return "promote";
    case OperationKind::kStop:
      return "stop";
    case OperationKind::kStart:
      return "start";
    case OperationKind::kRestart:
      return "restart";
    case OperationKind::kFollow:
      return "follow";
    case OperationKind::kRebuild:
      return "rebuild";
    case OperationKind::kInit:
      return "init";
  }
  return "?";
}

const char* ToString(OperationState s) {
  switch (s) {
    case OperationState::kRunning:
      return "running";
    case OperationState::kSucceeded:
      return "succeeded";
    case OperationState::kFailed:
      return "failed";
  }
  return "?";
}

Lsn NodeObservation::ReplayEnd() const { return inRecovery ? replayedLsn : currentLsn; }

const NodeObservation* Observation::Find(const std::string& name) const {
  for (const auto& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

}  // namespace pgvigil::plan
