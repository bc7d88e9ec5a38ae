#include "sidecar/agent/pg_status_query.h"

#include <libpq-fe.h>

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "sidecar/agent/pg_output_parse.h"
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
    " (SELECT sender_port FROM pg_stat_wal_receiver),"
    // A primary's walsenders: which standby is synchronous (SHOW pool_nodes).
    " (CASE WHEN NOT pg_is_in_recovery() THEN (SELECT string_agg(concat_ws(E'\\t', coalesce(application_name, ''),"
    "        coalesce(state, ''), coalesce(sync_state, '')), E'\\n' ORDER BY application_name)"
    "      FROM pg_stat_replication) END)";

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

using Clock = std::chrono::steady_clock;

// Waits until the connection's socket is readable (or writable); "" when it
// is, else why not (deadline passed, given up, poll error).
std::string WaitSocket(PGconn* c, bool for_write, Clock::time_point deadline, const ConnParams& p) {
  while (true) {
    if (p.giveUp && p.giveUp()) return p.giveUpReason;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return "no answer within " + std::to_string(p.connectTimeoutMs) + " ms";
    pollfd pfd{PQsocket(c), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    if (pfd.fd < 0) return "no socket";
    int slice = static_cast<int>(std::min<int64_t>(left.count(), p.giveUp ? 50 : left.count()));
    int rc = ::poll(&pfd, 1, slice);
    if (rc > 0) return "";
    if (rc < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
  }
}

Result<ConnPtr> Connect(const ConnParams& p, Clock::time_point deadline) {
  ConnPtr conn(PQconnectStart(BuildConnInfo(p).c_str()));
  if (!conn) return Result<ConnPtr>::Error("out of memory");
  if (PQstatus(conn.get()) == CONNECTION_BAD)
    return Result<ConnPtr>::Error(Trim(PQerrorMessage(conn.get())));
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) return Result<ConnPtr>::Error(Trim(PQerrorMessage(conn.get())));
    std::string why = WaitSocket(conn.get(), st == PGRES_POLLING_WRITING, deadline, p);
    if (!why.empty()) return Result<ConnPtr>::Error("connecting to " + p.host + ":" + std::to_string(p.port) + ": " + why);
    st = PQconnectPoll(conn.get());
  }
  return Result<ConnPtr>(std::move(conn));
}

Result<ConnPtr> Connect(const ConnParams& p) {
  return Connect(p, Clock::now() + std::chrono::milliseconds(std::max(1, p.connectTimeoutMs)));
}

// Runs `sql` and waits for its result until `deadline`.
Result<ResPtr> QueryUntil(PGconn* c, const char* sql, Clock::time_point deadline, const ConnParams& p) {
  if (!PQsendQuery(c, sql)) return Result<ResPtr>::Error(Trim(PQerrorMessage(c)));
  ResPtr last;
  while (true) {
    while (PQisBusy(c)) {
      std::string why = WaitSocket(c, false, deadline, p);
      if (!why.empty()) return Result<ResPtr>::Error(why);
      if (!PQconsumeInput(c)) return Result<ResPtr>::Error(Trim(PQerrorMessage(c)));
    }
    PGresult* r = PQgetResult(c);
    if (!r) break;
    last.reset(r);
  }
  if (!last) return Result<ResPtr>::Error("no result");
  return Result<ResPtr>(std::move(last));
}

// First column of the first row on an open connection ("" when no rows or NULL).
Result<std::string> ScalarOn(PGconn* c, const char* sql) {
  ResPtr res(PQexec(c, sql));
  if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK)
    return Result<std::string>::Error(Trim(PQerrorMessage(c)));
  if (PQntuples(res.get()) == 0 || PQgetisnull(res.get(), 0, 0)) return std::string();
  return std::string(PQgetvalue(res.get(), 0, 0));
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

