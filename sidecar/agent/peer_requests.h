// Bodies of the REST calls that reach the proxy and the watchdog through the
// agent (PUT /v1/proxy/routing, PUT /v1/watchdog/register). Pure parsing and
// JSON rendering; errors name the field ("nodes[1].port").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <cpprest/json.h>

#include "sidecar/agent/op_request.h"
#include "sidecar/proxy/proxy_api.h"

namespace pgvigil {

// {"term", "generation", "primary", "nodes": [{"name","host","port","weight","up"}]}
bool ParseRoutingRequest(const std::string& body, uint64_t* term, RoutingTable* table,
                         RequestError* error);
web::json::value RoutingToJson(const RoutingTable& t);
web::json::value PoolNodesToJson(const std::vector<PoolNodeRow>& rows);

// {"term", "doc": {...}, "timeoutMs": 5000}
bool ParseRegisterWrite(const std::string& body, uint64_t* term, web::json::value* doc,
                        std::chrono::milliseconds* timeout, RequestError* error);

}  // namespace pgvigil
