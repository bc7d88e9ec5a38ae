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
  std::chrono::system_clock::time_point lastChange{};  // health: when up/role last changed
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
  int Find(const std::string& name) const;
};

struct RoutingInputs {
  RoutingTable table;  // controller's table, or one built from the spec
  bool fromController = false;
  std::vector<BackendHealth> health;
  uint64_t delayThreshold = 0;  // bytes; 0: no lag check
  bool loadBalance = true;
};

EffectiveRouting ComputeRouting(const RoutingInputs& in);

// Weighted pick among lbEligible nodes not marked in `avoid` (same size as nodes
// or empty). r in [0,1). Returns -1 when none.
int ChooseStandby(const EffectiveRouting& r, double rand01, const std::vector<bool>& avoid = {});

}  // namespace pgvigil::proxy
