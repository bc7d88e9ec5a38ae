// libFuzzer target (-DPGVIGIL_FUZZ=ON): both sides of a SCRAM-SHA-256 exchange
// over arbitrary client/server messages, plus the verifier and base64 parsers.
// Input: FIRST '\n' SECOND. The server side reads FIRST as client-first and SECOND
// as client-final; the client side reads FIRST as server-first and SECOND as
// server-final. "%N" in an input is replaced by the nonce the other side chose,
// so the fuzzer gets past the nonce checks. Iteration counts above 64 are
// skipped on the client side (PBKDF2 would only make the runs slow).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sidecar/proxy/scram.h"

using namespace pgvigil::proxy;

namespace {

std::string WithNonce(std::string_view in, std::string_view nonce) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 1 < in.size() && in[i + 1] == 'N') {
      out += nonce;
      ++i;
    } else {
      out += in[i];
    }
  }
  return out;
}

// Value of "NAME=" up to the next ',' in a SCRAM message, or empty.
std::string Attr(std::string_view msg, std::string_view name) {
  size_t p = msg.find(name);
  if (p == msg.npos) return "";
  size_t end = msg.find(',', p);
  return std::string(msg.substr(p + name.size(), end == msg.npos ? msg.npos : end - p - name.size()));
}

const ScramKeys& UserKeys() {
  static const ScramKeys keys = DeriveScramKeys("pencil", "fuzz-salt-16byte", 64);
  return keys;
}

void Server(std::optional<ScramKeys> keys, std::string_view first, std::string_view second) {
  ScramServer server(std::move(keys), "alice");
  auto sf = server.HandleClientFirst(first);
  if (!sf.ok()) return;
  std::string nonce = Attr(*sf, "r=");
  (void)server.HandleClientFinal(WithNonce(second, nonce));
}

void Client(std::string_view first, std::string_view second) {
  static ScramKeyCache cache;
  ScramClient client("pencil", &cache);
  std::string cf = client.ClientFirst();
  std::string server_first = WithNonce(first, Attr(cf, "r="));
  std::string iter = Attr(server_first, "i=");
  if (iter.size() > 2 && iter.find_first_not_of("0123456789") == std::string::npos) return;
  auto final_msg = client.HandleServerFirst(server_first);
  if (!final_msg.ok()) return;
  (void)client.HandleServerFinal(second);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view first = in.substr(0, nl);
  std::string_view second = nl == in.npos ? std::string_view() : in.substr(nl + 1);
  Server(UserKeys(), first, second);
  Server(std::nullopt, first, second);
  Client(first, second);
  if (auto k = ParseScramVerifier(in)) {
    // A verifier that parses formats back to the same text.
    if (ParseScramVerifier(FormatScramVerifier(*k)).value().storedKey != k->storedKey) std::abort();
  }
  if (auto raw = Base64Decode(in)) {
    if (Base64Decode(Base64Encode(*raw)) != raw) std::abort();
  }
  (void)Md5Response(first, second);
  return 0;
}
