#include "controller/api/controller_api.h"

#include "common/spec_parser.h"

namespace pgvigil {

namespace {

using web::json::value;

ApiResponse Accepted(value body) { return JsonResponse(202, body); }

}  // namespace

std::optional<ApiResponse> ControllerAdmitBeforeBody(const ApiRequest& head, const std::string& token) {
  if (head.method == "GET" || head.method == "HEAD") return std::nullopt;
  if (BearerTokenMatches(head.authorization, token)) return std::nullopt;
  return ErrorResponse(401, "a valid bearer token is required");
}

ApiResponse HandleControllerRequest(const ApiRequest& req, Reconciler& reconciler,
                                    const std::string& token, MetricsRegistry& metrics) {
  const std::string& m = req.method;
  const std::string& p = req.path;
  bool get = m == "GET" || m == "HEAD";
  auto authorized = [&] { return BearerTokenMatches(req.authorization, token); };

  if (p == "/v1/status") {
    if (!get) return ErrorResponse(405, "use GET");
    ClusterStatus status = reconciler.GetStatus();
    AddSpecFacts(reconciler.spec(), &status);
    return JsonResponse(200, ToJson(status));
  }
  if (p == "/metrics") {
    if (!get) return ErrorResponse(405, "use GET");
    ClusterStatus status = reconciler.GetStatus();
    UpdateStatusMetrics(status, metrics);
    ApiResponse r;
    r.contentType = "text/plain; version=0.0.4";
    r.body = metrics.Render();
    return r;
  }
  if (p == "/v1/spec") {
    if (get) {
      ApiResponse r;
      r.contentType = "text/yaml";
      r.body = SpecToYaml(reconciler.spec());
      return r;
    }
    if (m != "PUT") return ErrorResponse(405, "use GET or PUT");
    if (!authorized()) return ErrorResponse(401, "a valid bearer token is required");
    SpecLoad load = ParseSpec(req.body, "request body");
    if (!load.ok()) {
      value errors = value::array(load.errors.size());
      for (size_t i = 0; i < load.errors.size(); ++i) errors[i] = value::string(load.errors[i].ToString());
      value body = value::object();
      body["error"] = value::string("the spec was rejected; nothing changed (" +
                                    std::to_string(load.errors.size()) + " problems)");
      body["errors"] = errors;
      return JsonResponse(400, body);
    }
    if (load.spec->name != reconciler.spec().name) {
      return ErrorResponse(400, "metadata.name '" + load.spec->name + "' is not this cluster ('" +
                                    reconciler.spec().name + "'); nothing changed",
                           "metadata.name");
    }
    // Changed postgres.parameters: a sidecar's PostgreSQL checks them first.
    const std::optional<ParametersCheck> check = reconciler.CheckParameters(*load.spec);
    if (check && check->refused()) {
      value body = value::object();
      body["error"] = value::string("the spec was rejected: PostgreSQL would refuse its postgres.parameters; "
                                    "nothing changed");
      body["errors"] = value::array({value::string(check->RefusalLine())});
      return JsonResponse(400, body);
    }
    if (Status s = reconciler.ApplySpec(*load.spec, req.body); !s.ok())
      return ErrorResponse(500, s.message());
    value body = value::object();
    body["applied"] = value::boolean(true);
    body["nodes"] = value::number(static_cast<int>(load.spec->nodes.size()));
    if (check && check->outcome == ParametersCheck::Outcome::kUnchecked)
      body["warning"] = value::string("postgres.parameters applied unchecked: no sidecar could check them (" +
                                      check->NotCheckedText() + "); a sidecar sets aside at its next start "
                                      "any value its PostgreSQL would not start with");
    return JsonResponse(200, body);
  }
  if (p == "/v1/switchover") {
    if (m != "POST") return ErrorResponse(405, "use POST");
    if (!authorized()) return ErrorResponse(401, "a valid bearer token is required");
    value body;
    try {
      body = value::parse(req.body);
    } catch (const std::exception&) {
      return ErrorResponse(400, "the body is not JSON", "body");
    }
    if (!body.is_object() || !body.has_field("to") || !body.at("to").is_string())
      return ErrorResponse(400, "\"to\" (a node name) is required", "to");
    std::string to = body.at("to").as_string();
    // spec.primary is the desired primary: the planner switches back to it as soon
    // as it can, so a switchover elsewhere would be undone seconds later.
    ClusterSpec current = reconciler.spec();
    if (!current.primary.empty() && current.primary != to && current.FindNode(to))
      return ErrorResponse(409,
                           "the spec names " + current.primary + " as the desired primary (spec.primary), so "
                           "a switchover to " + to + " would be undone; apply a spec with primary: " + to +
                           " (or without primary) instead",
                           "to");
    if (Status s = reconciler.RequestSwitchover(to); !s.ok()) return ErrorResponse(400, s.message(), "to");
    value out = value::object();
    out["requested"] = value::string("switchover");
    out["to"] = value::string(to);
    return Accepted(out);
  }
  const std::string prefix = "/v1/nodes/";
  if (p.rfind(prefix, 0) == 0) {
    std::string rest = p.substr(prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0) return ErrorResponse(404, "no such path");
    std::string node = rest.substr(0, slash), verb = rest.substr(slash + 1);
    if (verb != "recover" && verb != "attach" && verb != "detach")
      return ErrorResponse(404, "no such path");
    if (m != "POST") return ErrorResponse(405, "use POST");
    if (!authorized()) return ErrorResponse(401, "a valid bearer token is required");
    if (Status s = reconciler.RequestNode(verb, node); !s.ok()) return ErrorResponse(404, s.message(), "node");
    value out = value::object();
    out["requested"] = value::string(verb);
    out["node"] = value::string(node);
    return Accepted(out);
  }
  return ErrorResponse(404, "no such path");
}

}  // namespace pgvigil
