// The libpq half of the controller's observation of one node: role, timeline and
// its history, LSNs, upstream, the primary's pg_stat_replication and
// synchronous_standby_names. Blocking, bounded by connect_timeout and
// statement_timeout: call from an observer thread, never an event loop.
#pragma once

#include <string>

#include "common/spec.h"
#include "controller/plan/observation.h"

namespace pgvigil {

struct PgCredentials {
  std::string user;
  std::string password;
  std::string database = "postgres";
  int connectTimeoutSeconds = 2;
};

// Updates the libpq fields of `out`: on success pgReachable = true and every
// field refreshed, pgObservedAt = now; on failure pgReachable = false and the
// last values seen are kept (the planner reasons about a crashed primary's last
// LSN). Returns the error text on failure, "" on success.
std::string ObservePostgres(const ClusterSpec& spec, const NodeSpec& node,
                            const PgCredentials& creds, plan::TimeMs now,
                            plan::NodeObservation* out);

// Parsers, pure, exposed for tests.
bool ParseLsn(const std::string& text, plan::Lsn* out);  // "16/B374D848"
// A timeline history file's lines "1\t0/3000158\treason" -> switches, oldest first.
std::vector<plan::TimelineSwitch> ParseTimelineHistory(const std::string& text);
// host and port named by a primary_conninfo string ("" / 0 when absent).
void ParseConnInfoHostPort(const std::string& conninfo, std::string* host, int* port);

}  // namespace pgvigil
