// One round trip to a PostgreSQL server over libpq: is it up, in recovery or
// not, timeline, LSNs, WAL receiver. Blocking (bounded by connect_timeout and
// statement_timeout in the conninfo): call from a checker or operation thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "sidecar/health_view.h"

struct pg_conn;  // libpq's PGconn

namespace pgvigil {

struct PgObservation {
  BackendRole role = BackendRole::kUnknown;
  uint64_t timeline = 0;
  uint64_t lsn = 0;          // primary: current WAL LSN; standby: last replayed
  uint64_t receivedLsn = 0;  // standby: last received
  std::string walReceiver;   // standby: pg_stat_wal_receiver.status, "" when none
  std::string upstreamHost;
  int upstreamPort = 0;
  std::vector<ReplicaSeen> replicas;  // primary: its pg_stat_replication
};

struct ConnParams {
  std::string host;
  int port = 5432;
  std::string user;
  std::string password;  // may be empty (trust / .pgpass)
  std::string dbname = "postgres";
  // The connection must be up within this many milliseconds (polled, not libpq's
  // whole-second connect_timeout); ObservePostgres's query too.
  int connectTimeoutMs = 2000;
  int statementTimeoutMs = 0;   // 0: none
  std::string applicationName = "pgvigil-sidecar";
  // Polled every few tens of milliseconds while connecting or waiting for the
  // status query (ObservePostgres): true gives up at once with `giveUpReason`.
  std::function<bool()> giveUp;
  std::string giveUpReason = "given up";
};

// A libpq conninfo string with every value quoted ('...' with \' and \\).
std::string BuildConnInfo(const ConnParams& p);

Result<PgObservation> ObservePostgres(const ConnParams& p);

// The same look over a kept connection (a health checker looks several times a
// second; a new connection each time costs the server a fork and an
// authentication, hundreds of milliseconds on a loaded host). A kept connection
// that fails at once is replaced within the same look; one that times out ends it.
// Not thread-safe: one per checking thread.
class PgStatusSession {
 public:
  PgStatusSession() = default;
  ~PgStatusSession();
  PgStatusSession(const PgStatusSession&) = delete;
  PgStatusSession& operator=(const PgStatusSession&) = delete;
  Result<PgObservation> Observe(const ConnParams& p);
  void Reset();

 private:
  ::pg_conn* conn_ = nullptr;
};

// Promotes the server over one connection: pg_is_in_recovery() (already a
// primary: nothing to do), pg_promote(wait => false), then pg_is_in_recovery()
// every 10 ms until false or `timeout`; returns the status seen afterwards.
// pg_ctl promote -w (and pg_promote's own wait) look only every 100 ms, and new
// connections cost a loaded server hundreds of milliseconds: a failover waits on this.
enum class PromoteOutcome { kNotSignalled, kAlreadyPrimary, kPromoted };
Result<PgObservation> PromoteAndWait(const ConnParams& p, std::chrono::milliseconds timeout,
                                     PromoteOutcome* outcome);

// Runs one SQL command (no result rows expected). For operations (ALTER SYSTEM ...).
Status ExecSql(const ConnParams& p, const std::string& sql);
// First column of the first row ("" when no rows or NULL).
Result<std::string> QueryScalar(const ConnParams& p, const std::string& sql);

}  // namespace pgvigil
