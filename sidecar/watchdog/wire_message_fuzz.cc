// libFuzzer target (-DPGVIGIL_FUZZ=ON): watchdog datagrams (heartbeats, votes,
// acks, resigns). The first input byte chooses how the rest is read:
//   even: the bytes are the datagram as received (MAC included), so the length,
//         magic and MAC checks are what runs;
//   odd:  the bytes are a datagram body and the target appends its valid MAC,
//         so every field decoder runs as for a datagram from a member.
// Members are a, b, c; the key is fixed. A message that decodes must encode back
// to exactly the same bytes (the format has a single encoding).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "sidecar/watchdog/wire_message.h"

using namespace pgvigil::watchdog;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string key = "fuzz-heartbeat-key";
  static const uint32_t fingerprint = MembershipFingerprint({"a", "b", "c"});
  std::vector<uint8_t> datagram(data + 1, data + size);
  if (data[0] & 1) {
    uint8_t mac[kMacSize];
    unsigned int len = kMacSize;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), datagram.data(), datagram.size(),
         mac, &len);
    datagram.insert(datagram.end(), mac, mac + kMacSize);
  }
  DecodeResult r = DecodeMessage(datagram.data(), datagram.size(), key, 3, fingerprint);
  (void)ToString(r.error);
  if (r.error == DropReason::kNone || r.error == DropReason::kUnknownMember ||
      r.error == DropReason::kMembershipMismatch) {
    if (r.message.health.size() > 255 || r.message.reg.doc.size() > kMaxRegisterDoc) std::abort();
    (void)ToString(r.message.state);
  }
  if (r.ok() && EncodeMessage(r.message, key) != datagram) std::abort();
  return 0;
}
