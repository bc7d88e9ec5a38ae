#include "sidecar/proxy/session_sets.h"

#include <algorithm>
#include <utility>

namespace pgvigil::proxy {

uint8_t CommandTagBits(std::string_view tag) {
  uint8_t bits = kTagRan;
  auto starts = [&](std::string_view w) {
    return tag.substr(0, w.size()) == w && (tag.size() == w.size() || tag[w.size()] == ' ' || tag[w.size()] == '\0');
  };
  if (starts("COMMIT") || starts("PREPARE TRANSACTION")) bits |= kTagCommit;
  if (starts("ROLLBACK")) bits |= kTagRollback;
  return bits;
}

char CommandTagCode(std::string_view tag) {
  if (tag == "SET" || tag == "RESET") return 'e';
  if (tag == "BEGIN" || tag == "START TRANSACTION") return 'b';
  if (tag == "COMMIT" || tag == "PREPARE TRANSACTION") return 'c';
  if (tag == "ROLLBACK") return 'r';
  if (tag == "SAVEPOINT") return 's';
  if (tag == "RELEASE") return 'l';
  return 'o';
}

uint64_t SessionSets::Sent(SetChangeKind kind, std::string text, uint64_t standby, std::string key, uint32_t at) {
  unanswered_.push_back({++numbered_, kind, std::move(text), standby, std::move(key), at});
  return numbered_;
}

bool SessionSets::Replaces(std::string_view key) const {
  if (key.empty()) return false;
  // As Confirm looks: since the newest entry without a key.
  for (size_t i = confirmed_.size(); i-- > 0 && !confirmed_[i].key.empty();)
    if (confirmed_[i].key == key) return true;
  return false;
}

void SessionSets::Confirm(Change c, uint64_t standby_now, std::vector<std::string>* push) {
  if (standby_now && c.standby != standby_now) push->push_back(c.text);
  if (c.kind == SetChangeKind::kResetAll) {
    confirmed_.clear();
    droppedUpTo_ = 0;
    return;
  }
  if (!c.key.empty()) {
    // Since the newest entry without a key, each key is there once at most.
    for (size_t i = confirmed_.size(); i-- > 0 && !confirmed_[i].key.empty();) {
      if (confirmed_[i].key != c.key) continue;
      confirmed_.erase(confirmed_.begin() + std::ptrdiff_t(i));
      break;
    }
  }
  if (confirmed_.size() < kMax) confirmed_.push_back({c.number, std::move(c.text), std::move(c.key)});
  else droppedUpTo_ = c.number;
}

void SessionSets::EndBlock(bool committed, uint64_t standby_now, std::vector<std::string>* push) {
  if (committed)
    for (auto& c : block_) Confirm(std::move(c), standby_now, push);
  block_.clear();
  savepoints_.clear();
}

std::vector<std::string> SessionSets::Answered(const SetCycleOutcome& o, uint64_t standby_now) {
  std::vector<std::string> push;
  // The cycle's changes, and any older one never answered (its backend lost
  // the cycle: it did not run).
  const uint64_t first = o.first ? o.first : o.change;
  std::vector<Change> mine;
  size_t done = 0;
  while (done < unanswered_.size() && o.change && unanswered_[done].number <= o.change) {
    if (unanswered_[done].number >= first) mine.push_back(std::move(unanswered_[done]));
    ++done;
  }
  unanswered_.erase(unanswered_.begin(), unanswered_.begin() + std::ptrdiff_t(done));
  if (o.sequence) {
    AnswerSequence(std::move(mine), o, standby_now, &push);
    return push;
  }
  if (o.statements) {
    AnswerQuery(std::move(mine), o, standby_now, &push);
    return push;
  }
  bool rollback_to = false;
  for (const auto& c : mine) rollback_to = rollback_to || c.kind == SetChangeKind::kRollbackTo;
  // The block ended in this cycle (before the change, when both: a Query
  // "SET ...; COMMIT" or "COMMIT; SET ..." keeps the block's SETs first).
  if (o.tags & kTagCommit) EndBlock(true, standby_now, &push);
  else if (o.status == 'I' || ((o.tags & kTagRollback) && !rollback_to)) EndBlock(false, standby_now, &push);
  if (o.error || !(o.tags & kTagRan)) return push;
  for (auto& c : mine) Apply(std::move(c), o, standby_now, &push);
  return push;
}

void SessionSets::Apply(Change c, const SetCycleOutcome& o, uint64_t standby_now, std::vector<std::string>* push) {
  switch (c.kind) {
    case SetChangeKind::kQuery:
    case SetChangeKind::kResetAll:
      // A Query whose statements included a ROLLBACK ended outside a block:
      // what it set is taken as rolled back (not known statement by statement).
      if (o.status == 'I' && !(o.tags & kTagRollback)) Confirm(std::move(c), standby_now, push);
      else if (o.status == 'T') block_.push_back(std::move(c));
      break;
    case SetChangeKind::kSavepoint:
      if (o.status == 'T') Savepoint(std::move(c));
      break;
    case SetChangeKind::kRelease:
    case SetChangeKind::kRollbackTo:
      Savepoint(std::move(c));
      break;
    case SetChangeKind::kBegin:
    case SetChangeKind::kTxEnd:
      break;  // steps of a Query of several statements only (AnswerQuery)
  }
}

void SessionSets::Savepoint(Change c) {
  if (c.kind == SetChangeKind::kSavepoint) {
    savepoints_.emplace_back(std::move(c.text), block_.size());
    return;
  }
  // The newest savepoint of that name; one not listed is older than all of block_.
  size_t i = savepoints_.size();
  while (i > 0 && savepoints_[i - 1].first != c.text) --i;
  if (c.kind == SetChangeKind::kRelease) {
    savepoints_.resize(i ? i - 1 : 0);
    return;
  }
  block_.resize(i ? savepoints_[i - 1].second : 0);
  savepoints_.resize(i);  // that savepoint stays
}

void SessionSets::Discarded(uint64_t up_to) {
  confirmed_.erase(std::remove_if(confirmed_.begin(), confirmed_.end(),
                                  [up_to](const Entry& e) { return e.number <= up_to; }),
                   confirmed_.end());
  if (droppedUpTo_ <= up_to) droppedUpTo_ = 0;
}

}  // namespace pgvigil::proxy
