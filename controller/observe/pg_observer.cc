#include "controller/observe/pg_observer.h"

#include <libpq-fe.h>

#include <chrono>

#include <cstdlib>
#include <memory>
#include <sstream>

namespace pgvigil {

namespace {

using plan::Lsn;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Res = std::unique_ptr<PGresult, ResultDeleter>;

std::string Quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

// Runs a query expected to return rows; nullptr and *error on failure.
Res Query(PGconn* c, const std::string& sql, std::string* error) {
  Res r(PQexec(c, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    *error = PQerrorMessage(c);
    while (!error->empty() && error->back() == '\n') error->pop_back();
    return nullptr;
  }
  return r;
}

std::string Cell(PGresult* r, int row, int col) {
  return PQgetisnull(r, row, col) ? std::string() : std::string(PQgetvalue(r, row, col));
}

std::string NodeAt(const ClusterSpec& spec, const std::string& host, int port) {
  for (const auto& n : spec.nodes)
    if (n.host == host && spec.PgPort(n) == port) return n.name;
  return "";
}

}  // namespace

bool ParseLsn(const std::string& text, Lsn* out) {
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= text.size()) return false;
  // Named strings: `end` points into them (into a temporary it was read after
  // the temporary's end; found by ASan).
  const std::string hi_text = text.substr(0, slash), lo_text = text.substr(slash + 1);
  char* end = nullptr;
  unsigned long long hi = std::strtoull(hi_text.c_str(), &end, 16);
  if (*end) return false;
  unsigned long long lo = std::strtoull(lo_text.c_str(), &end, 16);
  if (*end || hi > 0xffffffffULL || lo > 0xffffffffULL) return false;
  *out = (static_cast<Lsn>(hi) << 32) | static_cast<Lsn>(lo);
  return true;
}

std::vector<plan::TimelineSwitch> ParseTimelineHistory(const std::string& text) {
  std::vector<plan::TimelineSwitch> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string tli, lsn;
    if (!(fields >> tli >> lsn) || tli[0] == '#') continue;
    plan::TimelineSwitch s;
    char* end = nullptr;
    unsigned long t = std::strtoul(tli.c_str(), &end, 10);
    if (*end || !ParseLsn(lsn, &s.switchLsn)) continue;
    s.timeline = static_cast<uint32_t>(t);
    out.push_back(s);
  }
  return out;
}

void ParseConnInfoHostPort(const std::string& conninfo, std::string* host, int* port) {
  host->clear();
  *port = 0;
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    PQfreemem(err);
    return;
  }
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string k = o->keyword;
    if (k == "host" || (k == "hostaddr" && host->empty())) *host = o->val;
    if (k == "port") *port = std::atoi(o->val);
  }
  PQconninfoFree(opts);
  if (!host->empty() && *port == 0) *port = 5432;
}

PgSession::PgSession() = default;
PgSession::~PgSession() { Reset(); }
void PgSession::Reset() {
  if (conn) PQfinish(conn);
  conn = nullptr;
}

namespace {

std::string ObserveOnce(const ClusterSpec& spec, PGconn* c, plan::TimeMs now,
                        plan::NodeObservation* out);

}  // namespace

std::string ObservePostgres(const ClusterSpec& spec, const NodeSpec& node,
                            const PgCredentials& creds, plan::TimeMs now,
                            plan::NodeObservation* out, PgSession* session) {
  // tcp_user_timeout and keepalives bound a reused connection's wait when the
  // host is cut off (statement_timeout cannot: the server never hears of it).
  const std::string conninfo =
      "host=" + Quote(node.host) + " port=" + std::to_string(spec.PgPort(node)) +
      " user=" + Quote(creds.user) + " password=" + Quote(creds.password) +
      " dbname=" + Quote(creds.database) +
      " connect_timeout=" + std::to_string(creds.connectTimeoutSeconds) +
      " tcp_user_timeout=" + std::to_string(creds.connectTimeoutSeconds * 1000) +
      " keepalives=1 keepalives_idle=1 keepalives_interval=1 keepalives_count=2"
      " application_name=pgvigil-controller options='-c statement_timeout=3000'";
  PgSession one_look;  // without a kept session: a connection for this look only
  if (!session) session = &one_look;
  std::string error;
  // A fresh connection into the session; on failure the node is unreachable.
  auto connect = [&]() -> bool {
    session->Reset();
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (PQstatus(c) == CONNECTION_OK) {
      session->conn = c;
      return true;
    }
    error = PQerrorMessage(c);
    while (!error.empty() && error.back() == '\n') error.pop_back();
    if (error.empty()) error = "unknown error";
    PQfinish(c);
    out->pgReachable = false;
    return false;
  };
  const bool reused = session->conn != nullptr && PQstatus(session->conn) == CONNECTION_OK;
  if (!reused && !connect()) return error;
  const auto started = std::chrono::steady_clock::now();
  error = ObserveOnce(spec, session->conn, now, out);
  if (error.empty()) return "";
  session->Reset();
  if (!reused) return error;
  // A failure that took long is a host that does not answer (cut off), not a
  // restarted server: do not spend another timeout on it in this look.
  if (std::chrono::steady_clock::now() - started > std::chrono::milliseconds(500)) return error;
  // The kept connection may simply be gone (server restarted): one fresh try.
  if (!connect()) return error;
  error = ObserveOnce(spec, session->conn, now, out);
  if (!error.empty()) session->Reset();
  return error;
}

