// The REST routes of pgvigil-controller --kubernetes (KUBERNETES.md §8:
// port 9900, probes on GET /healthz). Pure request handling; the server is
// common/http_server.h (as for both REST APIs). No mutations, so no token:
//   GET|HEAD /healthz   200 while the process runs (an API-server outage is
//                       no reason for the kubelet to restart it)
//   GET /v1/replica     this replica: identity, role, acting term, clusters
//   GET /v1/status      a cluster's status as on VMs (vigilctl status):
//                       ?cluster=ns/name, or the only running one; 404
//                       unknown, 409 several and none named
//                       (a cluster name without namespace matches too when unique)
// Other paths 404, other methods 405.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/http_api.h"
#include "controller/status/cluster_status.h"

namespace pgvigil::kube {

struct KubeControllerView {
  std::string identity;               // the elector's holder identity
  std::string role;                   // candidate, leader, stopped
  uint64_t actingTerm = 0;            // 0: not acting
  std::vector<std::string> clusters;  // "ns/name" with a Reconciler
  // A running cluster's status by "ns/name" (null function: none).
  std::function<std::optional<ClusterStatus>(const std::string&)> status;
};

ApiResponse HandleKubeRequest(const ApiRequest& req, const KubeControllerView& view);

}  // namespace pgvigil::kube
