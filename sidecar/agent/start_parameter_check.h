// postgres.parameters checked at the sidecar's start, before pgvigil.conf is
// written from them (postgres_parameters.h). A value PostgreSQL refuses in a
// configuration file (work_mem 'lots', an unknown name, 12XB, a time zone that
// does not exist) stops a postmaster from starting at all ("configuration
// file ... contains errors"), and the spec file a sidecar starts from (VMs:
// /etc/pgvigil/cluster.yaml, written by hand or by the controller) is not
// checked by any running server. So PostgreSQL itself reads them, without a
// server: the settings rendered as pgvigil.conf renders them into a scratch
// directory's postgresql.conf, then `postgres -D SCRATCH -C server_version`
// as the OS user (the binaries of spec.postgres.binDirectory; the real data
// directory is not touched and need not exist). Settings it refuses are set
// aside, each logged with the file, the setting and PostgreSQL's words, and
// the sidecar starts with the rest. Not caught here: what a postmaster checks
// only later in its start (shared_preload_libraries that do not load, limits
// between settings such as max_wal_senders against max_connections).
// Blocks (child processes, about 20 ms each); start path only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "sidecar/agent/local_postgres.h"
#include "sidecar/agent/parameter_check.h"
#include "sidecar/agent/spec_update.h"

namespace pgvigil {

// The settings of `params` PostgreSQL (node.binDir, as node.osUser when root)
// refuses in a configuration file, with its reasons; an error when it could
// not be asked (no binary, it failed for another reason). One run for all;
// when that is refused, one run per setting to name each.
Result<std::vector<ParameterProblem>> CheckParametersWithPostgres(const LocalNode& node,
                                                                  const std::map<std::string, std::string>& params);

// At start (sidecar main; the agent tests' restart): ResolveStartSpec
// (refused_parameters.h), then the chosen spec's postgres.parameters checked
// by CheckParametersWithPostgres, those refused dropped from it (PostgreSQL
// then takes them from postgresql.conf or its defaults). When the check
// cannot run, the spec is used as it is, and that is logged.
StartSpec PrepareStartSpec(const ClusterSpec& file_spec, uint64_t file_generation, const std::string& file_path,
                           const std::string& state_dir, const std::string& node);

}  // namespace pgvigil
