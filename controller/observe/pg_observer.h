// The libpq half of the controller's observation of one node: role, timeline and
// its history, LSNs, upstream, the primary's pg_stat_replication and
// synchronous_standby_names. Blocking, bounded by connect_timeout and
// statement_timeout: call from an observer thread, never an event loop.
#pragma once

#include <string>

#include "common/spec.h"
#include "controller/plan/observation.h"

struct pg_conn;  // libpq's PGconn

namespace pgvigil {

struct PgCredentials {
  std::string user;
  std::string password;
  std::string database = "postgres";
  int connectTimeoutSeconds = 2;
};

// A reusable connection to one node (the controller observes every node several
// times a second; a new connection each time would cost each server a fork and
// a SCRAM exchange per look). Not thread-safe: one per node per thread.
class PgSession {
 public:
  PgSession();
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;
  ::pg_conn* conn = nullptr;  // nullptr: connect at the next use
  void Reset();
};

// Updates the libpq fields of `out`: on success pgReachable = true and every
// field refreshed, pgObservedAt = now; on failure pgReachable = false and the
// last values seen are kept (the planner reasons about a crashed primary's last
// LSN). Returns the error text on failure, "" on success. With `session`, its
// connection is reused when it still works (one fresh retry when a reused one
// fails), and kept for the next call.
std::string ObservePostgres(const ClusterSpec& spec, const NodeSpec& node,
                            const PgCredentials& creds, plan::TimeMs now,
                            plan::NodeObservation* out, PgSession* session = nullptr);

// Parsers, pure, exposed for tests.
bool ParseLsn(const std::string& text, plan::Lsn* out);  // "16/B374D848"
// A timeline history file's lines "1\t0/3000158\treason" -> switches, oldest first.
std::vector<plan::TimelineSwitch> ParseTimelineHistory(const std::string& text);
// host and port named by a primary_conninfo string ("" / 0 when absent).
void ParseConnInfoHostPort(const std::string& conninfo, std::string* host, int* port);

}  // namespace pgvigil
