// Bodies of the REST calls that reach the proxy and the watchdog through the
// agent (PUT /v1/proxy/routing, PUT /v1/watchdog/register). Pure parsing and
// JSON rendering; errors name the field ("nodes[1].port").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <cpprest/json.h>

#include "common/watchdog_register.h"
#include "sidecar/agent/op_request.h"
#include "sidecar/proxy/proxy_api.h"

namespace pgvigil {

// PUT /v1/proxy/routing: RoutingPublish (common/routing_table.h), checked
// strictly (unknown fields, duplicate names, a primary not among the nodes are
// refused, the error names the field). The answer is ToJson(RoutingTable).
bool ParseRoutingRequest(const std::string& body, uint64_t* term, RoutingTable* table,
                         RequestError* error);

// PUT /v1/watchdog/register: WatchdogRegisterWrite (common/watchdog_register.h),
// checked strictly (unknown fields, a doc that is no object, a timeoutMs outside
// 1..60000 are refused, the error names the field); timeoutMs stays unset when absent.
bool ParseRegisterWrite(const std::string& body, WatchdogRegisterWrite* out, RequestError* error);
// How long the write may wait for a majority: timeoutMs, else 5000 ms.
std::chrono::milliseconds RegisterWriteTimeout(const WatchdogRegisterWrite& w);

}  // namespace pgvigil
