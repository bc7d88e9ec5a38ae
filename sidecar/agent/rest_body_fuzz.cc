// libFuzzer target (-DPGVIGIL_FUZZ=ON): the JSON request bodies the node agent
// decodes (POST /v1/node/<op>, POST /v1/node/term, PUT /v1/proxy/routing,
// PUT /v1/watchdog/register). The first input byte chooses the decoder, the rest
// is the body. A decoder that accepts a body must leave a usable value and one
// that refuses it must say why; an accepted routing table, written back
// as JSON, must be accepted again unchanged.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sidecar/agent/op_request.h"
#include "sidecar/agent/peer_requests.h"

using namespace pgvigil;

namespace {

const char* const kOps[] = {"promote", "stop", "start", "restart", "follow", "rebuild"};
constexpr size_t kOpCount = sizeof kOps / sizeof kOps[0];

bool Refused(bool ok, const RequestError& e) {
  if (!ok && e.reason.empty()) std::abort();  // every refusal says why
  return !ok;
}

void Routing(const std::string& body) {
  uint64_t term = 0;
  RoutingTable table;
  RequestError e;
  if (Refused(ParseRoutingRequest(body, &term, &table, &e), e)) return;
  web::json::value back = ToJson(table);
  back["term"] = web::json::value::number(term);
  uint64_t term2 = 0;
  RoutingTable table2;
  if (!ParseRoutingRequest(back.serialize(), &term2, &table2, &e) || term2 != term ||
      table2.generation != table.generation || table2.primary != table.primary ||
      table2.nodes.size() != table.nodes.size())
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t which = data[0] % (kOpCount + 3);
  RequestError e;
  if (which < kOpCount) {
    OpRequest r;
    auto known = [](const std::string& n) { return n == "server2" || n == "server3"; };
    if (!Refused(ParseOpRequest(kOps[which], body, known, &r, &e), e)) (void)ToString(r.kind);
  } else if (which == kOpCount) {
    TermRequest term;
    (void)Refused(ParseTermRequest(body, &term, &e), e);
  } else if (which == kOpCount + 1) {
    Routing(body);
  } else {
    WatchdogRegisterWrite w;
    if (!Refused(ParseRegisterWrite(body, &w, &e), e)) (void)ToJson(w).serialize();
  }
  return 0;
}
