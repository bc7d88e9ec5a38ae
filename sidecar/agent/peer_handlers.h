// REST handlers that reach the proxy (ProxyApi) and the watchdog (WatchdogApi)
// beside the agent: GET /v1/watchdog[/register], PUT /v1/watchdog/register,
// GET/PUT /v1/proxy/routing, POST /v1/proxy/pause|resume, GET /v1/proxy/pool_nodes.
// The caller has checked the token; check_term is called with the body's term
// for mutating routes and returns the refusal to send, if any. Either API
// pointer may be null (part disabled): 503. Thread-safe as the APIs are.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "sidecar/agent/rest_routes.h"

namespace pgvigil {

class ProxyApi;
class WatchdogApi;
class HealthView;

// `health` (may be null): asked for an immediate check when a routing table is
// published.
ApiResponse HandlePeerRoute(Route route, const ApiRequest& req, ProxyApi* proxy,
                            WatchdogApi* watchdog,
                            const std::function<std::optional<ApiResponse>(uint64_t)>& check_term,
                            HealthView* health = nullptr);

}  // namespace pgvigil
