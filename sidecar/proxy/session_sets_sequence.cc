// SessionSets, an extended-protocol sequence (Parse, Bind, Execute ... up to
// its Sync): which of its SETs PostgreSQL kept, followed Execute by Execute.
// Pure.
//
// PostgreSQL runs the statements of a sequence outside a block in one implicit
// transaction up to the Sync, as those of a Query of several statements: an
// error anywhere in it skips the rest up to the Sync and drops it (the SETs
// before the error too); a COMMIT or ROLLBACK among them ends it (with a
// warning) and the statements after it start another; a BEGIN makes it a
// block. So the steps are answered as a Query's (AnswerQuery), each Execute a
// statement, with two differences:
//  * the error may come after the last Execute (a Parse or Bind that fails,
//    a deferred constraint at the Sync's commit);
//  * the session began to watch the answers at its first step (or earlier,
//    a change waiting): answers of Executes sent before that may have gone to
//    the client unseen. The place of the first answer seen is then the one
//    that makes the answers fit the steps (with no error: all of them,
//    counted from the end); when none does, or several that lead to
//    different settings, what the sequence kept is not known.
// A step is placed at the Execute after its Bind: bound and not executed, or
// executed after another portal, its answer does not fit, or it never ran.
#include "sidecar/proxy/session_sets.h"

#include <string>
#include <utility>

namespace pgvigil::proxy {

std::string SessionSets::PlacedCodes(std::string_view seen, size_t first, size_t watched_from) {
  // Answers not watched stand as '?' (any statement but a step).
  std::string codes(first, '?');
  codes += seen;
  for (size_t i = first; i < watched_from && i < codes.size(); ++i) codes[i] = '?';
  return codes;
}

bool SessionSets::SameAs(const SessionSets& o) const {
  auto same_changes = [](const std::vector<Change>& a, const std::vector<Change>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].number != b[i].number) return false;
    return true;
  };
  if (confirmed_.size() != o.confirmed_.size()) return false;
  for (size_t i = 0; i < confirmed_.size(); ++i)
    if (confirmed_[i].number != o.confirmed_[i].number) return false;
  return same_changes(block_, o.block_) && same_changes(unanswered_, o.unanswered_) &&
         savepoints_ == o.savepoints_ && droppedUpTo_ == o.droppedUpTo_;
}

void SessionSets::AnswerSequence(std::vector<Change> steps, const SetCycleOutcome& o, uint64_t standby_now,
                                 std::vector<std::string>* push) {
  const std::string_view seen = o.tagCodes;
  // Two steps bound before one Execute: not known which ran.
  bool placed = true;
  for (size_t k = 0; k < steps.size(); ++k)
    placed = placed && steps[k].at >= o.watchedFrom && (k == 0 || steps[k - 1].at < steps[k].at);
  std::vector<size_t> firsts;  // the places the first answer seen may have
  for (size_t j = 0; placed && j <= o.watchedFrom; ++j) {
    if (o.error ? j + seen.size() > o.statements : j + seen.size() != o.statements) continue;
    if (CodesFit(steps, seen, j, o.watchedFrom)) firsts.push_back(j);
  }
  if (firsts.empty()) return NotFollowed(steps, standby_now, push);
  SetCycleOutcome all = o;
  std::string codes;
  if (firsts.size() == 1) {
    codes = PlacedCodes(seen, firsts[0], o.watchedFrom);
    all.tagCodes = codes;
    return AnswerQuery(std::move(steps), all, standby_now, push);
  }
  // Several: known only when each leads to the same.
  SessionSets kept;
  std::vector<std::string> kept_push;
  for (size_t i = 0; i < firsts.size(); ++i) {
    SessionSets t = *this;
    std::vector<std::string> p;
    codes = PlacedCodes(seen, firsts[i], o.watchedFrom);
    all.tagCodes = codes;
    t.AnswerQuery(steps, all, standby_now, &p);
    if (i == 0) {
      kept = std::move(t);
      kept_push = std::move(p);
    } else if (!kept.SameAs(t) || p != kept_push) {
      return NotFollowed(steps, standby_now, push);
    }
  }
  *this = std::move(kept);
  push->insert(push->end(), kept_push.begin(), kept_push.end());
}

}  // namespace pgvigil::proxy
