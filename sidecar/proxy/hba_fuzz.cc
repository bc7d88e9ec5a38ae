// libFuzzer target (-DPGVIGIL_FUZZ=ON): pool_hba.conf text, then a match of the
// parsed rules against a few clients (IPv4, IPv6, unix socket; with and without TLS).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sidecar/proxy/hba.h"

using namespace pgvigil::proxy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto rules = HbaRules::Parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!rules.ok()) {
    if (rules.error().empty()) std::abort();  // a refusal always says why
    return 0;
  }
  for (const char* addr : {"127.0.0.1", "10.77.0.100", "::1", "fe80::1", ""}) {
    for (bool ssl : {false, true}) {
      HbaDecision d = rules->Match(addr, ssl, "postgres", "alice");
      if (d.line < 0 || (d.line == 0 && d.method != AuthMethod::kReject)) std::abort();
      (void)ToString(d.method);
      (void)rules->Match(addr, ssl, "alice", "alice");
    }
  }
  return 0;
}
