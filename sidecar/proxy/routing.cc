#include "sidecar/proxy/routing.h"

#include <algorithm>

#include "common/cluster_state_doc.h"

namespace pgvigil::proxy {

int EffectiveRouting::Find(const std::string& name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].node.name == name) return int(i);
  return -1;
}

namespace {
bool SameNode(const EffectiveNode& a, const EffectiveNode& b) {
  return a.node == b.node && a.healthKnown == b.healthKnown && a.healthRole == b.healthRole &&
         a.lagBytes == b.lagBytes && a.replayLsn == b.replayLsn && a.lastChange == b.lastChange && a.up == b.up &&
         a.syncState == b.syncState && a.walState == b.walState && a.lbEligible == b.lbEligible && a.why == b.why;
}

// Each standby's sync_state and walsender state as the intended primary
// reports them (health's last look at that primary's pg_stat_replication).
void NoteSyncStates(const std::vector<BackendHealth>& health, EffectiveRouting* r) {
  if (r->intendedPrimary.empty()) return;
  for (const auto& h : health) {
    if (h.node != r->intendedPrimary || !h.up || h.role != BackendRole::kPrimary) continue;
    for (auto& e : r->nodes) {
      if (e.node.name == h.node) continue;
      for (const auto& seen : h.replicas)
        if (seen.name == e.node.name) {
          e.syncState = seen.syncState;
          e.walState = seen.state;
        }
    }
  }
}
}  // namespace

bool SameRouting(const EffectiveRouting& a, const EffectiveRouting& b) {
  return a.generation == b.generation && a.primary == b.primary && a.noPrimaryReason == b.noPrimaryReason &&
         a.intendedPrimary == b.intendedPrimary && a.writesFenced == b.writesFenced &&
         std::equal(a.nodes.begin(), a.nodes.end(), b.nodes.begin(), b.nodes.end(), SameNode);
}

EffectiveRouting ComputeRouting(const RoutingInputs& in) {
  EffectiveRouting r;
  r.generation = in.table.generation;
  for (const auto& n : in.table.nodes) {
    EffectiveNode e;
    e.node = n;
    e.up = n.up;
    for (const auto& h : in.health) {
      if (h.node != n.name || h.lastCheck.time_since_epoch().count() == 0) continue;
      e.healthKnown = true;
      e.healthRole = h.role;
      e.lagBytes = h.replayLagBytes;
      e.replayLsn = h.role == BackendRole::kStandby ? h.lsn : 0;
      e.lastChange = h.lastChange;
      if (!h.up) e.up = false;
    }
    r.nodes.push_back(e);
  }
  // The primary: the controller's choice, or the one node health sees as primary.
  int candidate = -1;
  if (in.fromController) {
    candidate = r.Find(in.table.primary);
    if (candidate < 0) r.noPrimaryReason = in.table.primary.empty() ? "no primary in routing table"
                                                                 : "primary not in routing table";
  } else {
    int seen = 0;
    for (size_t i = 0; i < r.nodes.size(); ++i)
      if (r.nodes[i].up && r.nodes[i].healthRole == BackendRole::kPrimary) {
        candidate = int(i);
        ++seen;
      }
    if (seen == 0) r.noPrimaryReason = "no node confirmed as primary by health checks";
    if (seen > 1) {
      candidate = -1;
      r.noPrimaryReason = "more than one node reports itself primary";
    }
  }
  if (in.fromController) r.intendedPrimary = in.table.primary;
  else if (candidate >= 0) r.intendedPrimary = r.nodes[size_t(candidate)].node.name;
  if (candidate >= 0) {
    const EffectiveNode& c = r.nodes[size_t(candidate)];
    if (!c.up) {
      r.noPrimaryReason = "primary " + c.node.name + " is down";
      candidate = -1;
    } else if (c.healthKnown && c.healthRole != BackendRole::kPrimary) {
      r.noPrimaryReason = "primary " + c.node.name + " is in recovery";
      candidate = -1;
    }
  }
  if (!in.writeFence.empty()) {
    candidate = -1;
    r.noPrimaryReason = in.writeFence;
    r.writesFenced = true;
  }
  r.primary = candidate;
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    EffectiveNode& e = r.nodes[i];
    if (int(i) == r.primary) {
      e.why = "primary";
    } else if (!in.loadBalance) {
      e.why = "load balancing disabled";
    } else if (!e.up) {
      e.why = "down";
    } else if (e.node.weight <= 0) {
      e.why = "weight 0";
    } else if (e.healthKnown && e.healthRole == BackendRole::kPrimary) {
      e.why = "reports itself primary";
    } else if (in.delayThreshold > 0 && e.lagBytes > in.delayThreshold) {
      e.why = "replication lag " + std::to_string(e.lagBytes) + " bytes over threshold";
    } else {
      e.lbEligible = true;
    }
  }
  NoteSyncStates(in.health, &r);
  return r;
}

