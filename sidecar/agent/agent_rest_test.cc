// The REST API against real PostgreSQL 15 on loopback: probes for a primary, a
// streaming standby, a lagging standby and a stopped node; token, term and body
// validation; status and metrics.
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/node_operation.h"
#include "common/process.h"
#include "common/sidecar_status.h"
#include "sidecar/agent/agent_test_env.h"

namespace pgvigil::testing {
namespace {

class AgentRestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PgTestCluster::Options o;
    o.nodes = 2;
    auto e = AgentTestEnv::Create(o, {0, 1});
    ASSERT_TRUE(e.ok()) << e.error();
    env_ = std::move(e.value()).release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  // Waits until a probe answers `status` (the health checker runs every 200 ms).
  static bool ProbeBecomes(int node, const std::string& path, int status) {
    return AgentTestEnv::WaitFor([&] { return env_->Get(node, path).status == status; }, 20000);
  }
  static AgentTestEnv* env_;
};
AgentTestEnv* AgentRestTest::env_ = nullptr;

TEST_F(AgentRestTest, ProbesOnPrimaryAndStreamingStandby) {
  ASSERT_TRUE(ProbeBecomes(0, "/primary", 200));
  ASSERT_TRUE(ProbeBecomes(1, "/readiness", 200)) << env_->Get(1, "/readiness").body;
  EXPECT_EQ(env_->Get(0, "/read-write").status, 200);
  EXPECT_EQ(env_->Get(0, "/replica").status, 503);
  EXPECT_EQ(env_->Get(0, "/read-only").status, 200);
  EXPECT_EQ(env_->Get(0, "/health").status, 200);
  EXPECT_EQ(env_->Get(0, "/readiness").status, 200);
  EXPECT_EQ(env_->Get(0, "/liveness").status, 200);
  EXPECT_EQ(env_->Get(0, "/primary", "", "HEAD").status, 200);
  EXPECT_EQ(env_->Get(0, "/primary", "", "HEAD").body, "");

  EXPECT_EQ(env_->Get(1, "/primary").status, 503);
  EXPECT_EQ(env_->Get(1, "/read-write").status, 503);
  EXPECT_EQ(env_->Get(1, "/replica").status, 200);
  EXPECT_EQ(env_->Get(1, "/replica", "", "HEAD").status, 200);
  EXPECT_EQ(env_->Get(1, "/read-only").status, 200);
  EXPECT_EQ(env_->Get(1, "/health").status, 200);
  auto body = env_->Get(1, "/replica").json();
  EXPECT_EQ(body.at("role").as_string(), "standby");
  EXPECT_EQ(body.at("walReceiver").as_string(), "streaming");
  EXPECT_EQ(body.at("upstreamPort").as_integer(), env_->cluster().nodes()[0].port);
  EXPECT_EQ(env_->Get(1, "/replica?lag=bogus").status, 400);
  EXPECT_EQ(env_->Get(1, "/replica?lag=bogus").json().at("field").as_string(), "lag");
}

TEST_F(AgentRestTest, LaggingStandbyFailsLagProbe) {
  auto& c = env_->cluster();
  ASSERT_TRUE(ProbeBecomes(1, "/replica?lag=1MB", 200));
  // Replay paused: WAL still arrives but is not applied, so replay lag grows.
  ASSERT_TRUE(c.Query(1, "SELECT pg_wal_replay_pause()").ok());
  ASSERT_TRUE(c.Query(0, "CREATE TABLE lag_filler AS SELECT g, repeat('x', 200) AS pad "
                         "FROM generate_series(1, 20000) g").ok());
  EXPECT_TRUE(ProbeBecomes(1, "/replica?lag=65536", 503)) << env_->Get(1, "/replica").body;
  EXPECT_EQ(env_->Get(1, "/replica").status, 200);          // no limit: still a replica
  EXPECT_EQ(env_->Get(1, "/replica?lag=1GB").status, 200);  // generous limit
  auto lag = env_->Get(1, "/replica").json().at("replayLagBytes").as_number().to_uint64();
  EXPECT_GT(lag, 65536u);
  ASSERT_TRUE(c.Query(1, "SELECT pg_wal_replay_resume()").ok());
  EXPECT_TRUE(ProbeBecomes(1, "/replica?lag=65536", 200));
}

TEST_F(AgentRestTest, StatusAndMetrics) {
  ASSERT_TRUE(ProbeBecomes(0, "/primary", 200));
  auto st = env_->Get(0, "/v1/status");
  ASSERT_EQ(st.status, 200);
  auto v = st.json();
  EXPECT_EQ(v.at("node").as_string(), "node0");
  EXPECT_EQ(v.at("postgres").at("role").as_string(), "primary");
  EXPECT_TRUE(v.at("postgres").at("running").as_bool());
  ASSERT_EQ(v.at("backends").as_array().size(), 2u);
  EXPECT_TRUE(v.at("components").is_object());
  HttpReply m;
  EXPECT_TRUE(AgentTestEnv::WaitFor(
      [&] {
        m = env_->Get(0, "/metrics");
        return m.body.find("pgvigil_agent_backend_up{node=\"node1\"} 1") != std::string::npos;
      },
      20000))
      << m.body;
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("pgvigil_agent_http_requests_total{code=\"2xx\"}"), std::string::npos);
  EXPECT_NE(m.body.find("# TYPE pgvigil_agent_backend_up gauge"), std::string::npos);
}

