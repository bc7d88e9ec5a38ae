// The proxy's internal interface, used by the sidecar's REST server (agent) and,
// through it, by the controller: replace the routing table, hold new
// transactions during a switchover, read a `show pool_nodes`-like snapshot.
// Implemented by the proxy component; every method is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/pool_nodes_doc.h"  // PoolNodeRow: the rows of GET /v1/proxy/pool_nodes
#include "common/result.h"
#include "common/routing_table.h"  // RouteNode, RoutingTable: the controller's contract

namespace pgvigil {

class ProxyApi {
 public:
  virtual ~ProxyApi() = default;
  // Replaces the routing table. Refused when table.generation is not newer than
  // the current one, or names a primary that is not among its nodes. Sessions
  // bound to a primary that is no longer the primary move to the new one when
  // idle (the next statement connects there; SETs and named statements are
  // replayed); sessions in a transaction or holding state that cannot be
  // replayed (temp tables, LISTEN, advisory locks, SQL PREPARE, ...) are closed
  // (SQLSTATE 57P01, the message says why). The same holds when the primary
  // closes the connection (stopped cleanly in a switchover, or crashed).
  // Also refused when a node is not one of the spec's nodes at the spec's host
  // and port (see CheckRouting).
  virtual Status SetRouting(const RoutingTable& table) = 0;
  // Whether every node of `table` is a spec node at the spec's host and port;
  // the error names the field. The REST handler answers 400 with it.
  virtual Status CheckRouting(const RoutingTable& table) const = 0;
  // The table in effect (controller's, or derived from spec + health checks).
  virtual RoutingTable Routing() const = 0;
  // New transactions wait (at most spec.proxy.pauseLimit, then they proceed)
  // until ResumeNewTransactions; transactions in progress carry on. Statements
  // that need the primary while none is confirmed also wait while paused and
  // for up to pauseLimit after the resume, instead of failing.
  virtual void PauseNewTransactions() = 0;
  virtual void ResumeNewTransactions() = 0;
  virtual bool Paused() const = 0;
  // Same rows as `SHOW pool_nodes`.
  virtual std::vector<PoolNodeRow> PoolNodes() const = 0;
  virtual int ClientConnections() const = 0;
  // Sessions with a transaction or a statement in progress on the primary (a
  // switchover waits for none before stopping the old primary).
  virtual int SessionsInTransaction() const { return 0; }
};

}  // namespace pgvigil
