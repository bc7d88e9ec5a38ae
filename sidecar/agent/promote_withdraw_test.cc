// SettleUnfinishedPromotion's decisions after the signal file is removed, with
// PostgreSQL's answers given as values: the case where the startup process
// takes the signal in the instant of the removal cannot be made to happen on a
// real server on demand (promote_withdraw_it_test covers every answer a real
// server gives: a standby not promoting, a primary, a stalled promotion).
#include "sidecar/agent/promote_withdraw.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/files.h"

namespace pgvigil {
namespace {

using namespace std::chrono_literals;

PgObservation As(BackendRole role) {
  PgObservation o;
  o.role = role;
  return o;
}

struct Row {
  const char* name;
  Result<bool> triggered;
  std::vector<BackendRole> looks;  // what each observation says, the last repeated
  bool promoted;                   // the settle ends with a primary
  const char* says;                // in the error or the notes
};

TEST(PromoteWithdraw, AfterTheRemovalPostgreSQLsAnswerDecides) {
  const std::vector<Row> rows = {
      {"not triggered: withdrawn", false, {BackendRole::kStandby}, false, "the promotion was withdrawn"},
      {"triggered as it was removed: waited for", true, {BackendRole::kStandby, BackendRole::kPrimary}, true,
       "the promote signal was taken as it was removed"},
      {"not known: waited for, not called withdrawn", Result<bool>::Error("connection refused"),
       {BackendRole::kStandby, BackendRole::kPrimary}, true, "is not known (connection refused)"},
      {"triggered but never finishing: may still complete", true, {BackendRole::kStandby}, false,
       "the promotion may still complete"},
      {"finished before the look: a success", false, {BackendRole::kPrimary}, true,
       "promotion finished as its signal was withdrawn"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    char tmpl[] = "/tmp/pgvigil-promote-withdraw-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    ASSERT_TRUE(WriteFileAtomic(PromoteSignalPath(dir), "").ok());
    size_t look = 0;
    auto observe = [&]() -> Result<PgObservation> {
      const BackendRole role = r.looks[std::min(look, r.looks.size() - 1)];
      ++look;
      return As(role);
    };
    PromoteSettleOptions opts;
    opts.triggerGrace = 1ms;
    opts.poll = 1ms;
    opts.takenWait = 50ms;
    std::string notes;
    auto o = SettleUnfinishedPromotion(dir, "timed out", observe, [&] { return r.triggered; }, opts,
                                       [&](const std::string& line) { notes += line + "\n"; });
    EXPECT_EQ(o.ok(), r.promoted) << (o.ok() ? notes : o.error());
    const std::string text = (o.ok() ? "" : o.error()) + "\n" + notes;
    EXPECT_NE(text.find(r.says), std::string::npos) << text;
    auto left = RemovePromoteSignal(dir);
    ASSERT_TRUE(left.ok()) << left.error();
    EXPECT_EQ(*left, PromoteSignalRemoval::kAbsent) << "the signal file was left";
    ::rmdir(dir.c_str());
  }
}

}  // namespace
}  // namespace pgvigil
