// See pod_lifecycle.h.
#include "sidecar/agent/pod_lifecycle.h"

#include <algorithm>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "common/files.h"

namespace pgvigil {

const char* ToString(BootAction a) {
  switch (a) {
    case BootAction::kStartStandby: return "start the standby";
    case BootAction::kWaitForController: return "wait for the controller's start (primary data directory)";
    case BootAction::kAlreadyRunning: return "already running";
    default: return "wait for init or rebuild (no data directory)";
  }
}

BootAction DecideBootAction(bool data_dir, bool running, bool recovery_signal) {
  if (!data_dir) return BootAction::kNone;
  if (running) return BootAction::kAlreadyRunning;
  return recovery_signal ? BootAction::kStartStandby : BootAction::kWaitForController;
}

std::string RefuseAfterSelfFence(OpKind kind, uint64_t op_term, bool fenced, uint64_t fenced_term) {
  if (!fenced || kind == OpKind::kStop || op_term > fenced_term) return "";
  return std::string(ToString(kind)) + " refused: this node fenced itself (its write lease ran out "
         "while it was primary) in term " + std::to_string(fenced_term) +
         "; only a controller with a newer term may run PostgreSQL here again";
}

Result<std::optional<uint64_t>> LoadSelfFenceRecord(const std::string& state_dir) {
  const std::string path = state_dir + "/self-fenced";
  if (!PathExists(path)) return std::optional<uint64_t>();
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text->c_str(), &end, 10);
  if (end == text->c_str() || (*end != '\0' && *end != '\n'))
    return Result<std::optional<uint64_t>>::Error(path + ": not a term: '" + *text + "'");
  return std::optional<uint64_t>(v);
}

Status SaveSelfFenceRecord(const std::string& state_dir, uint64_t term) {
  return WriteFileAtomic(state_dir + "/self-fenced", std::to_string(term) + "\n", 0600);
}

Status StartAtBoot(const LocalNode& node) {
  PgTools tools(node, nullptr);
  auto state = tools.RunState();
  if (!state.ok()) return state.status();
  const bool data_dir = *state != PgRunState::kNoDataDir;
  const bool signal = HasRecoverySignal(node.dataDir);
  const BootAction a = DecideBootAction(data_dir, *state == PgRunState::kRunning, signal);
  spdlog::info("agent: PostgreSQL at start ({}): {}", node.dataDir, ToString(a));
  if (a != BootAction::kStartStandby) return Status::Ok();
  return tools.Start();
}

Status ShutdownPostgres(const LocalNode& node, std::chrono::seconds budget) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + budget;
  auto left = [&] {
    return std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(end - Clock::now()).count());
  };
  PgTools tools(node, nullptr);
  auto state = tools.RunState();
  if (!state.ok() || *state != PgRunState::kRunning) return Status::Ok();
  // A checkpoint now makes the shutdown checkpoint short (CloudNativePG does the same).
  if (auto conn = node.SelfConn(); conn.ok()) {
    conn->statementTimeoutMs = static_cast<int>(std::min<int64_t>(left() / 3, 20) * 1000);
    Status s = ExecSql(*conn, "CHECKPOINT");
    if (!s.ok()) spdlog::warn("agent: CHECKPOINT before stopping: {}", s.message());
  }
  const int64_t fast = std::max<int64_t>(1, left() - 5);
  Status s = tools.Run({"pg_ctl", "stop", "-D", node.dataDir, "-m", "fast", "-w", "-t", std::to_string(fast)},
                       std::chrono::seconds(fast + 2));
  if (s.ok()) return s;
  spdlog::warn("agent: fast stop did not finish ({}); immediate stop", s.message());
  return tools.Run({"pg_ctl", "stop", "-D", node.dataDir, "-m", "immediate", "-w", "-t", "4"},
                   std::chrono::seconds(5));
}

}  // namespace pgvigil
