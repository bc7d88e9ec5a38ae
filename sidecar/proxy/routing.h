// Routing decisions, pure: the effective table (controller's table or the
// spec, checked against the health view) and the weighted choice of a
// load-balance standby. No I/O, no clocks; randomness is passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "sidecar/health_view.h"
#include "sidecar/proxy/proxy_api.h"

namespace pgvigil::proxy {

struct EffectiveNode {
  RouteNode node;
  bool healthKnown = false;
  BackendRole healthRole = BackendRole::kUnknown;
  uint64_t lagBytes = 0;
  // Health: a standby's last replayed LSN when checked (0 unknown); a lower
  // bound of what it has replayed now (read-your-writes).
  uint64_t replayLsn = 0;
  std::chrono::system_clock::time_point lastChange{};  // health: when up/role last changed
  // A standby's sync_state in the intended primary's pg_stat_replication, as
  // health last saw it ("sync", "potential", "quorum", "async"); "" when that
  // primary does not report it (or for the primary itself).
  std::string syncState;
  // Its walsender's state there ("streaming", "catchup", "startup", "backup",
  // "stopping"), the same way; "" when not reported.
  std::string walState;
  bool up = true;        // table up and (when known) health up
  bool lbEligible = false;  // may receive balanced reads
  std::string why;       // why not eligible, for logs
};

struct EffectiveRouting {
  uint64_t generation = 0;
  int primary = -1;  // index into nodes; -1: none confirmed, writes fail closed
  std::string noPrimaryReason;
  // The node meant to be primary (controller's choice, or the one health sees),
  // even when not confirmed; sessions bound to another node are closed.
  std::string intendedPrimary;
  std::vector<EffectiveNode> nodes;
  // Writes fenced (RoutingInputs::writeFence): no primary, and sessions bound to the
  // table's primary are ended, since it may no longer be the cluster's primary.
  bool writesFenced = false;
  int Find(const std::string& name) const;
};

struct RoutingInputs {
  RoutingTable table;  // controller's table, or one built from the spec
  bool fromController = false;
  std::vector<BackendHealth> health;
  uint64_t delayThreshold = 0;  // bytes; 0: no lag check
  bool loadBalance = true;
  // Non-empty: writes fail closed with this reason (see WriteFenceReason).
  std::string writeFence;
};

EffectiveRouting ComputeRouting(const RoutingInputs& in);

// Equal in everything a session or a route decision can read (every field).
// The proxy recomputes routing every 100 ms and publishes a new snapshot only
// when it is not the same as the one in effect: a session keeps what it
// computed from a snapshot (a queued read's route, StandbyIndex) while that
// snapshot is the one in effect.
bool SameRouting(const EffectiveRouting& a, const EffectiveRouting& b);

// What this sidecar's watchdog member knows that can invalidate its routing table.
struct FenceInputs {
  bool watchdogEnabled = false;
  bool quorum = false;       // a majority of members is live as seen from here
  std::string leader;        // the live leader; empty when none is known
  // This member's register copy is as new as the live leader's (see
  // Election::RegisterCurrent); false right after rejoining.
  bool registerCurrent = true;
  // The cluster-state document in the register (common/cluster_state_doc.h,
  // written by the controller), as FenceFromClusterState reads it.
  bool haveRegister = false; // written and readable
  uint64_t registerGeneration = 0;      // its routing generation ("rg")
  std::string registerPrimary;          // the primary it routes to ("rp")
  std::vector<std::string> registerFenced;  // fenced nodes ("fe")
  // Non-empty: a document is there but what the fence reads in it cannot be (why).
  std::string registerUnreadable;
  // Kubernetes mode: this node's name, and whether its watchdog write lease ran
  // out (contact_lease.h). Without a VIP, the lease guards the local primary.
  std::string self;
  bool selfLeaseLost = false;
};

// Why writes must fail closed here, or "" when they need not:
//  * this member is cut off from the watchdog quorum (or knows no live leader): the
//    rest of the cluster may have failed over and promoted another node, so a table
//    naming the old primary would make two writable primaries reachable through
//    proxies (split brain; e.g. the primary's host cut off, then its link back);
//  * (Kubernetes mode) the table's primary is this node and its write lease has run
//    out: a majority may report it down and fail over (KUBERNETES.md §6);
//  * the cluster state, written by the controller before it publishes, has a newer
//    routing generation naming another primary than the table in effect, or has
//    fenced the table's primary (this proxy missed the publication);
//  * the cluster state is there but cannot be read: it may say either, so it
//    proves nothing in the table's favour.
std::string WriteFenceReason(const FenceInputs& f, const RoutingTable& table, bool fromController);

// Sets the register fields of `f` from the cluster-state document `doc` (the
// register's "doc"), read with the contract's tolerant reader: null (never
// written) leaves haveRegister false; a document whose "rg", "rp" or "fe" is
// missing, null or of another type (a name in "fe" included), or whose "f" is not
// the format the controller writes, sets registerUnreadable, so writes fail
// closed rather than open on a document the fence cannot read. The other fields
// are not the fence's.
void FenceFromClusterState(const web::json::value& doc, FenceInputs* f);

// Weighted pick among lbEligible nodes not marked in `avoid` (same size as nodes
// or empty). r in [0,1). Returns -1 when none.
int ChooseStandby(const EffectiveRouting& r, double rand01, const std::vector<bool>& avoid = {});

}  // namespace pgvigil::proxy
