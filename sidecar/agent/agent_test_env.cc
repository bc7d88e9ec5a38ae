#include "sidecar/agent/agent_test_env.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include <cpprest/http_client.h>

#include "common/files.h"
#include "sidecar/agent/agent_component.h"
#include "sidecar/agent/start_parameter_check.h"

namespace pgvigil::testing {

web::json::value HttpReply::json() const {
  try {
    return web::json::value::parse(body);
  } catch (const std::exception&) {
    return web::json::value::null();
  }
}

Result<std::unique_ptr<AgentTestEnv>> AgentTestEnv::Create(
    const PgTestCluster::Options& options, const std::vector<int>& agents,
    const std::function<void(ClusterSpec&)>& tweak) {
  std::unique_ptr<AgentTestEnv> env(new AgentTestEnv());
  auto c = PgTestCluster::Create(options);
  if (!c.ok()) return c.status();
  env->cluster_ = std::move(c.value());
  ClusterSpec spec = env->cluster_->MakeSpec(20000);
  for (auto& n : spec.nodes) n.apiPort = FreePort();
  spec.healthCheck.period = Millis(200);
  spec.healthCheck.timeout = Millis(2000);
  spec.healthCheck.maxRetries = 0;
  spec.healthCheck.retryDelay = Millis(100);
  env->token_ = "agent-test-token-" + std::to_string(getpid());
  spec.api.tokenFile = env->cluster_->dir() + "/secrets/api.token";
  if (Status s = WriteFileAtomic(spec.api.tokenFile, env->token_ + "\n"); !s.ok()) return s;
  if (tweak) tweak(spec);
  env->contexts_.resize(spec.nodes.size());
  env->parts_.resize(spec.nodes.size());
  for (int i : agents) {
    auto ctx = std::make_unique<SidecarContext>();
    ctx->spec = spec;
    ctx->nodeName = spec.nodes[i].name;
    ctx->stateDir = env->cluster_->dir() + "/state-" + ctx->nodeName;
    auto parts = std::make_unique<std::vector<std::unique_ptr<Component>>>();
    parts->push_back(MakeAgentComponent(*ctx, parts.get()));
    if (Status s = parts->back()->Start(); !s.ok()) return s.Context("agent " + ctx->nodeName);
    env->contexts_[i] = std::move(ctx);
    env->parts_[i] = std::move(parts);
  }
  return env;
}

AgentTestEnv::~AgentTestEnv() {
  for (auto& p : parts_)
    if (p)
      for (auto& c : *p) c->Stop();
  parts_.clear();
  contexts_.clear();
  cluster_.reset();
}

Status AgentTestEnv::RestartAgent(int node, const ClusterSpec& file_spec, uint64_t file_generation) {
  // The component holds its context by reference: both go, the parts first.
  const std::string name = contexts_.at(node)->nodeName;
  const std::string state_dir = contexts_[node]->stateDir;
  for (auto& c : *parts_[node]) c->Stop();
  parts_[node].reset();
  contexts_[node].reset();
  StartSpec start = PrepareStartSpec(file_spec, file_generation, "(the test's spec file)", state_dir, name);
  auto ctx = std::make_unique<SidecarContext>();
  ctx->spec = start.spec;
  ctx->parametersSetAside = start.setAside;
  ctx->nodeName = name;
  ctx->stateDir = state_dir;
  ctx->InitMembership(start.generation);
  auto parts = std::make_unique<std::vector<std::unique_ptr<Component>>>();
  parts->push_back(MakeAgentComponent(*ctx, parts.get()));
  if (Status s = parts->back()->Start(); !s.ok()) return s.Context("agent " + name);
  contexts_[node] = std::move(ctx);
  parts_[node] = std::move(parts);
  return Status::Ok();
}

int AgentTestEnv::apiPort(int node) const {
  const auto& ctx = contexts_.at(node);
  return ctx->spec.ApiPort(ctx->self());
}

namespace {

HttpReply Send(int port, const std::string& method, const std::string& path,
               const std::string& body, const std::string& token, bool tls = false) {
  HttpReply out;
  try {
    web::http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::seconds(30));
    cfg.set_validate_certificates(false);
    web::http::client::http_client client(
        std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port), cfg);
    web::http::http_request req(method);
    req.set_request_uri(path);
    if (!token.empty()) req.headers().add("Authorization", "Bearer " + token);
    if (!body.empty()) req.set_body(body, "application/json");
    auto resp = client.request(req).get();
    out.status = resp.status_code();
    out.body = resp.extract_utf8string(true).get();
  } catch (const std::exception& e) {
    out.status = 0;
    out.body = e.what();
  }
  return out;
}

}  // namespace

HttpReply AgentTestEnv::Get(int node, const std::string& path, const std::string& token,
                            const std::string& method) {
  return Send(apiPort(node), method, path, "", token);
}

HttpReply AgentTestEnv::GetTls(int node, const std::string& path) {
  return Send(apiPort(node), "GET", path, "", "", true);
}

HttpReply AgentTestEnv::Post(int node, const std::string& path, const std::string& body,
                             const std::string& token) {
  return Send(apiPort(node), "POST", path, body, token);
}

HttpReply AgentTestEnv::Put(int node, const std::string& path, const std::string& body,
                            const std::string& token) {
  return Send(apiPort(node), "PUT", path, body, token);
}

bool AgentTestEnv::WaitFor(const std::function<bool()>& pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

web::json::value AgentTestEnv::WaitOperation(int node, const std::string& id, int timeout_ms) {
  web::json::value last = web::json::value::null();
  WaitFor(
      [&] {
        HttpReply r = Get(node, "/v1/node/operations/" + id, token_);
        if (r.status != 200) return false;
        last = r.json();
        return last.has_field("state") && last.at("state").as_string() != "running";
      },
      timeout_ms);
  return last;
}

}  // namespace pgvigil::testing
