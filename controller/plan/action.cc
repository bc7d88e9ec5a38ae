#include "controller/plan/action.h"

namespace pgvigil::plan {

const char* ToString(ActionKind k) {
  switch (k) {
    case ActionKind::kFence:
      return "fence";
    case ActionKind::kUnfence:
      return "unfence";
    case ActionKind::kPromote:
      return "promote";
    case ActionKind::kFollow:
      return "follow";
    case ActionKind::kRebuild:
      return "rebuild";
    case ActionKind::kStop:
      return "stop";
    case ActionKind::kStart:
      return "start";
    case ActionKind::kPublishRouting:
      return "publish-routing";
    case ActionKind::kPauseProxies:
      return "pause-proxies";
    case ActionKind::kResumeProxies:
      return "resume-proxies";
    case ActionKind::kSetSynchronousStandbys:
      return "set-synchronous-standbys";
    case ActionKind::kCheckpoint:
      return "checkpoint";
    case ActionKind::kWriteState:
      return "write-state";
    case ActionKind::kAttach:
      return "attach";
    case ActionKind::kDetach:
      return "detach";
    case ActionKind::kRecordEvent:
      return "event";
  }
  return "?";
}

std::string Action::Describe() const {
  std::string out = ToString(kind);
  if (!node.empty()) out += " " + node;
  switch (kind) {
    case ActionKind::kFollow:
      out += " -> " + upstream;
      break;
    case ActionKind::kRebuild:
      out += std::string(" from ") + upstream + " (" + pgvigil::ToString(method) + ")";
      break;
    case ActionKind::kStop:
      out += " (" + stopMode + ")";
      break;
    case ActionKind::kPublishRouting: {
      out += " gen " + std::to_string(generation) +
             " primary=" + (primary.empty() ? std::string("<none>") : primary) + " standbys=[";
      for (size_t i = 0; i < standbys.size(); ++i) {
        out += (i ? "," : "") + standbys[i].node + ":" + std::to_string(standbys[i].weight);
      }
      out += "]";
      break;
    }
    case ActionKind::kSetSynchronousStandbys:
      out += " '" + synchronousStandbyNames + "'";
      break;
    case ActionKind::kWriteState:
      out += " v" + std::to_string(state.version);
      break;
    default:
      break;
  }
  if (!reason.empty()) out += ": " + reason;
  return out;
}

}  // namespace pgvigil::plan