namespace {

Result<PgObservation> ParseStatus(PGresult* r) {
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    return Result<PgObservation>::Error("status query: " + Trim(PQresultErrorMessage(r)));
  if (PQntuples(r) != 1) return Result<PgObservation>::Error("status query: no row");
  PgObservation o;
  bool in_recovery = std::string(PQgetvalue(r, 0, 0)) == "t";
  o.role = in_recovery ? BackendRole::kStandby : BackendRole::kPrimary;
  o.lsn = ToU64(r, 1);
  o.receivedLsn = ToU64(r, 2);
  o.timeline = ToU64(r, 3);
  if (!PQgetisnull(r, 0, 4)) o.walReceiver = PQgetvalue(r, 0, 4);
  if (!PQgetisnull(r, 0, 5)) o.upstreamHost = PQgetvalue(r, 0, 5);
  o.upstreamPort = static_cast<int>(ToU64(r, 6));
  if (!PQgetisnull(r, 0, 7)) o.replicas = ParseReplicaRows(PQgetvalue(r, 0, 7));
  return o;
}

}  // namespace

PgStatusSession::~PgStatusSession() { Reset(); }

void PgStatusSession::Reset() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

Result<PgObservation> PgStatusSession::Observe(const ConnParams& p) {
  // One deadline for the connection and the query: a host that stops answering
  // (cut off) is given up on after the timeout, to the millisecond.
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::milliseconds(std::max(1, p.connectTimeoutMs));
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) {
    auto q = QueryUntil(conn_, kStatusSql, deadline, p);
    if (q.ok() && PQresultStatus(q->get()) == PGRES_TUPLES_OK) return ParseStatus(q->get());
    Reset();
    // A kept connection that failed at once was closed under it (the server
    // restarted or stopped): a new one tells the truth. One that timed out is a
    // host that does not answer: the attempt is over.
    const std::string why = q.ok() ? Trim(PQresultErrorMessage(q->get())) : q.error();
    if (Clock::now() - started > std::chrono::milliseconds(200) || Clock::now() >= deadline)
      return Result<PgObservation>::Error("status query: " + why);
  }
  Reset();
  auto conn = Connect(p, deadline);
  if (!conn.ok()) return conn.status();
  auto q = QueryUntil(conn->get(), kStatusSql, deadline, p);
  if (!q.ok()) return Result<PgObservation>::Error("status query: " + q.error());
  auto o = ParseStatus(q->get());
  if (o.ok()) conn_ = conn->release();
  return o;
}

Result<PgObservation> ObservePostgres(const ConnParams& p) {
  PgStatusSession one_look;
  return one_look.Observe(p);
}

Result<PgObservation> PromoteAndWait(const ConnParams& p, std::chrono::milliseconds timeout,
                                     PromoteOutcome* outcome) {
  *outcome = PromoteOutcome::kNotSignalled;
  auto conn = Connect(p);
  if (!conn.ok()) return conn.status();
  auto status = [&]() -> Result<PgObservation> {
    ResPtr res(PQexec(conn->get(), kStatusSql));
    if (!res) return Result<PgObservation>::Error(Trim(PQerrorMessage(conn->get())));
    return ParseStatus(res.get());
  };
  auto v = ScalarOn(conn->get(), "SELECT pg_is_in_recovery()");
  if (!v.ok()) return v.status().Context("pg_is_in_recovery");
  if (*v == "f") {
    *outcome = PromoteOutcome::kAlreadyPrimary;
    return status();
  }
  v = ScalarOn(conn->get(), "SELECT pg_promote(false)");
  if (!v.ok()) return v.status().Context("pg_promote");
  if (*v != "t") return Result<PgObservation>::Error("pg_promote returned " + *v);
  *outcome = PromoteOutcome::kPromoted;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    v = ScalarOn(conn->get(), "SELECT pg_is_in_recovery()");
    if (!v.ok()) return v.status().Context("waiting for the promotion");
    if (*v == "f") return status();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Result<PgObservation>::Error("still in recovery " + std::to_string(timeout.count()) +
                                      " ms after pg_promote");
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
  return ScalarOn(conn->get(), sql.c_str());
}

}  // namespace pgvigil