// What a real agent serves is a SidecarStatus (common/sidecar_status.h) to the
// byte: read without a note and written again unchanged, for a primary and a
// streaming standby; a probe body is its "postgres" section.
TEST_F(AgentRestTest, StatusIsTheSidecarStatusContract) {
  ASSERT_TRUE(ProbeBecomes(0, "/primary", 200));
  ASSERT_TRUE(ProbeBecomes(1, "/readiness", 200));
  for (int node : {0, 1}) {
    auto reply = env_->Get(node, "/v1/status");
    ASSERT_EQ(reply.status, 200);
    std::vector<std::string> notes;
    auto st = SidecarStatusFromJson(reply.json(), &notes);
    ASSERT_TRUE(st.ok()) << st.error();
    EXPECT_TRUE(notes.empty()) << notes.front();
    EXPECT_EQ(ToJson(*st).serialize(), reply.body);
    EXPECT_EQ(st->node, "node" + std::to_string(node));
    EXPECT_EQ(st->postgres.standby.has_value(), node == 1);
    EXPECT_EQ(st->postgres.dataDirectoryInitialized, std::optional<bool>(true));
    EXPECT_EQ(st->postgres.dataDirectoryRole, node == 1 ? "standby" : "primary");
    EXPECT_TRUE(st->postgres.parameters.has_value());
    EXPECT_FALSE(st->selfFence.enabled) << "no watchdog here";
    EXPECT_FALSE(st->selfFence.why.empty());
    auto probe = env_->Get(node, "/read-only");
    auto look = SidecarStatusFromJson(web::json::value::parse(R"({"postgres": )" + probe.body + "}"), &notes);
    ASSERT_TRUE(look.ok());
    EXPECT_EQ(ToJson(look->postgres).serialize(), probe.body);
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
}

// A real agent's answer to a node operation is common/node_operation.h's
// NodeOperationStarted to the byte, and GET /v1/node/operations/ID a
// SidecarOperation: each read without a note and written again unchanged.
TEST_F(AgentRestTest, OperationAnswersAreTheNodeOperationContract) {
  ASSERT_TRUE(ProbeBecomes(0, "/primary", 200));
  // The requests are common/node_operation.h's, as the controller writes them.
  auto term = env_->Post(0, "/v1/node/term", ToJson(TermRequest{1}).serialize(), env_->token());
  ASSERT_EQ(term.status, 200) << term.body;
  EXPECT_EQ(term.body, R"({"term":1})");
  auto reply = env_->Op(0, "start", ToJson(NodeOperationRequestInTerm(1)).serialize());
  ASSERT_EQ(reply.status, 202) << reply.body;
  std::vector<std::string> notes;
  const NodeOperationStarted started = NodeOperationStartedFromJson(reply.json(), &notes);
  EXPECT_TRUE(notes.empty()) << notes.front();
  EXPECT_EQ(ToJson(started).serialize(), reply.body);
  ASSERT_FALSE(started.id.empty());
  EXPECT_EQ(started.operation.id, started.id);
  EXPECT_EQ(started.operation.type, "start");
  env_->WaitOperation(0, started.id);
  auto done = env_->Get(0, "/v1/node/operations/" + started.id, env_->token());
  ASSERT_EQ(done.status, 200) << done.body;
  const SidecarOperation op = SidecarOperationFromJson(done.json(), &notes);
  EXPECT_TRUE(notes.empty()) << notes.front();
  EXPECT_EQ(ToJson(op).serialize(), done.body);
  EXPECT_NE(op.state, "running");
}

TEST_F(AgentRestTest, TokenTermAndBodyChecks) {
  // 401 without or with a wrong token; nothing changes.
  EXPECT_EQ(env_->Post(0, "/v1/node/term", R"({"term": 3})", "").status, 401);
  EXPECT_EQ(env_->Post(0, "/v1/node/term", R"({"term": 3})", "wrong").status, 401);
  EXPECT_EQ(env_->Post(0, "/v1/node/promote", R"({"term": 3})", "").status, 401);
  EXPECT_EQ(env_->Get(0, "/v1/node/operations", "").status, 401);
  // 400 names the field.
  auto bad = env_->Post(0, "/v1/node/term", R"({"term": "soon"})", env_->token());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json().at("field").as_string(), "term");
  bad = env_->Post(0, "/v1/node/term", "{not json", env_->token());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json().at("field").as_string(), "body");
  // Terms only go up, and the highest is persisted.
  auto ok = env_->Post(0, "/v1/node/term", R"({"term": 7})", env_->token());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json().at("term").as_integer(), 7);
  auto stale = env_->Post(0, "/v1/node/term", R"({"term": 6})", env_->token());
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.json().at("reason").as_string(), "stale_term");
  EXPECT_EQ(stale.json().at("term").as_integer(), 7);
  auto persisted = ReadFile(env_->ctx(0).stateDir + "/term");
  ASSERT_TRUE(persisted.ok());
  EXPECT_EQ(*persisted, "7\n");
  // Proxy and watchdog routes: token and body first, then 503 when the part is off.
  EXPECT_EQ(env_->Get(0, "/v1/watchdog").status, 503);
  EXPECT_EQ(env_->Get(0, "/v1/proxy/routing").status, 503);
  HttpReply put;
  put = env_->Post(0, "/v1/proxy/pause", R"({"term": 7})", "");
  EXPECT_EQ(put.status, 401);
  put = env_->Post(0, "/v1/proxy/pause", R"({"term": 6})", env_->token());
  EXPECT_EQ(put.status, 409);
  put = env_->Post(0, "/v1/proxy/pause", R"({"term": 7, "x": 1})", env_->token());
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(put.json().at("field").as_string(), "x");
  put = env_->Post(0, "/v1/proxy/pause", R"({"term": 7})", env_->token());
  EXPECT_EQ(put.status, 503);
  // Unknown paths and methods.
  EXPECT_EQ(env_->Get(0, "/v2/everything").status, 404);
  EXPECT_EQ(env_->Post(0, "/v1/status", "{}", "").status, 405);
}

