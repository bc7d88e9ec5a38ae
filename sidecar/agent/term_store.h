// The highest controller term this node has seen, persisted in the state
// directory so that a restarted sidecar still refuses a deposed controller.
// Thread-safe (one mutex); Observe() writes the file before it returns.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/result.h"

namespace pgvigil {

// Terms are small counters (one step per election or leadership change). The
// largest accepted is 2^53-1, exact in every JSON reader; and one request may
// not move the highest term more than kMaxTermJump ahead, so a mistaken or
// hostile "term: 18446744073709551615" cannot make this node refuse every later
// (real) term. A term file above kMaxTerm (left by an older version) stops the
// agent at Load with the way out: remove the file.
constexpr uint64_t kMaxTerm = (1ull << 53) - 1;
constexpr uint64_t kMaxTermJump = 1ull << 32;

class TermStore {
 public:
  // path: file holding the term in decimal; empty: memory only (logged at Load).
  explicit TermStore(std::string path) : path_(std::move(path)) {}

  // Reads the persisted term; a missing file means 0. A corrupt file is an error
  // (refusing to start is safer than forgetting a term).
  Status Load();

  enum class Verdict { kAccepted, kStale, kPersistFailed, kOutOfRange };
  // Accepts `term` when it is >= the highest seen (raising and persisting it);
  // kOutOfRange (nothing changes) above kMaxTerm or more than kMaxTermJump ahead.
  Verdict Observe(uint64_t term, std::string* error = nullptr);
  uint64_t highest() const;

 private:
  const std::string path_;
  mutable std::mutex mu_;
  uint64_t highest_ = 0;  // guarded by mu_
};

}  // namespace pgvigil
