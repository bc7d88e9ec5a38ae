#include "controller/kube/kube_api.h"

#include <cpprest/json.h>

namespace pgvigil::kube {

using web::json::value;

ApiResponse HandleKubeRequest(const ApiRequest& req, const KubeControllerView& view) {
  const bool read = req.method == "GET" || req.method == "HEAD";
  if (req.path == "/healthz") {
    if (!read) return ErrorResponse(405, req.method + " " + req.path + ": only GET and HEAD");
    value v = value::object();
    v["status"] = value::string("ok");
    return JsonResponse(200, v);
  }
  if (req.path == "/v1/replica") {
    if (!read) return ErrorResponse(405, req.method + " " + req.path + ": only GET and HEAD");
    value v = value::object();
    v["mode"] = value::string("kubernetes");
    v["identity"] = value::string(view.identity);
    v["role"] = value::string(view.role);
    v["actingTerm"] = value::number(view.actingTerm);
    value clusters = value::array(view.clusters.size());
    for (size_t i = 0; i < view.clusters.size(); ++i) clusters[i] = value::string(view.clusters[i]);
    v["clusters"] = clusters;
    return JsonResponse(200, v);
  }
  if (req.path == "/v1/status") {
    if (!read) return ErrorResponse(405, req.method + " " + req.path + ": only GET and HEAD");
    auto q = req.query.find("cluster");
    const std::string want = q == req.query.end() ? "" : q->second;
    std::vector<std::string> match;
    for (const auto& c : view.clusters)
      if (want.empty() || c == want || c.substr(c.find('/') + 1) == want) match.push_back(c);
    if (match.empty())
      return ErrorResponse(404, want.empty() ? "no cluster is running here" : "cluster '" + want + "' is not running here");
    if (match.size() > 1) {
      std::string names;
      for (const auto& c : match) names += (names.empty() ? "" : ", ") + c;
      return ErrorResponse(409, "several clusters run here (" + names + "): name one with ?cluster=ns/name");
    }
    auto st = view.status ? view.status(match.front()) : std::nullopt;
    if (!st) return ErrorResponse(404, "cluster '" + match.front() + "' is not running here");
    return JsonResponse(200, ToJson(*st));
  }
  return ErrorResponse(404, "no route " + req.path);
}

}  // namespace pgvigil::kube
