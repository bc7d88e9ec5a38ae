// The REST routes of pgvigil-controller --kubernetes (KUBERNETES.md §8:
// port 9900, probes on GET /healthz). Pure request handling; the listener is
// the agent's RestServer. No mutations, so no token:
//   GET|HEAD /healthz   200 while the process runs (an API-server outage is
//                       no reason for the kubelet to restart it)
//   GET /v1/replica     this replica: identity, role, acting term, clusters
//                       (/v1/status stays free for vigilctl's per-cluster status)
// Other paths 404, other methods 405.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sidecar/agent/rest_routes.h"

namespace pgvigil::kube {

struct KubeControllerView {
  std::string identity;               // the elector's holder identity
  std::string role;                   // candidate, leader, stopped
  uint64_t actingTerm = 0;            // 0: not acting
  std::vector<std::string> clusters;  // "ns/name" with a Reconciler
};

ApiResponse HandleKubeRequest(const ApiRequest& req, const KubeControllerView& view);

}  // namespace pgvigil::kube