namespace {

std::string ObserveOnce(const ClusterSpec& spec, PGconn* conn, plan::TimeMs now,
                        plan::NodeObservation* out) {
  std::string error;
  auto fail = [&](const std::string& e) {
    out->pgReachable = false;
    return e.empty() ? std::string("unknown error") : e;
  };
  Res r = Query(conn,
                "SELECT pg_is_in_recovery(),"
                " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() END,"
                // The WAL a standby holds: received, or replayed when more (a
                // standby restarted while its primary is down asks to stream from
                // the start of the segment where its pg_wal ends). NULL (0: not
                // known yet) while no receive position exists: a restarted standby
                // still replaying its own pg_wal holds more than it replayed so far.
                " CASE WHEN pg_last_wal_receive_lsn() IS NOT NULL"
                "   THEN greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) END,"
                " pg_last_wal_replay_lsn(),"
                " current_setting('synchronous_standby_names'),"
                " CASE WHEN pg_is_in_recovery() THEN NULL"
                "   ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END,"
                " (SELECT timeline_id FROM pg_control_checkpoint()),"
                " current_setting('primary_conninfo')",
                &error);
  if (!r) return fail(error);
  plan::NodeObservation o = *out;
  o.inRecovery = Cell(r.get(), 0, 0) == "t";
  o.currentLsn = 0;
  ParseLsn(Cell(r.get(), 0, 1), &o.currentLsn);
  if (!o.inRecovery) {
    o.receivedLsn = o.replayedLsn = o.currentLsn;
  } else {
    o.receivedLsn = o.replayedLsn = 0;
    ParseLsn(Cell(r.get(), 0, 2), &o.receivedLsn);
    ParseLsn(Cell(r.get(), 0, 3), &o.replayedLsn);
  }
  o.synchronousStandbyNames = Cell(r.get(), 0, 4);
  if (!o.inRecovery) {
    o.timeline = static_cast<uint32_t>(std::strtoul(Cell(r.get(), 0, 5).c_str(), nullptr, 16));
  } else {
    o.timeline = static_cast<uint32_t>(std::atoi(Cell(r.get(), 0, 6).c_str()));
  }
  std::string up_host;
  int up_port = 0;
  ParseConnInfoHostPort(Cell(r.get(), 0, 7), &up_host, &up_port);
  o.configuredUpstream = up_host.empty() ? "" : NodeAt(spec, up_host, up_port);
  o.upstream.clear();
  o.replication.clear();
  if (o.inRecovery) {
    Res w = Query(conn,
                  "SELECT sender_host, sender_port, received_tli, status FROM pg_stat_wal_receiver",
                  &error);
    if (!w) return fail(error);
    if (PQntuples(w.get()) > 0) {
      if (Cell(w.get(), 0, 3) == "streaming")
        o.upstream = NodeAt(spec, Cell(w.get(), 0, 0), std::atoi(Cell(w.get(), 0, 1).c_str()));
      uint32_t tli = static_cast<uint32_t>(std::atoi(Cell(w.get(), 0, 2).c_str()));
      if (tli > o.timeline) o.timeline = tli;
    }
    if (o.upstream.empty()) {
      // Not streaming: the checkpoint's timeline lags; the newest history file in
      // pg_wal says which timeline this standby has reached.
      Res h = Query(conn,
                    "SELECT coalesce(max(('x' || substr(name, 1, 8))::bit(32)::int), 0)"
                    " FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{8}[.]history$'",
                    &error);
      if (!h) return fail(error);
      uint32_t tli = static_cast<uint32_t>(std::atoi(Cell(h.get(), 0, 0).c_str()));
      if (tli > o.timeline) o.timeline = tli;
    }
  } else {
    Res rep = Query(conn,
                    "SELECT application_name, state, sync_state, sent_lsn, flush_lsn, replay_lsn"
                    " FROM pg_stat_replication ORDER BY application_name",
                    &error);
    if (!rep) return fail(error);
    for (int i = 0; i < PQntuples(rep.get()); ++i) {
      plan::ReplicationRow row;
      row.node = Cell(rep.get(), i, 0);
      row.state = Cell(rep.get(), i, 1);
      row.syncState = Cell(rep.get(), i, 2);
      ParseLsn(Cell(rep.get(), i, 3), &row.sentLsn);
      ParseLsn(Cell(rep.get(), i, 4), &row.flushLsn);
      ParseLsn(Cell(rep.get(), i, 5), &row.replayLsn);
      o.replication.push_back(row);
    }
  }
  o.history.clear();
  if (o.timeline > 1) {
    char name[32];
    std::snprintf(name, sizeof name, "pg_wal/%08X.history", o.timeline);
    Res h = Query(conn, std::string("SELECT pg_read_file('") + name + "')", &error);
    if (h && PQntuples(h.get()) > 0) o.history = ParseTimelineHistory(Cell(h.get(), 0, 0));
  }
  o.pgReachable = true;
  o.pgObservedAt = now;
  *out = std::move(o);
  return "";
}

}  // namespace

}  // namespace pgvigil