std::string WriteFenceReason(const FenceInputs& f, const RoutingTable& table, bool fromController) {
  if (!f.watchdogEnabled) return "";
  if (!f.quorum) return "this member has no watchdog quorum (cut off from the cluster?)";
  if (f.leader.empty()) return "no live watchdog leader is known here";
  if (!f.registerCurrent)
    return "this member's copy of the cluster state is not yet in sync with leader " + f.leader;
  if (f.selfLeaseLost && !f.self.empty() && table.primary == f.self)
    return "this node (" + f.self + ") is the primary and its watchdog write lease ran out: no "
           "majority confirmed hearing it, so another node may be promoted";
  if (!fromController) return "";
  if (!f.registerUnreadable.empty())
    return "the cluster state in the watchdog register cannot be read (" + f.registerUnreadable +
           "): it may fence or replace primary '" + table.primary + "'";
  if (!f.haveRegister) return "";
  for (const auto& n : f.registerFenced)
    if (n == table.primary) return "primary " + n + " is fenced in the cluster state";
  if (f.registerGeneration > table.generation && f.registerPrimary != table.primary)
    return "routing generation " + std::to_string(table.generation) + " names primary '" + table.primary +
           "' but the cluster state's generation " + std::to_string(f.registerGeneration) + " names '" +
           f.registerPrimary + "'";
  return "";
}

void FenceFromClusterState(const web::json::value& doc, FenceInputs* f) {
  f->haveRegister = false;
  f->registerUnreadable.clear();
  if (doc.is_null()) return;  // never written: nothing to go by
  std::vector<std::string> notes;
  ClusterStateDoc d = ClusterStateDocFromJson(doc, &notes);
  std::string why;
  if (!doc.is_object()) {
    why = "not an object";
  } else if (d.format != kClusterStateFormat) {
    why = "format " + (doc.has_field("f") ? doc.at("f").serialize() : std::string("missing")) +
          " is not the controller's " + std::to_string(kClusterStateFormat);
  } else {
    for (const char* key : {"rg", "rp", "fe"})
      if (!doc.has_field(key) || doc.at(key).is_null()) {
        why = std::string(key) + ": missing";
        break;
      }
    for (const std::string& n : notes)
      if (why.empty() && (n.rfind("rg:", 0) == 0 || n.rfind("rp:", 0) == 0 || n.rfind("fe:", 0) == 0 ||
                          n.rfind("fe[", 0) == 0))
        why = n;
  }
  if (!why.empty()) {
    f->registerUnreadable = why;
    return;
  }
  f->haveRegister = true;
  f->registerGeneration = d.routingGeneration;
  f->registerPrimary = d.routedPrimary;
  f->registerFenced = d.fenced;
}

int ChooseStandby(const EffectiveRouting& r, double rand01, const std::vector<bool>& avoid) {
  long total = 0;
  for (size_t i = 0; i < r.nodes.size(); ++i)
    if (r.nodes[i].lbEligible && (avoid.empty() || !avoid[i])) total += r.nodes[i].node.weight;
  if (total <= 0) return -1;
  double point = rand01 * double(total);
  long acc = 0;
  int last = -1;
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    if (!r.nodes[i].lbEligible || (!avoid.empty() && avoid[i])) continue;
    acc += r.nodes[i].node.weight;
    last = int(i);
    if (point < double(acc)) return int(i);
  }
  return last;
}

}  // namespace pgvigil::proxy
