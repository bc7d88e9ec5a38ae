#include "sidecar/agent/pg_status_query.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>

#include "sidecar/agent/standby_config.h"

namespace pgvigil {

namespace {

// The same query for primaries and standbys; CASE keeps primary-only functions
// (pg_current_wal_lsn, pg_walfile_name) from running during recovery.
const char* kStatusSql =
    "SELECT pg_is_in_recovery(),"
    " (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
    "       ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::text,"
    " (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() - '0/0'::pg_lsn END)::text,"
    " (CASE WHEN pg_is_in_recovery() THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver),"
    "        (pg_control_checkpoint()).timeline_id)::bigint"
    "   ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END),"
    " (SELECT status FROM pg_stat_wal_receiver),"
    " (SELECT sender_host FROM pg_stat_wal_receiver),"
    " (SELECT sender_port FROM pg_stat_wal_receiver)";

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ResPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string Trim(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

Result<ConnPtr> Connect(const ConnParams& p) {
  ConnPtr conn(PQconnectdb(BuildConnInfo(p).c_str()));
  if (!conn) return Result<ConnPtr>::Error("out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK)
    return Result<ConnPtr>::Error(Trim(PQerrorMessage(conn.get())));
  return conn;
}

uint64_t ToU64(PGresult* r, int col) {
  if (PQgetisnull(r, 0, col)) return 0;
  return std::strtoull(PQgetvalue(r, 0, col), nullptr, 10);
}

}  // namespace

std::string BuildConnInfo(const ConnParams& p) {
  int timeout_s = (p.connectTimeoutMs + 999) / 1000;
  if (timeout_s < 1) timeout_s = 1;
  std::string s = "host=" + QuoteConnValue(p.host) + " port=" + std::to_string(p.port) +
                  " dbname=" + QuoteConnValue(p.dbname) + " user=" + QuoteConnValue(p.user) +
                  " connect_timeout=" + std::to_string(timeout_s) +
                  " application_name=" + QuoteConnValue(p.applicationName);
  if (!p.password.empty()) s += " password=" + QuoteConnValue(p.password);
  if (p.statementTimeoutMs > 0)
    s += " options=" + QuoteConnValue("-c statement_timeout=" + std::to_string(p.statementTimeoutMs));
  return s;
}

Result<PgObservation> ObservePostgres(const ConnParams& p) {
  auto conn = Connect(p);
  if (!conn.ok()) return conn.status();
  ResPtr res(PQexec(conn->get(), kStatusSql));
  if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK)
    return Result<PgObservation>::Error("status query: " + Trim(PQerrorMessage(conn->get())));
  if (PQntuples(res.get()) != 1) return Result<PgObservation>::Error("status query: no row");
  PgObservation o;
  PGresult* r = res.get();
  bool in_recovery = std::string(PQgetvalue(r, 0, 0)) == "t";
  o.role = in_recovery ? BackendRole::kStandby : BackendRole::kPrimary;
  o.lsn = ToU64(r, 1);
  o.receivedLsn = ToU64(r, 2);
  o.timeline = ToU64(r, 3);
  if (!PQgetisnull(r, 0, 4)) o.walReceiver = PQgetvalue(r, 0, 4);
  if (!PQgetisnull(r, 0, 5)) o.upstreamHost = PQgetvalue(r, 0, 5);
  o.upstreamPort = static_cast<int>(ToU64(r, 6));
  return o;
}

Status ExecSql(const ConnParams& p, const std::string& sql) {
  auto conn = Connect(p);
  if (!conn.ok()) return conn.status();
  ResPtr res(PQexec(conn->get(), sql.c_str()));
  auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return Status::Error(Trim(PQerrorMessage(conn->get())));
  return Status::Ok();
}

Result<std::string> QueryScalar(const ConnParams& p, const std::string& sql) {
  auto conn = Connect(p);
  if (!conn.ok()) return conn.status();
  ResPtr res(PQexec(conn->get(), sql.c_str()));
  if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK)
    return Result<std::string>::Error(Trim(PQerrorMessage(conn->get())));
  if (PQntuples(res.get()) == 0 || PQgetisnull(res.get(), 0, 0)) return std::string();
  return std::string(PQgetvalue(res.get(), 0, 0));
}

}  // namespace pgvigil
