// The health check and failover sections of the import: Pgpool-II's checks map to
// spec.healthCheck; its failover switches are compared with what pgvigil does.
#include "controller/vigilctl/pgpool/pgpool_importer.h"

namespace pgvigil::pgpool::internal {

namespace {
std::string Secs(int64_t s) { return std::to_string(s) + "s"; }
}  // namespace

void Importer::HealthChecks() {
  auto& h = spec().healthCheck;
  if (auto p = Int("health_check_period", Unit::kSeconds, 0, 86400)) {
    if (*p == 0)
      Unsupported(Peek("health_check_period"),
                  "0 turns Pgpool-II's health checks off; pgvigil always checks "
                  "(its failover depends on it): spec keeps period " +
                      std::to_string(h.period.count()) + "ms");
    else
      h.period = std::chrono::seconds(*p),
      Mapped(Peek("health_check_period"), "spec.healthCheck.period: " + Secs(*p));
  }
  if (auto t = Int("health_check_timeout", Unit::kSeconds, 0, 86400)) {
    const Setting* s = Peek("health_check_timeout");
    if (*t == 0)
      Unsupported(
          s, "0 (no timeout) cannot be honoured: pgvigil's checks always time out; spec keeps " +
                 std::to_string(h.timeout.count()) + "ms");
    else if (*t > 600)
      h.timeout = std::chrono::minutes(10),
      Unsupported(s, "more than pgvigil's 10 min limit: 10 min");
    else
      h.timeout = std::chrono::seconds(*t), Mapped(s, "spec.healthCheck.timeout: " + Secs(*t));
  }
  if (auto r = Int("health_check_max_retries", Unit::kNone, 0, 1000000)) {
    const Setting* s = Peek("health_check_max_retries");
    h.maxRetries = static_cast<int>(std::min<int64_t>(*r, 100));
    if (*r > 100)
      Unsupported(s, "more than pgvigil's limit of 100 retries: 100");
    else
      Mapped(s, "spec.healthCheck.maxRetries: " + std::to_string(*r));
  }
  if (auto d = Int("health_check_retry_delay", Unit::kSeconds, 0, 600)) {
    h.retryDelay = std::chrono::seconds(*d);
    Mapped(Peek("health_check_retry_delay"), "spec.healthCheck.retryDelay: " + Secs(*d));
  }
  if (const Setting* s = Take("health_check_database")) {
    if (s->value.empty())
      Mapped(s, "spec.healthCheck.database: postgres (Pgpool-II tries postgres first)");
    else
      h.database = s->value, Mapped(s, "spec.healthCheck.database: " + s->value);
  }
  if (auto c = Int("connect_timeout", Unit::kMillis, 0, 86400000); c && *c != 10000)
    Unsupported(Peek("connect_timeout"),
                "pgvigil has no separate connect timeout: a health check's connection "
                "must succeed within spec.healthCheck.timeout");
  // Per-node values (health_check_period0, ...): pgvigil has one setting for all nodes.
  for (const char* stem :
       {"health_check_period", "health_check_timeout", "health_check_max_retries",
        "health_check_retry_delay", "health_check_user", "health_check_password",
        "health_check_database", "connect_timeout"}) {
    const Setting* global = Peek(stem);
    for (int n : Indexes(stem)) {
      const Setting* s = Take(Key(stem, n));
      if (global ? s->value == global->value : false)
        Mapped(s, "same as " + std::string(stem));
      else
        Unsupported(s, "pgvigil has one health check setting for every node: the global " +
                           std::string(stem) + " (or pgvigil's default) applies to backend " +
                           std::to_string(n) + " too");
    }
  }
}

void Importer::Failover() {
  auto& f = spec().failover;
  for (const char* key : {"failover_on_backend_error", "fail_over_on_backend_error"}) {
    if (auto b = Bool(key)) {
      if (*b)
        Unsupported(
            Peek(key),
            "pgvigil never fails a server over because one proxy connection to it failed: "
            "the failing session ends, and the health checks' majority decides (as with off)");
      else
        Mapped(Peek(key), "pgvigil's behaviour: the session ends, the health checks decide");
    }
  }
  if (auto b = Bool("failover_on_backend_shutdown")) {
    if (*b)
      Mapped(Peek("failover_on_backend_shutdown"),
             "pgvigil's behaviour: a server shutting down is down at once");
    else
      Unsupported(
          Peek("failover_on_backend_shutdown"),
          "pgvigil always takes a server that is shutting down as down at once (as with on)");
  }
  if (auto b = Bool("failover_require_consensus")) {
    f.requireConsensus = *b;
    Mapped(Peek("failover_require_consensus"),
           std::string("spec.failover.requireConsensus: ") + (*b ? "true" : "false"));
  }
  if (auto b = Bool("failover_when_quorum_exists")) {
    if (*b)
      Mapped(Peek("failover_when_quorum_exists"),
             "pgvigil's behaviour: only a leader with a majority acts");
    else
      Unsupported(Peek("failover_when_quorum_exists"),
                  "pgvigil fails over only from a watchdog leader that holds a majority (never two "
                  "primaries)");
  }
  if (auto b = Bool("enable_consensus_with_half_votes"); b && *b)
    Unsupported(Peek("enable_consensus_with_half_votes"),
                "pgvigil's quorum and consensus always need more than half of the members");
  if (auto b = Bool("allow_multiple_failover_requests_from_node"); b && *b)
    Unsupported(Peek("allow_multiple_failover_requests_from_node"),
                "pgvigil counts one vote per member for a backend's health");
  if (auto b = Bool("auto_failback")) {
    if (*b)
      Mapped(Peek("auto_failback"),
             "pgvigil's behaviour: a standby that streams again gets reads again");
    else
      Unsupported(Peek("auto_failback"),
                  "pgvigil routes to a standby again once it is healthy and streaming; "
                  "`vigilctl detach NODE` keeps one out by hand");
  }
  if (auto b = Bool("detach_false_primary")) {
    if (*b)
      Mapped(Peek("detach_false_primary"),
             "pgvigil's behaviour: a primary that is not the cluster's is fenced");
    else
      Unsupported(Peek("detach_false_primary"),
                  "pgvigil always fences a primary that is not the cluster's (never two writable "
                  "primaries)");
  }
  const Setting* fc = Peek("failover_command");
  if (!fc || fc->value.empty())
    Add(FindingKind::kNote, fc,
        "Pgpool-II had no failover_command, so it never promoted a standby; pgvigil "
        "promotes automatically (spec.failover.automatic: false turns that off)");
}

}  // namespace pgvigil::pgpool::internal
