#include "controller/kube/kube_leadership.h"

#include <spdlog/spdlog.h>

namespace pgvigil::kube {

LeadershipLook KubeLeadership::Look(plan::TimeMs) {
  LeadershipLook look;
  elector_->NoteTerm(store_->highestTerm());
  const uint64_t term = elector_->ActingTerm();
  if (term == 0) {
    look.reason = "not the Lease holder within its renew deadline";
    return look;
  }
  TermOutcome t = store_->MakeTermDurable(term);
  elector_->NoteTerm(t.statusTerm);
  switch (t.code) {
    case TermOutcome::Code::kDurable:
      if (durableTerm_ != term) spdlog::info("{}", t.detail);
      durableTerm_ = term;
      look.mayAct = true;
      look.term = term;
      if (auto f = store_->FlushSummary(term); !f.ok()) spdlog::debug("status summary: {}", f.error());
      look.holder = elector_->identity();
      look.reason = "Lease holder, term durable in status";
      return look;
    case TermOutcome::Code::kDeposed:
      spdlog::warn("deposed: {}", t.detail);
      elector_->Deposed(t.statusTerm);
      look.reason = "deposed: " + t.detail;
      return look;
    case TermOutcome::Code::kConflict:
    case TermOutcome::Code::kFailed:
      look.reason = "term " + std::to_string(term) + " not durable yet: " + t.detail;
      return look;
  }
  return look;
}

bool KubeLeadership::StillActing(uint64_t term) {
  if (store_->highestTerm() > term) {
    elector_->Deposed(store_->highestTerm());
    return false;
  }
  return elector_->StillActing(term);
}

}  // namespace pgvigil::kube
