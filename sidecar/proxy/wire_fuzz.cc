// libFuzzer target (-DPGVIGIL_FUZZ=ON with clang): the frontend and backend
// decoders, every body parser and the SQL classifier over arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sidecar/proxy/sql_classifier.h"
#include "sidecar/proxy/wire_decoder.h"
#include "sidecar/proxy/wire_messages.h"

using namespace pgvigil::proxy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (Direction dir : {Direction::kFrontend, Direction::kBackend}) {
    WireDecoder d(dir, 1 << 20);
    size_t off = 0;
    Frame f;
    while (d.Next(data + off, size - off, &f) == DecodeStatus::kFrame) {
      StartupParams sp;
      std::string_view a, b;
      ParseMsg pm;
      BindMsg bm;
      TargetMsg tm;
      ErrorFields ef;
      CancelKey ck;
      uint32_t code;
      (void)ParseStartupParams(f, &sp);
      (void)ParseCancelRequest(f, &ck);
      (void)ParseQuery(f, &a);
      (void)ParseParse(f, &pm);
      (void)ParseBind(f, &bm);
      (void)ParseDescribeOrClose(f, &tm);
      (void)ParseExecute(f, &a);
      (void)ParseAuthRequest(f, &code, &a);
      (void)ParseParameterStatus(f, &a, &b);
      (void)ParseErrorFields(f, &ef);
      (void)ParseSaslInitial(f, &a, &b);
      off += f.size;
      if (f.type == 0) d.StartMessages();
    }
  }
  ClassifierConfig cfg;
  cfg.readOnlyFunctions = {"f"};
  (void)ClassifySql(std::string_view(reinterpret_cast<const char*>(data), size), cfg);
  return 0;
}
