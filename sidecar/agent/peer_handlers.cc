#include "sidecar/agent/peer_handlers.h"

#include "sidecar/health_view.h"

#include <spdlog/spdlog.h>

#include "common/agent_refusal.h"
#include "common/logging.h"
#include "sidecar/agent/op_request.h"
#include "sidecar/agent/peer_requests.h"
#include "sidecar/proxy/proxy_api.h"
#include "sidecar/watchdog/watchdog_api.h"

namespace pgvigil {

using web::json::value;

namespace {

ApiResponse Refused(const char* reason, const std::string& error) {
  return JsonResponse(409, ToJson(AgentRefusal{error, reason, {}, {}, {}}));
}

ApiResponse Paused(const ProxyApi& proxy) {
  auto v = value::object();
  v["paused"] = value::boolean(proxy.Paused());
  v["inTransaction"] = value::number(proxy.SessionsInTransaction());
  return JsonResponse(200, v);
}

}  // namespace

ApiResponse HandlePeerRoute(Route route, const ApiRequest& req, ProxyApi* proxy,
                            WatchdogApi* watchdog,
                            const std::function<std::optional<ApiResponse>(uint64_t)>& check_term,
                            HealthView* health) {
  bool watchdog_route = route == Route::kWatchdog || route == Route::kWatchdogRegisterGet ||
                        route == Route::kWatchdogRegisterPut;
  // Bodies and terms are checked before availability, so a caller learns about a
  // bad request or a stale term whatever parts run here.
  auto unavailable = [&]() -> std::optional<ApiResponse> {
    if (watchdog_route && !watchdog) return ErrorResponse(503, "the watchdog is disabled on this node");
    if (!watchdog_route && !proxy) return ErrorResponse(503, "the proxy is disabled on this node");
    return std::nullopt;
  };
  bool mutating = route == Route::kWatchdogRegisterPut || route == Route::kProxyRoutingPut ||
                  route == Route::kProxyPause || route == Route::kProxyResume;
  if (!mutating)
    if (auto r = unavailable()) return *r;
  RequestError e;
  uint64_t term = 0;
  switch (route) {
    case Route::kWatchdog:
      return JsonResponse(200, ToJson(watchdog->Detail()));
    case Route::kWatchdogRegisterGet:
      return JsonResponse(200, ToJson(watchdog->ReadRegister()));
    case Route::kWatchdogRegisterPut: {
      WatchdogRegisterWrite w;
      if (!ParseRegisterWrite(req.body, &w, &e)) return ErrorResponse(400, e.reason, e.field);
      if (auto refused = check_term(w.term)) return *refused;
      if (auto r = unavailable()) return *r;
      auto version = watchdog->WriteRegister(w.doc, RegisterWriteTimeout(w));
      if (!version.ok()) {
        spdlog::warn("agent: register write refused: {}", LogEscape(version.error()));
        return Refused(refusal::kRegisterRefused, version.error());
      }
      return JsonResponse(200, ToJson(WatchdogRegisterWritten{*version}));
    }
    case Route::kProxyRoutingGet:
      return JsonResponse(200, ToJson(proxy->Routing()));
    case Route::kProxyRoutingPut: {
      RoutingTable table;
      if (!ParseRoutingRequest(req.body, &term, &table, &e)) return ErrorResponse(400, e.reason, e.field);
      if (auto refused = check_term(term)) return *refused;
      if (auto r = unavailable()) return *r;
      // Only the spec's nodes at the spec's addresses: the proxy logs in there
      // with pool_passwd passwords.
      if (Status s = proxy->CheckRouting(table); !s.ok()) {
        spdlog::warn("agent: routing generation {} refused: {}", table.generation, s.message());
        return ErrorResponse(400, s.message(), "nodes");
      }
      if (Status s = proxy->SetRouting(table); !s.ok()) {
        spdlog::warn("agent: routing generation {} refused by the proxy: {}", table.generation,
                     LogEscape(s.message()));
        return Refused(refusal::kRoutingRefused, s.message());
      }
      spdlog::info("agent: routing generation {} published (primary '{}') in term {}",
                   table.generation, LogEscape(table.primary), term);
      // The proxy routes writes only to a primary its health view confirms: check
      // now rather than up to a period later (a just-promoted node).
      if (health) health->RequestCheck();
      return JsonResponse(200, ToJson(proxy->Routing()));
    }
    case Route::kProxyPause:
    case Route::kProxyResume: {
      TermRequest t;
      if (!ParseTermRequest(req.body, &t, &e)) return ErrorResponse(400, e.reason, e.field);
      term = t.term;
      if (auto refused = check_term(term)) return *refused;
      if (auto r = unavailable()) return *r;
      if (route == Route::kProxyPause) {
        proxy->PauseNewTransactions();
        spdlog::info("agent: new transactions paused in term {}", term);
      } else {
        proxy->ResumeNewTransactions();
        spdlog::info("agent: new transactions resumed in term {}", term);
      }
      return Paused(*proxy);
    }
    case Route::kProxyPoolNodes:
      return JsonResponse(200, ToJson(proxy->PoolNodes()));
    default:
      return ErrorResponse(404, "no such path: " + req.path);
  }
}

}  // namespace pgvigil
