#include "sidecar/agent/term_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cctype>

#include <spdlog/spdlog.h>

#include "common/files.h"

namespace pgvigil {

Status TermStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) {
    spdlog::warn("agent: no state directory; the highest term is kept in memory only");
    return Status::Ok();
  }
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0 && errno == ENOENT) {
    highest_ = 0;
    return Status::Ok();
  }
  auto text = ReadFile(path_);
  if (!text.ok()) return text.status().Context("reading term");
  std::string s = *text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.empty() || s.size() > 20) return Status::Error(path_ + ": not a term: '" + s + "'");
  uint64_t n = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return Status::Error(path_ + ": not a term: '" + s + "'");
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > kMaxTerm)
    return Status::Error(path_ + " holds term " + s + ", above the largest valid term " +
                         std::to_string(kMaxTerm) +
                         " (an older version accepted any term); with every controller stopped or "
                         "deposed, remove the file and start again: the next command sets the term");
  highest_ = n;
  spdlog::info("agent: highest term seen so far is {}", n);
  return Status::Ok();
}

TermStore::Verdict TermStore::Observe(uint64_t term, std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (term > kMaxTerm || term - std::min(term, highest_) > kMaxTermJump) {
    if (error)
      *error = "term " + std::to_string(term) + " is out of range (at most " +
               std::to_string(kMaxTerm) + " and at most " + std::to_string(kMaxTermJump) +
               " above the highest seen, " + std::to_string(highest_) + ")";
    return Verdict::kOutOfRange;
  }
  if (term < highest_) return Verdict::kStale;
  if (term == highest_) return Verdict::kAccepted;
  if (!path_.empty()) {
    Status s = WriteFileAtomic(path_, std::to_string(term) + "\n", 0600);
    if (!s.ok()) {
      spdlog::error("agent: cannot persist term {}: {}", term, s.message());
      if (error) *error = s.message();
      return Verdict::kPersistFailed;
    }
  }
  spdlog::info("agent: new highest term {} (was {})", term, highest_);
  highest_ = term;
  return Verdict::kAccepted;
}

uint64_t TermStore::highest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return highest_;
}

}  // namespace pgvigil
