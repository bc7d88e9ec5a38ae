// The highest controller term this node has seen, persisted in the state
// directory so that a restarted sidecar still refuses a deposed controller.
// Thread-safe (one mutex); Observe() writes the file before it returns.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/result.h"

namespace pgvigil {

class TermStore {
 public:
  // path: file holding the term in decimal; empty: memory only (logged at Load).
  explicit TermStore(std::string path) : path_(std::move(path)) {}

  // Reads the persisted term; a missing file means 0. A corrupt file is an error
  // (refusing to start is safer than forgetting a term).
  Status Load();

  enum class Verdict { kAccepted, kStale, kPersistFailed };
  // Accepts `term` when it is >= the highest seen (raising and persisting it).
  Verdict Observe(uint64_t term, std::string* error = nullptr);
  uint64_t highest() const;

 private:
  const std::string path_;
  mutable std::mutex mu_;
  uint64_t highest_ = 0;  // guarded by mu_
};

}  // namespace pgvigil