TEST_F(AgentRestTest, StoppedNodeProbes) {
  auto& c = env_->cluster();
  ASSERT_TRUE(ProbeBecomes(1, "/health", 200));
  ASSERT_TRUE(c.StopNode(1, "fast").ok());
  EXPECT_TRUE(ProbeBecomes(1, "/health", 503));
  EXPECT_EQ(env_->Get(1, "/replica").status, 503);
  EXPECT_EQ(env_->Get(1, "/read-only").status, 503);
  EXPECT_EQ(env_->Get(1, "/readiness").status, 503);
  EXPECT_EQ(env_->Get(1, "/primary").status, 503);
  EXPECT_EQ(env_->Get(1, "/liveness").status, 200);  // the sidecar itself is fine
  auto st = env_->Get(1, "/v1/status").json();
  EXPECT_FALSE(st.at("postgres").at("running").as_bool());
  EXPECT_FALSE(st.at("postgres").at("lastError").as_string().empty());
  ASSERT_TRUE(c.StartNode(1).ok());
  EXPECT_TRUE(ProbeBecomes(1, "/replica", 200));
}

TEST(AgentRestTls, ServesHttpsWithTheSpecCertificate) {
  std::string cert, key;
  PgTestCluster::Options o;
  o.nodes = 1;
  auto e = AgentTestEnv::Create(o, {0}, [&](ClusterSpec& spec) {
    std::string dir = spec.api.tokenFile.substr(0, spec.api.tokenFile.rfind('/'));
    cert = dir + "/api.crt";
    key = dir + "/api.key";
    auto r = RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                         "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"});
    ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->outputTail : r.error());
    spec.api.tls.certFile = cert;
    spec.api.tls.keyFile = key;
  });
  ASSERT_TRUE(e.ok()) << e.error();
  auto& env = **e;
  EXPECT_TRUE(AgentTestEnv::WaitFor([&] { return env.GetTls(0, "/primary").status == 200; }, 20000))
      << env.GetTls(0, "/primary").body;
  EXPECT_EQ(env.GetTls(0, "/v1/status").json().at("node").as_string(), "node0");
  // Plain HTTP gets no answer from a TLS listener.
  EXPECT_NE(env.Get(0, "/primary").status, 200);
}

}  // namespace
}  // namespace pgvigil::testing
