// Runs node-agent operations (promote, stop, start, restart, follow, rebuild, init)
// against this node's PostgreSQL. Run() blocks for the whole operation: call it
// on the operation's worker thread. Safe to use from one thread at a time (the
// registry allows one operation at a time); holds no reference to the component.
#pragma once

#include <string>

#include "common/result.h"
#include "sidecar/agent/local_postgres.h"
#include "sidecar/agent/op_request.h"
#include "sidecar/agent/operations.h"

namespace pgvigil {

// Configuration files a rebuild keeps from this node's old data directory
// (pg_basebackup / pg_rewind would otherwise replace them with the primary's).
extern const char* const kLocalConfigFiles[4];

class NodeOperations {
 public:
  explicit NodeOperations(LocalNode node) : node_(std::move(node)) {}
  Status Run(const OpRequest& req, Operation& op);

  // How long a standby may take to stream after start / repointing.
  static constexpr std::chrono::seconds kStreamingTimeout{90};

 private:
  Status Promote(PgTools& t, Operation& op);
  Status Stop(PgTools& t, const OpRequest& req, Operation& op);
  Status Start(PgTools& t, Operation& op);
  Status Restart(PgTools& t, const OpRequest& req, Operation& op);
  Status Follow(PgTools& t, const OpRequest& req, Operation& op);
  Status Rebuild(PgTools& t, const OpRequest& req, Operation& op);  // rebuild_operation.cc
  Status Init(PgTools& t, Operation& op);                           // init_operation.cc

  // Running state and role; refuses (error) a running unfenced primary.
  Status Inspect(PgTools& t, bool fenced, bool* running, BackendRole* role, Operation& op);
  // Makes `dir` a standby data directory of `primary`: optionally restores the
  // saved local config files, writes postgresql.auto.conf settings and standby.signal.
  Status ConfigureStandby(const std::string& dir, const NodeSpec& primary, const std::string& slot,
                          bool restore_saved_config, Operation& op);

  const LocalNode node_;
};

}  // namespace pgvigil
