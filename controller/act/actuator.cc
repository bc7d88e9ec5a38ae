#include "controller/act/actuator.h"

#include "common/node_operation.h"

#include <libpq-fe.h>

#include <chrono>
#include <future>
#include <thread>

#include <spdlog/spdlog.h>


namespace pgvigil {

namespace {

using web::json::value;
using plan::ActionKind;

ActionResult Done(const plan::Action& a, bool ok, std::string detail) {
  return ActionResult{a, ok, std::move(detail)};
}

std::string PgQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  return out + "'";
}

}  // namespace

NodeOperationRequest OperationRequest(const plan::Action& a, uint64_t term) {
  NodeOperationRequest r;
  r.term = term;
  switch (a.kind) {
    case ActionKind::kStop:
      r.mode = a.stopMode;
      r.fenced = true;  // the planner stops only fenced/old primaries
      break;
    case ActionKind::kFollow:
      r.primary = a.upstream;
      r.fenced = true;
      break;
    case ActionKind::kRebuild:
      r.primary = a.upstream;
      r.method = a.method == RecoveryMethod::kBasebackup ? "basebackup" : "auto";
      r.fenced = true;
      break;
    default:
      break;
  }
  return r;
}

// The agent's PUT /v1/proxy/routing node list: every spec node, with the
// planner's weight for routed standbys; the primary keeps its spec weight (it
// serves reads too, as in Pgpool-II); excluded or unplanned nodes are down.
std::vector<RouteNode> RoutingNodes(const ClusterSpec& spec, const plan::Action& a) {
  std::vector<RouteNode> nodes;
  for (const auto& n : spec.nodes) {
    int weight = 0;
    bool up = false;
    if (n.name == a.primary) {
      up = true;
      weight = n.noLoadBalance ? 0 : n.weight;
    }
    for (const auto& s : a.standbys) {
      if (s.node == n.name) {
        up = true;
        weight = s.weight;
      }
    }
    nodes.push_back({n.name, n.host, spec.PgPort(n), weight, up});
  }
  return nodes;
}

Actuator::Actuator(const ClusterSpec& spec, std::string token, PgCredentials creds,
                   std::string local_node)
    : spec_(spec), token_(std::move(token)), creds_(std::move(creds)), localNode_(std::move(local_node)) {}

Actuator::~Actuator() = default;

RestClient& Actuator::Sidecar(const std::string& node) {
  auto& slot = clients_[node];
  const NodeSpec* n = spec_.FindNode(node);
  const std::string url = n ? spec_.ApiUrl(*n) : "http://invalid";
  // A new spec may move a sidecar: never keep talking to its old address.
  if (!slot || slot->baseUrl() != url)
    slot = std::make_unique<RestClient>(url, token_, std::chrono::milliseconds(3000));
  return *slot;
}

std::vector<ActionResult> Actuator::Run(const std::vector<plan::Action>& actions, uint64_t term,
                                        const plan::Observation& obs,
                                        const std::function<bool()>& keep_going) {
  std::vector<ActionResult> results;
  for (const auto& a : actions) {
    if (!keep_going()) {
      results.push_back(Done(a, false, "not carried out: this controller may no longer act"));
      break;
    }
    ActionResult r = RunOne(a, term, obs, keep_going);
    if (r.ok) {
      spdlog::info("action {}: done{}{} (reason: {})", a.Describe(), r.detail.empty() ? "" : ": ",
                   r.detail, a.reason);
    } else {
      spdlog::warn("action {}: FAILED: {} (reason: {})", a.Describe(), r.detail, a.reason);
    }
    bool stop = !r.ok && a.mustSucceed;
    results.push_back(std::move(r));
    if (stop) break;
  }
  return results;
}

ActionResult Actuator::RunOne(const plan::Action& a, uint64_t term, const plan::Observation& obs,
                              const std::function<bool()>& keep_going) {
  const value term_body = ToJson(TermRequest{term});
  switch (a.kind) {
    case ActionKind::kPromote:
      if (promoteGuard_) {
        if (Status g = promoteGuard_(a, obs); !g.ok()) return Done(a, false, "promote withheld: " + g.message());
      }
      return NodeOperation(a, "promote", term, true, keep_going);
    case ActionKind::kStop:
      return NodeOperation(a, "stop", term, true, keep_going);
    case ActionKind::kStart:
      if (startGuard_) {
        if (Status g = startGuard_(a, obs); !g.ok()) return Done(a, false, "start withheld: " + g.message());
      }
      return NodeOperation(a, "start", term, false, keep_going);
    case ActionKind::kFollow:
      // Not waited for: routing to the new primary must not wait on a standby's
      // restart; later rounds see the operation and its outcome.
      return NodeOperation(a, "follow", term, false, keep_going);
    case ActionKind::kRebuild:
      // Long: the planner waits for it through the observed operation.
      return NodeOperation(a, "rebuild", term, false, keep_going);
    case ActionKind::kPublishRouting: {
      const RoutingPublish publish{term, {a.generation, a.primary, RoutingNodes(spec_, a)}};
      return Broadcast(a, "PUT", "/v1/proxy/routing", ToJson(publish), obs);
    }
    case ActionKind::kPauseProxies:
      return Broadcast(a, "POST", "/v1/proxy/pause", term_body, obs);
    case ActionKind::kResumeProxies:
      return Broadcast(a, "POST", "/v1/proxy/resume", term_body, obs);
    case ActionKind::kSetSynchronousStandbys:
      return SetSynchronousStandbys(a);
    case ActionKind::kCheckpoint: {
      std::string error = RunSql(a.node, {"CHECKPOINT"});
      return Done(a, error.empty(), error.empty() ? "checkpoint done" : error);
    }
    case ActionKind::kWriteState: {
      if (!stateWriter_) return Done(a, false, "no state store to write to");
      Result<std::string> r = stateWriter_(a.state, term);
      return Done(a, r.ok(), r.ok() ? *r : r.error());
    }
    case ActionKind::kFence:
    case ActionKind::kUnfence:
    case ActionKind::kAttach:
    case ActionKind::kDetach:
    case ActionKind::kRecordEvent:
      // Their effect is the cluster state and routing written by the actions around them.
      return Done(a, true, "");
  }
  return Done(a, false, "unknown action");
}

