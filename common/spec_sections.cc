#include "common/spec_sections.h"

namespace pgvigil::spec_internal {

constexpr Millis kMaxDuration = std::chrono::hours(24);

void ReadHealthCheckSection(MapReader& spec, HealthCheckSpec* h, ErrorSink* sink) {
  MapReader r(sink, spec.Take("healthCheck"), spec.Child("healthCheck"));
  r.Duration("period", &h->period, Millis(100), kMaxDuration);
  r.Duration("timeout", &h->timeout, Millis(100), std::chrono::minutes(10));
  r.Int("maxRetries", &h->maxRetries, 0, 100);
  r.Duration("retryDelay", &h->retryDelay, Millis(0), std::chrono::minutes(10));
  r.String("database", &h->database);
}

void ReadRecoverySection(MapReader& spec, RecoverySpec* out, ErrorSink* sink) {
  MapReader r(sink, spec.Take("recovery"), spec.Child("recovery"));
  r.Bool("automatic", &out->automatic);
  int m = r.Choice("method", {"rewind-or-basebackup", "basebackup"});
  if (m >= 0) out->method = static_cast<RecoveryMethod>(m);
}

void ReadReplicationSection(MapReader& spec, ReplicationSpec* out, ErrorSink* sink) {
  MapReader r(sink, spec.Take("replication"), spec.Child("replication"));
  int m = r.Choice("mode", {"async", "sync"});
  if (m >= 0) out->mode = static_cast<ReplicationMode>(m);
  r.Int("synchronousCount", &out->synchronousCount, 1, 64);
  r.Bool("slots", &out->slots);
}

void ReadProxyPoolSection(MapReader& proxy, ProxyPoolSpec* p, ErrorSink* sink) {
  MapReader b(sink, proxy.Take("pool"), proxy.Child("pool"));
  b.Int("maxIdle", &p->maxIdle, 0, 100000);
  b.Duration("idleTimeout", &p->idleTimeout, Millis(0), kMaxDuration);
  int m = b.Choice("mode", {"session", "transaction"});
  if (m >= 0) p->mode = static_cast<PoolMode>(m);
  b.Int("size", &p->size, 1, 100000);
  b.Duration("queueTimeout", &p->queueTimeout, Millis(100), kMaxDuration);
  int s = b.Choice("sessionState", {"refuse", "pin"});
  if (s >= 0) p->sessionState = static_cast<SessionStatePolicy>(s);
  b.Int("maxPreparedStatements", &p->maxPreparedStatements, 1, 100000);
}

}  // namespace pgvigil::spec_internal
