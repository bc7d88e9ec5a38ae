#include "controller/kube/promote_check.h"

namespace pgvigil::kube {

PromoteDecision CheckPrimaryDown(const PrimaryDownInputs& in) {
  const size_t majority = in.members / 2 + 1;
  const std::string& old = in.old;
  // Direct evidence first: enough members have not heard it for deadTime.
  if (in.members >= 3 && in.deadTimeMs > 0) {
    size_t silent = 0;
    int down = -1;
    std::string who;
    for (const auto& h : in.heard) {
      if (h.member == old) continue;
      if (h.seeDown > down) down = h.seeDown;
      if (h.lastHeardMs && *h.lastHeardMs <= in.deadTimeMs) continue;
      ++silent;
      who += (who.empty() ? "" : ", ") + h.member;
    }
    const size_t need = in.members - majority + 1;
    const bool seenDown = down >= 0 && static_cast<size_t>(down) >= majority;
    const std::string seen = old + " seen down by " + std::to_string(down) + " of " + std::to_string(in.members) +
                             " members (their own views)";
    if (seenDown && silent >= need)
      return {true, seen + " and not heard for more than deadTime (" + std::to_string(in.deadTimeMs) + " ms) by " +
                        std::to_string(silent) + " (" + who + "), so no majority can renew its write lease"};
    // A restarted pod's sidecar is heard again at once; its PostgreSQL stopped
    // stands in for the lease as in the leader's case below.
    if (seenDown && in.oldStopped && !in.leaderView)
      return {true, seen + "; its sidecar reports its PostgreSQL stopped"};
  }
  if (!in.leaderView)
    return {false, "no reachable sidecar is the watchdog leader, so no majority can be seen to report " + old +
                       " down"};
  const plan::WatchdogView& w = *in.leaderView;
  const std::string leader = w.leader.empty() ? std::string("the leader") : w.leader;
  if (!w.quorum) return {false, "watchdog leader " + leader + " holds no quorum"};
  int down = 0;
  if (auto it = w.backends.find(old); it != w.backends.end()) down = it->second.seeDown;
  const std::string seen = old + " seen down by " + std::to_string(down) + " of " + std::to_string(in.members) +
                           " members (watchdog leader " + leader + ")";
  if (down < 0 || static_cast<size_t>(down) < majority)
    return {false, seen + ", a majority is " + std::to_string(majority)};
  if (w.WriteLeaseOver(old)) return {true, seen + "; its write lease is over (not heard for deadTime)"};
  if (in.oldStopped) return {true, seen + "; its sidecar reports its PostgreSQL stopped"};
  if (!w.writeLeasesKnown)
    return {false, seen + ", but the leader reports no write leases and " + old +
                       "'s sidecar does not report its PostgreSQL stopped"};
  return {false, seen + ", but its write lease may still run (the leader heard it within deadTime) and its "
                 "sidecar does not report its PostgreSQL stopped"};
}

}  // namespace pgvigil::kube
