#include "sidecar/proxy/sequence_failure.h"

namespace pgvigil::proxy {

void AppendSequenceFailure(std::string* out) {
  std::string body(1, 'S');
  AppendCString(&body, kSequenceFailureName);
  AppendMessage(out, 'D', body);
}

bool IsSequenceFailure(const ErrorFields& e) {
  return e.code == "26000" && e.message.find(kSequenceFailureName) != std::string::npos;
}

}  // namespace pgvigil::proxy
