// One node's observer: a thread that looks at the node (libpq + its sidecar's
// REST API) when asked, so the reconcile loop can wait for all nodes with one
// deadline and never for a host that does not answer. A look at a cut-off host
// runs until its own timeouts (seconds); the loop meanwhile plans with what the
// other nodes showed and counts this one as not answering.
// Thread-safe. Destroying an observer whose look is still running detaches the
// look: it ends on its own timeout and its result is dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <cpprest/json.h>

#include "common/spec.h"
#include "controller/observe/pg_observer.h"
#include "controller/plan/observation.h"

namespace pgvigil {

struct NodeLook {
  uint64_t round = 0;                 // the round this look answered (0: none yet)
  plan::NodeObservation obs;          // libpq and sidecar fields; last values kept on failure
  web::json::value poolNodes;         // GET /v1/proxy/pool_nodes (null when not read)
  std::chrono::milliseconds took{0};  // how long the look took
  std::string pgError, sidecarError;  // "" when that half worked
};

class NodeObserver {
 public:
  // `key` identifies what is observed (address, port, API URL): a spec that
  // changes it needs a new observer.
  NodeObserver(std::string node, std::string key, std::string token, PgCredentials pg);
  ~NodeObserver();
  NodeObserver(const NodeObserver&) = delete;
  NodeObserver& operator=(const NodeObserver&) = delete;

  const std::string& key() const { return key_; }
  // Asks for a look for `round` (later rounds replace a pending one).
  void Request(uint64_t round, std::shared_ptr<const ClusterSpec> spec, plan::TimeMs now);
  // Waits until the look for `round` is done or `deadline`; true when done.
  bool WaitFor(uint64_t round, std::chrono::steady_clock::time_point deadline);
  // The newest finished look.
  NodeLook Latest() const;
  // Whether a look is running now (asked for and not finished).
  bool Busy() const;
  // Stops the thread, waiting up to `limit` for a running look to end (a
  // clean process exit); after that the look is left to its own timeout.
  void Stop(std::chrono::milliseconds limit);

 private:
  struct Shared;
  static void Run(std::shared_ptr<Shared> s);
  std::shared_ptr<Shared> shared_;
  const std::string key_;
  std::thread thread_;
};

}  // namespace pgvigil
