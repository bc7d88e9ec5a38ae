// Asynchronous node operations: records (id, type, state, step, progress, log
// tail) and the registry that allows one mutating operation at a time.
// Operation and OperationRegistry are thread-safe: the worker thread writes, REST
// handlers read snapshots. Operations are shared_ptr-owned so a worker may outlive
// the component that started it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/result.h"
#include "common/sidecar_status.h"

namespace pgvigil {

struct OperationSnapshot {
  std::string id;
  std::string type;  // "promote", "rebuild", ...
  std::string state = "running";  // running | succeeded | failed
  std::string step;
  std::string method;  // rebuild: "rewind" | "basebackup"
  uint64_t doneBytes = 0;
  uint64_t totalBytes = 0;
  int percent = 0;
  uint64_t term = 0;
  std::chrono::system_clock::time_point startedAt{};
  std::chrono::system_clock::time_point finishedAt{};
  std::string error;
  std::vector<std::string> log;  // last lines, oldest first
  // As GET /v1/status and /v1/node/operations show it (common/sidecar_status.h);
  // the duration runs to now while it runs.
  SidecarOperation ToStatus() const;
  web::json::value ToJson() const;
};

class Operation {
 public:
  Operation(std::string id, std::string type, uint64_t term);
  const std::string& id() const { return id_; }

  void SetStep(const std::string& step);  // also logged
  void SetMethod(const std::string& method);
  void SetProgress(uint64_t done, uint64_t total, int percent);
  void Log(const std::string& line);  // kept in the tail and sent to spdlog
  void Finish(const Status& result);
  bool running() const;
  OperationSnapshot Snapshot() const;

  static constexpr size_t kLogTail = 200;

 private:
  const std::string id_;
  mutable std::mutex mu_;
  OperationSnapshot s_;             // guarded by mu_
  std::deque<std::string> log_;     // guarded by mu_
};

class OperationRegistry {
 public:
  // Starts recording a new operation, or returns nullptr and sets *running_id
  // when another one is still running.
  std::shared_ptr<Operation> TryBegin(const std::string& type, uint64_t term,
                                      std::string* running_id);
  std::shared_ptr<Operation> Find(const std::string& id) const;
  std::shared_ptr<Operation> Latest() const;
  std::vector<OperationSnapshot> Recent() const;  // oldest first

  static constexpr size_t kKeep = 20;

 private:
  mutable std::mutex mu_;
  std::deque<std::shared_ptr<Operation>> ops_;  // guarded by mu_; newest last
  uint64_t counter_ = 0;                        // guarded by mu_
};

}  // namespace pgvigil
