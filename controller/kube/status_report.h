// The per-instance and decision parts of the PostgresCluster status
// (KUBERNETES.md §3), built from the acting Reconciler's ClusterStatus (what
// GET /v1/status serves on VMs). Pure. They are written with status.report,
// at its cadence (kube_controller.h: when its stable part changes, else at
// most every reportPeriod), never on their own.
//
//   instancesReportedState {NAME: {role, timeline, lsn, lagBytes, ready}}
//     role: fenced | detached (the state's lists) else primary | standby |
//     unknown (the controller's view); lsn "0/3000060" and lagBytes (replay
//     lag behind the primary) only where known; ready as readyInstances
//     counts it (IsReady).
//   lastEvents [{time, action, instance, reason}]: the newest kMaxLastEvents
//     decisions, oldest first (the planner's actions, leadership, requests,
//     node loss); the Kubernetes Events of the actions carry the same.
#pragma once

#include <string>
#include <vector>

#include <cpprest/json.h>

#include "controller/status/cluster_status.h"

namespace pgvigil::kube {

inline constexpr size_t kMaxLastEvents = 10;

// PostgreSQL answers as the primary, or as a standby that streams.
bool IsReady(const NodeStatus& n);

// The declared standbys that do not stream from the primary: every instance
// but s.primary that is not fenced or detached, unless PostgreSQL answers, its
// WAL receiver streams from the primary (pg_stat_wal_receiver, upstream) and
// the primary's pg_stat_replication shows it streaming (plan::StreamsFromPrimary,
// the planner's test for a synchronous candidate too). In the order of s.nodes;
// empty while there is no primary.
std::vector<std::string> StandbysNotStreaming(const ClusterStatus& s);

web::json::value InstancesReportedStateJson(const ClusterStatus& s);
web::json::value LastEventsJson(const std::vector<pgvigil::EventRecord>& events);

}  // namespace pgvigil::kube
