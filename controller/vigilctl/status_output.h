// vigilctl's status output and recover progress, shared by the VM commands
// (controller REST API) and the Kubernetes ones (the PostgresCluster's
// status.report, which holds the same JSON): one renderer, one output.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include <cpprest/json.h>

#include "common/result.h"
#include "controller/status/cluster_status.h"

namespace pgvigil {

// A JSON value as YAML (block style), for -o yaml.
void PrintYaml(const web::json::value& v, int indent, std::ostream& out);

// A GET /v1/status body in `format` (table, json, yaml, pool_nodes) on stdout;
// the exit code (2 for an unknown format). `where` names the source in errors.
int PrintStatus(const web::json::value& body, const std::string& format, const std::string& where);

// recover: a live progress line until `node` streams or its operation fails
// (`fetch` gives the cluster status each half second); the exit code.
int FollowRecovery(const std::string& node, const std::function<Result<ClusterStatus>()>& fetch);

}  // namespace pgvigil
