// SessionSets, a Query of several statements: which of its SETs PostgreSQL
// kept, followed statement by statement as exec_simple_query runs them. Pure.
//
// Its statements outside a transaction block run in one implicit transaction:
// kept when the Query ends without an error, or at a COMMIT among them;
// dropped at a ROLLBACK among them (the statements after it start another) or
// at an error (the rest do not run). A BEGIN turns the implicit transaction
// into a block, what it holds included; SAVEPOINT, RELEASE and ROLLBACK TO run
// only in a block. A COMMIT whose tag is ROLLBACK (a failed block) rolls back.
// The CommandCompletes (one a statement, none after an error) say how far it
// ran; each step's must be its own command's (the proxy splits the text on
// ';' with its own lexer: a statement PostgreSQL reads as one, such as a
// function body in BEGIN ATOMIC, would shift them), and the status after it
// must be the one the steps lead to; otherwise the changes are incomplete.
#include "sidecar/proxy/session_sets.h"

#include <utility>

namespace pgvigil::proxy {

namespace {

// Whether the CommandComplete `code` fits the step `kind` (nullptr: a
// statement that is not a step).
bool Fits(const SetChangeKind* kind, char code) {
  // SET LOCAL, SET TRANSACTION: 'e'; '?': an answer of a sequence not seen.
  if (!kind) return code == 'o' || code == 'e' || code == '?';
  switch (*kind) {
    case SetChangeKind::kQuery:
    case SetChangeKind::kResetAll: return code == 'e';
    case SetChangeKind::kBegin: return code == 'b';
    case SetChangeKind::kTxEnd: return code == 'c' || code == 'r';
    case SetChangeKind::kSavepoint: return code == 's';
    case SetChangeKind::kRelease: return code == 'l';
    case SetChangeKind::kRollbackTo: return code == 'r';
  }
  return false;
}

}  // namespace

bool SessionSets::CodesFit(const std::vector<Change>& steps, std::string_view codes, size_t first, size_t from) {
  bool fits = true;
  for (size_t i = 0, k = 0; fits && i < codes.size(); ++i) {
    const size_t place = first + i;
    while (k < steps.size() && steps[k].at < place) ++k;
    if (place < from) continue;
    const bool step = k < steps.size() && steps[k].at == place;
    fits = Fits(step ? &steps[k].kind : nullptr, codes[i]);
  }
  return fits;
}

void SessionSets::NotFollowed(const std::vector<Change>& steps, uint64_t standby_now,
                              std::vector<std::string>* push) {
  // Reads stay where every change is.
  EndBlock(false, standby_now, push);
  if (!steps.empty()) droppedUpTo_ = steps.back().number;
}

void SessionSets::AnswerQuery(std::vector<Change> steps, const SetCycleOutcome& o, uint64_t standby_now,
                              std::vector<std::string>* push) {
  const std::string_view codes = o.tagCodes;
  const size_t ran = codes.size();
  // Every statement answered, or those before the one that failed (of a
  // sequence, the error may also come after its last Execute).
  bool fits = o.error ? ran < o.statements || (o.sequence && ran == o.statements) : ran == o.statements;
  fits = fits && CodesFit(steps, codes, 0, 0);
  // Whether a block is open, once a step says so (before that, the status
  // after the Query tells).
  bool known = false, block = false;
  for (size_t k = 0; fits && k < steps.size() && steps[k].at < ran; ++k) {
    Change& c = steps[k];
    switch (c.kind) {
      case SetChangeKind::kQuery:
      case SetChangeKind::kResetAll:
        block_.push_back(std::move(c));  // waits with the transaction it ran in, implicit or not
        break;
      case SetChangeKind::kBegin:
        known = block = true;
        break;
      case SetChangeKind::kTxEnd:
        EndBlock(codes[c.at] == 'c', standby_now, push);
        known = true;
        block = false;
        break;
      case SetChangeKind::kSavepoint:
      case SetChangeKind::kRelease:
      case SetChangeKind::kRollbackTo:
        Savepoint(std::move(c));
        known = block = true;
        break;
    }
  }
  if (!known) block = o.status != 'I';
  else if (fits) fits = o.status == (!block ? 'I' : o.error ? 'E' : 'T');
  if (!fits) return NotFollowed(steps, standby_now, push);
  // The implicit transaction ends with the Query: committed unless it failed.
  if (!block) EndBlock(!o.error, standby_now, push);
}

}  // namespace pgvigil::proxy