ActionResult Actuator::NodeOperation(const plan::Action& a, const std::string& op, uint64_t term, bool wait,
                                     const std::function<bool()>& keep_going) {
  RestClient& c = Sidecar(a.node);
  auto reply = c.Post("/v1/node/" + op, ToJson(OperationRequest(a, term)));
  if (!reply.ok()) return Done(a, false, reply.error());
  if (reply->status != 202 && reply->status != 200) return Done(a, false, DescribeFailure(*reply));
  std::vector<std::string> notes;
  std::string id = NodeOperationStartedFromJson(reply->body, &notes).id;
  for (const auto& note : notes) spdlog::debug("{}: POST /v1/node/{}: {}", a.node, op, note);
  if (!wait || id.empty()) return Done(a, true, "operation " + id + " started");
  const auto started = std::chrono::steady_clock::now();
  auto deadline = started + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!keep_going()) return Done(a, false, "abandoned: this controller may no longer act");
    auto st = c.Get("/v1/node/operations/" + id);
    if (st.ok() && st->status == 200 && st->body.is_object()) {
      const SidecarOperation o = SidecarOperationFromJson(st->body);
      if (o.state == "succeeded") return Done(a, true, "operation " + id + " succeeded");
      if (o.state == "failed") return Done(a, false, "operation " + id + " failed: " + o.error);
    }
    // Promote and stop finish within a few hundred ms: look often at first.
    const bool early = std::chrono::steady_clock::now() < started + std::chrono::seconds(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(early ? 20 : 100));
  }
  return Done(a, false, "operation " + id + " did not finish within 120s");
}

ActionResult Actuator::Broadcast(const plan::Action& a, const std::string& method,
                                 const std::string& path, const value& body,
                                 const plan::Observation& obs) {
  // To every reachable proxy at once: a failover's routing waits on the slowest,
  // not on the sum.
  std::vector<std::string> names;
  std::vector<std::future<std::string>> replies;  // "" when accepted
  for (const auto& n : spec_.nodes) {
    const plan::NodeObservation* o = obs.Find(n.name);
    if (o && !o->sidecarReachable) continue;  // unreachable proxies serve nobody we can reach
    RestClient* c = &Sidecar(n.name);
    names.push_back(n.name);
    replies.push_back(std::async(std::launch::async, [c, method, path, body] {
      auto reply = method == "PUT" ? c->Put(path, body) : c->Post(path, body);
      if (reply.ok() && reply->status == 200) return std::string();
      return reply.ok() ? DescribeFailure(*reply) : reply.error();
    }));
  }
  int sent = 0;
  std::string failures;
  for (size_t i = 0; i < replies.size(); ++i) {
    std::string failure = replies[i].get();
    if (failure.empty()) ++sent;
    else failures += (failures.empty() ? "" : "; ") + names[i] + ": " + failure;
  }
  if (!failures.empty()) return Done(a, false, failures);
  return Done(a, true, std::to_string(sent) + " proxies");
}

std::string Actuator::RunSql(const std::string& node, const std::vector<std::string>& statements) {
  const NodeSpec* n = spec_.FindNode(node);
  if (!n) return "unknown node";
  const char* keys[] = {"host", "port", "dbname", "user", "password", "connect_timeout", "application_name", nullptr};
  std::string port = std::to_string(spec_.PgPort(*n));
  std::string timeout = std::to_string(creds_.connectTimeoutSeconds);
  const char* vals[] = {n->host.c_str(), port.c_str(), creds_.database.c_str(), creds_.user.c_str(),
                        creds_.password.c_str(), timeout.c_str(), "pgvigil-controller", nullptr};
  PGconn* c = PQconnectdbParams(keys, vals, 0);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string e = PQerrorMessage(c);
    PQfinish(c);
    return e.empty() ? "cannot connect" : e;
  }
  std::string error;
  for (const std::string& q : statements) {
    PGresult* r = PQexec(c, q.c_str());
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) error = PQerrorMessage(c);
    PQclear(r);
    if (!error.empty()) break;
  }
  PQfinish(c);
  return error;
}

ActionResult Actuator::SetSynchronousStandbys(const plan::Action& a) {
  std::string error = RunSql(a.node, {"ALTER SYSTEM SET synchronous_standby_names = " +
                                          PgQuote(a.synchronousStandbyNames),
                                      "SELECT pg_reload_conf()"});
  if (!error.empty()) return Done(a, false, error);
  return Done(a, true, "synchronous_standby_names = '" + a.synchronousStandbyNames + "'");
}

}  // namespace pgvigil
