// Synchronous replication (replication.mode: sync). The primary's
// synchronous_standby_names lists the streaming standbys that may be promoted,
// `ANY k (...)` (or `FIRST n (...)` when all are needed). The recorded set (the
// durable state) must always be a superset of that list with a count no larger
// than the one in effect, so that "k of the recorded set hold every
// acknowledged commit" stays true:
//  * growing: record the larger set first, then set the list;
//  * shrinking (or a larger k): set first; once it is in effect, note the
//    primary's LSN; record the smaller set when k of its members have flushed
//    up to that LSN (older commits may have been acknowledged by others).
// In async mode the list is cleared, then the record.
#include <algorithm>

#include "controller/plan/context.h"

namespace pgvigil::plan::detail {
namespace {

bool Subset(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const auto& x : a) {
    if (!HasName(b, x)) return false;
  }
  return true;
}

const ReplicationRow* Row(const NodeObservation& primary, const std::string& n) {
  for (const auto& r : primary.replication) {
    if (r.node == n) return &r;
  }
  return nullptr;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return "[" + out + "]";
}

void Set(Context& c, const std::string& value, const std::string& why) {
  c.Add(ActionKind::kSetSynchronousStandbys, c.next.primary, why).synchronousStandbyNames = value;
}

}  // namespace

void PlanSync(Context& c) {
  const std::string& p = c.next.primary;
  if (!c.Writable(p)) return;
  const NodeObservation& po = *c.Obs(p);
  ClusterState& s = c.next;
  if (c.spec.replication.mode != ReplicationMode::kSync) {
    if (!po.synchronousStandbyNames.empty()) {
      Set(c, "", "asynchronous mode: clear synchronous_standby_names");
    } else if (!s.synchronousStandbys.empty() || s.synchronousCount != 0) {
      s.synchronousStandbys.clear();
      s.synchronousCount = 0;
      s.syncShrinkLsn = 0;
      c.Commit("asynchronous mode: no synchronous standbys");
    }
    return;
  }
  std::vector<std::string> desired;
  for (const auto& ns : c.spec.nodes) {
    const std::string& n = ns.name;
    if (n == p || ns.noFailover || !c.Member(n) || !c.Standby(n) || c.OpRunning(n)) continue;
    const ReplicationRow* row = Row(po, n);
    if (!StreamsFromPrimary(c.PgUp(n), c.Obs(n)->upstream, p, row ? row->state : "")) continue;
    desired.push_back(n);
  }
  std::sort(desired.begin(), desired.end());
  const int k = std::min<int>(std::max(c.spec.replication.synchronousCount, 1),
                              static_cast<int>(desired.size()));
  const std::string want = SynchronousStandbyNames(desired, k);

  if (!Subset(desired, s.synchronousStandbys)) {
    for (const auto& n : desired) AddName(&s.synchronousStandbys, n);
    s.syncShrinkLsn = 0;
    c.Commit("synchronous mode: record " + Join(s.synchronousStandbys) + " before listing them");
  }
  if (po.synchronousStandbyNames != want) {
    s.syncShrinkLsn = 0;
    Set(c, want, "synchronous mode: standbys streaming from " + p + ": " + Join(desired));
    return;
  }
  if (s.synchronousStandbys == desired && s.synchronousCount == k) return;
  if (s.syncShrinkLsn == 0) s.syncShrinkLsn = std::max<Lsn>(po.currentLsn, 1);
  int flushed = 0;
  for (const auto& n : desired) {
    const ReplicationRow* row = Row(po, n);
    if (row && row->flushLsn >= s.syncShrinkLsn) ++flushed;
  }
  if (flushed < k) {
    c.Commit("synchronous mode: " + Join(desired) + " in effect at " + FormatLsn(s.syncShrinkLsn));
    c.Requeue(kDefaultRequeue, "synchronous mode: waiting for " + Join(desired) +
                                   " to flush up to " + FormatLsn(s.syncShrinkLsn));
    return;
  }
  s.synchronousStandbys = desired;
  s.synchronousCount = k;
  s.syncShrinkLsn = 0;
  c.Commit("synchronous mode: " + std::to_string(k) + " of " + Join(desired) +
           " hold every acknowledged commit");
}

}  // namespace pgvigil::plan::detail
