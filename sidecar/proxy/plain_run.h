// Runs of backend messages a client session relays as they are. Pure: no
// sockets, no allocation.
//
// Inside a client's own cycle the session looks at six backend message types
// (ClientSession::OnSpecialFrame): ErrorResponse 'E', ReadyForQuery 'Z',
// CopyInResponse 'G', ParseComplete '1' and CloseComplete '3' (either may
// answer a Parse or Close the proxy added), and ParameterStatus 'S'
// (transaction pooling: a parameter that follows the client). Every other
// message goes to the client unchanged. A backend read hands consecutive
// whole messages of the other types to the session in one call, so the
// session appends them at once instead of one call per message.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sidecar/proxy/wire_decoder.h"

namespace pgvigil::proxy {

// The backend message types relayed unchanged inside a client's own cycle:
// kBackendTypes ("123ACDEGHIKNRSTWVZcdnstv") without "EZG13S".
inline constexpr MessageTypes kPlainRelayTypes("2ACDHIKNRTWVcdnstv");

inline bool PlainRelayType(char type) { return kPlainRelayTypes.known[static_cast<unsigned char>(type)]; }

// The length of the longest prefix of data[0..len) made of whole messages of
// plain-relay types whose length word is sound (4 to max_message, as
// WireDecoder::Next checks): 0 when the first is none. It stops before a
// message of another type, an incomplete one, or one the decoder would
// refuse (the decoder then reports it, in order, after the run).
inline size_t PlainRunLength(const uint8_t* data, size_t len, uint32_t max_message) {
  size_t at = 0;
  while (len - at >= 5) {
    const uint8_t* p = data + at;
    const uint32_t n = ReadU32(p + 1);
    if (!kPlainRelayTypes.known[p[0]] || n < 4 || n > max_message || len - at - 1 < n) break;
    at += size_t(n) + 1;
  }
  return at;
}

}  // namespace pgvigil::proxy
