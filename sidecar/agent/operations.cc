#include "sidecar/agent/operations.h"

#include <openssl/rand.h>

#include <cstdio>

#include <spdlog/spdlog.h>

#include "common/utc_time.h"

namespace pgvigil {

namespace {

std::string RandomHex(size_t bytes) {
  unsigned char buf[16];
  if (bytes > sizeof buf) bytes = sizeof buf;
  if (RAND_bytes(buf, static_cast<int>(bytes)) != 1) {
    // Uniqueness within this process still comes from the counter.
    for (size_t i = 0; i < bytes; ++i) buf[i] = static_cast<unsigned char>(std::rand());
  }
  std::string out;
  char hex[3];
  for (size_t i = 0; i < bytes; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", buf[i]);
    out += hex;
  }
  return out;
}

}  // namespace

SidecarOperation OperationSnapshot::ToStatus() const {
  SidecarOperation o;
  o.id = id;
  o.type = type;
  o.state = state;
  o.step = step;
  o.method = method;
  o.doneBytes = doneBytes;
  o.totalBytes = totalBytes;
  o.percent = percent;
  o.term = term;
  o.startedAt = IsoTime(startedAt);
  o.finishedAt = finishedAt.time_since_epoch().count() ? IsoTime(finishedAt) : "";
  auto end = finishedAt.time_since_epoch().count() ? finishedAt : std::chrono::system_clock::now();
  o.durationMs = static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(end - startedAt).count());
  o.error = error;
  o.log = log;
  return o;
}

web::json::value OperationSnapshot::ToJson() const { return pgvigil::ToJson(ToStatus()); }

Operation::Operation(std::string id, std::string type, uint64_t term) : id_(std::move(id)) {
  s_.id = id_;
  s_.type = std::move(type);
  s_.term = term;
  s_.startedAt = std::chrono::system_clock::now();
}

void Operation::SetStep(const std::string& step) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    s_.step = step;
  }
  Log("step: " + step);
}

void Operation::SetMethod(const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  s_.method = method;
}

void Operation::SetProgress(uint64_t done, uint64_t total, int percent) {
  std::lock_guard<std::mutex> lock(mu_);
  s_.doneBytes = done;
  s_.totalBytes = total;
  s_.percent = percent;
}

void Operation::Log(const std::string& line) {
  spdlog::info("agent: operation {}: {}", id_, line);
  std::lock_guard<std::mutex> lock(mu_);
  log_.push_back(line);
  if (log_.size() > kLogTail) log_.pop_front();
}

void Operation::Finish(const Status& result) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    s_.state = result.ok() ? "succeeded" : "failed";
    s_.error = result.ok() ? "" : result.message();
    s_.finishedAt = std::chrono::system_clock::now();
  }
  if (result.ok()) spdlog::info("agent: operation {} succeeded", id_);
  else spdlog::error("agent: operation {} failed: {}", id_, result.message());
}

bool Operation::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return s_.state == "running";
}

OperationSnapshot Operation::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  OperationSnapshot s = s_;
  s.log.assign(log_.begin(), log_.end());
  return s;
}

std::shared_ptr<Operation> OperationRegistry::TryBegin(const std::string& type, uint64_t term,
                                                       std::string* running_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& op : ops_) {
    if (op->running()) {
      if (running_id) *running_id = op->id();
      return nullptr;
    }
  }
  std::string id = type + "-" + std::to_string(++counter_) + "-" + RandomHex(4);
  auto op = std::make_shared<Operation>(id, type, term);
  ops_.push_back(op);
  while (ops_.size() > kKeep) ops_.pop_front();
  return op;
}

std::shared_ptr<Operation> OperationRegistry::Find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& op : ops_)
    if (op->id() == id) return op;
  return nullptr;
}

std::shared_ptr<Operation> OperationRegistry::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_.empty() ? nullptr : ops_.back();
}

std::vector<OperationSnapshot> OperationRegistry::Recent() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<OperationSnapshot> out;
  for (const auto& op : ops_) out.push_back(op->Snapshot());
  return out;
}

}  // namespace pgvigil
