// libFuzzer target (-DPGVIGIL_FUZZ=ON): the cluster spec parser and validator
// (vigilctl validate, PUT /v1/spec, the sidecar's and controller's spec files).
// A spec that parses must serialise to YAML and JSON that parse back to an equal
// spec (SpecToYaml / SpecToJson promise it). Secret files are not looked up.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/spec_parser.h"

using namespace pgvigil;

namespace {

void MustRoundTrip(const ClusterSpec& spec, const std::string& text, const char* form,
                   const SpecParseOptions& options) {
  SpecLoad again = ParseSpec(text, form, options);
  if (again.ok() && *again.spec == spec) return;
  std::fprintf(stderr, "the %s form of a valid spec does not parse back to it:\n%s\n%s\n", form,
               text.c_str(), again.ErrorText().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SpecParseOptions options;
  options.checkSecretFiles = false;
  SpecLoad load = ParseSpec(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml", options);
  if (!load.ok()) {
    if (load.errors.empty()) std::abort();  // a rejected spec always says why
    for (const auto& e : load.errors) (void)e.ToString();
    return 0;
  }
  MustRoundTrip(*load.spec, SpecToYaml(*load.spec), "yaml", options);
  MustRoundTrip(*load.spec, SpecToJson(*load.spec), "json", options);
  return 0;
}
