// libFuzzer target (-DPGVIGIL_FUZZ=ON): the controller's durable state as read
// back from the watchdog's cluster-state register (any member can have written
// the document). A document that decodes must encode to one that decodes to the
// same state.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "controller/act/state_codec.h"

using namespace pgvigil;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  web::json::value doc;
  try {
    doc = web::json::value::parse(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const std::exception&) {
    return 0;  // the reconciler refuses a document that is not JSON before decoding
  }
  auto state = DecodeClusterState(doc);
  if (!state.ok()) {
    if (state.error().empty()) std::abort();
    return 0;
  }
  auto again = DecodeClusterState(EncodeClusterState(*state));
  if (!again.ok() || !(*again == *state)) std::abort();
  return 0;
}
