// The watchdog's Prometheus metrics, declared once. References stay valid for the
// registry's lifetime; updating is lock-free.
#pragma once

#include <map>
#include <string>

#include "common/metrics.h"
#include "sidecar/watchdog/wire_message.h"

namespace pgvigil {
namespace watchdog {

struct WatchdogMetrics {
  explicit WatchdogMetrics(MetricsRegistry& r)
      : term(r.GetGauge("pgvigil_watchdog_term", "Current watchdog term of this member")),
        isLeader(r.GetGauge("pgvigil_watchdog_is_leader",
                            "1 when this member is LEADER and holds the lease")),
        quorum(r.GetGauge("pgvigil_watchdog_quorum",
                          "1 when a majority of members is live as seen from here")),
        liveMembers(r.GetGauge("pgvigil_watchdog_live_members", "Members heard within deadTime, self included")),
        vipHeld(r.GetGauge("pgvigil_watchdog_vip_held", "1 while this member holds the VIP")),
        elections(r.GetCounter("pgvigil_watchdog_elections_total",
                               "Elections this member started (after a pre-vote majority)")),
        leaderChanges(r.GetCounter("pgvigil_watchdog_leader_changes_total",
                                   "Changes of the leader seen by this member")),
        vipUp(r.GetCounter("pgvigil_watchdog_vip_up_total", "VIP brought up on this member")),
        vipDown(r.GetCounter("pgvigil_watchdog_vip_down_total", "VIP brought down on this member")),
        vipFailures(r.GetCounter("pgvigil_watchdog_vip_command_failures_total",
                                 "VIP up/down commands that failed")),
        sent(r.GetCounter("pgvigil_watchdog_datagrams_sent_total", "Datagrams sent")),
        received(r.GetCounter("pgvigil_watchdog_datagrams_received_total",
                              "Datagrams accepted (authenticated, fresh)")),
        persistFailures(r.GetCounter("pgvigil_watchdog_persist_failures_total",
                                     "Failed writes of the durable watchdog state")),
        registerDurable(r.GetGauge("pgvigil_watchdog_register_durable_version",
                                   "Newest register version known durable (leader)")) {
    for (DropReason d : {DropReason::kTooShort, DropReason::kTooLong, DropReason::kBadMagic,
                         DropReason::kBadMac, DropReason::kMalformed, DropReason::kUnknownMember,
                         DropReason::kMembershipMismatch, DropReason::kReplayed, DropReason::kStale,
                         DropReason::kOldIncarnation})
      dropped[d] = &r.GetCounter("pgvigil_watchdog_dropped_datagrams_total",
                                 "Datagrams dropped, by reason",
                                 std::string("reason=\"") + ToString(d) + "\"");
  }

  Gauge& term;
  Gauge& isLeader;
  Gauge& quorum;
  Gauge& liveMembers;
  Gauge& vipHeld;
  Counter& elections;
  Counter& leaderChanges;
  Counter& vipUp;
  Counter& vipDown;
  Counter& vipFailures;
  Counter& sent;
  Counter& received;
  Counter& persistFailures;
  Gauge& registerDurable;
  std::map<DropReason, Counter*> dropped;
};

}  // namespace watchdog
}  // namespace pgvigil
