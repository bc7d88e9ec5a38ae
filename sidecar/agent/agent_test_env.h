// Integration-test environment for the node agent: a real PostgreSQL cluster
// (common/testing/pg_cluster.h), one agent component per node started in this
// process with its own state directory and REST port, and a small cpprestsdk
// http_client wrapper that talks to them over loopback. Test thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/testing/pg_cluster.h"
#include "sidecar/component.h"

namespace pgvigil::testing {

struct HttpReply {
  int status = 0;  // 0: no answer (connection failed)
  std::string body;
  web::json::value json() const;  // null when the body is not JSON
};

class AgentTestEnv {
 public:
  // Creates the cluster and starts an agent for each node in `agents`.
  // `tweak` may adjust the spec (TLS, timings) before the agents start.
  static Result<std::unique_ptr<AgentTestEnv>> Create(
      const PgTestCluster::Options& options, const std::vector<int>& agents,
      const std::function<void(ClusterSpec&)>& tweak = nullptr);
  ~AgentTestEnv();

  PgTestCluster& cluster() { return *cluster_; }
  const std::string& token() const { return token_; }
  int apiPort(int node) const;
  SidecarContext& ctx(int node) { return *contexts_[node]; }

  HttpReply Get(int node, const std::string& path, const std::string& token = "",
                const std::string& method = "GET");
  // GET over https (certificate not verified: tests use a self-signed one).
  HttpReply GetTls(int node, const std::string& path);
  HttpReply Post(int node, const std::string& path, const std::string& body,
                 const std::string& token);
  HttpReply Put(int node, const std::string& path, const std::string& body,
                const std::string& token);
  // POST with the right token.
  HttpReply Op(int node, const std::string& op, const std::string& body) {
    return Post(node, "/v1/node/" + op, body, token_);
  }
  // Waits for the operation to leave "running"; returns its final JSON.
  web::json::value WaitOperation(int node, const std::string& id, int timeout_ms = 240000);
  // Stops node's agent and starts a new one as the sidecar's main does: from
  // `file_spec` (generation `file_generation`, as the spec file the pod reads
  // at start) or the stored copy in its state directory, whichever is newer,
  // refused parameters and those PostgreSQL would not start with set aside
  // (PrepareStartSpec, start_parameter_check.h).
  Status RestartAgent(int node, const ClusterSpec& file_spec, uint64_t file_generation);
  // Polls `pred` every 100 ms until true or timeout.
  static bool WaitFor(const std::function<bool()>& pred, int timeout_ms);

 private:
  AgentTestEnv() = default;
  std::unique_ptr<PgTestCluster> cluster_;
  std::string token_;
  std::vector<std::unique_ptr<SidecarContext>> contexts_;  // by node index
  std::vector<std::unique_ptr<std::vector<std::unique_ptr<Component>>>> parts_;
};

}  // namespace pgvigil::testing
