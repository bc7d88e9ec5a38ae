// The proxy's admin console, in the spirit of PgBouncer's: SHOW pools, SHOW
// clients and SHOW servers, answered by the proxy itself like SHOW pool_nodes.
// Each worker describes its own sessions and backends on its own thread
// (CollectAdmin); the asking session merges what every worker sent
// (EncodeAdmin). The columns are listed in sidecar/proxy/README.md.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {

struct Worker;

struct AdminClientRow {
  std::string user, database, addr;
  std::string state;     // active | waiting | idle
  char txStatus = 'I';
  std::string backends;  // "node:pid" of the backends it holds now, space separated
  std::string waitingFor;  // pool node it queues for ("" none)
  double waitSeconds = 0;
  std::string pinned;    // transaction pooling: why it keeps its backends ("" none)
  double connectedSeconds = 0;
};

struct AdminServerRow {
  std::string node, host, user, database, options;
  int port = 0;
  int pid = 0;
  std::string state;   // active | idle
  std::string client;  // address of the client using it ("" none)
  int prepared = 0;    // statements the proxy prepared there (transaction pooling)
  double ageSeconds = 0;
};

// One worker's share of the answer.
struct AdminPart {
  std::vector<AdminClientRow> clients;
  std::vector<AdminServerRow> servers;
  struct Waiting {
    std::string node, user, database, options;
    double maxWaitSeconds = 0;
    int count = 0;
  };
  std::vector<Waiting> waiting;
};

// On w's thread.
AdminPart CollectAdmin(const Worker& w);
// RowDescription + DataRows + CommandComplete("SHOW") for `what` (kPools,
// kClients or kServers) from every worker's part.
void EncodeAdmin(LocalCommand what, const std::vector<AdminPart>& parts, const std::string& mode, int pool_size,
                 std::string* out);

// Splits a pool key (node \0 user \0 database [\0 name=value ...]).
void SplitPoolKey(const std::string& key, std::string* node, std::string* user, std::string* database,
                  std::string* options);

}  // namespace pgvigil::proxy
