// Pure framing of the PostgreSQL v3 wire protocol over a byte buffer: no
// sockets, no allocation, no exceptions. The caller owns the buffer; a Frame
// points into it and is valid until the buffer changes. One decoder per stream
// direction; not thread-safe (each connection owns its own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pgvigil::proxy {

constexpr uint32_t kProtocolV3 = 196608;         // 3.0
constexpr uint32_t kSslRequestCode = 80877103;
constexpr uint32_t kGssEncRequestCode = 80877104;
constexpr uint32_t kCancelRequestCode = 80877102;
constexpr uint32_t kMaxStartupPacket = 10000;    // as PostgreSQL's MAX_STARTUP_PACKET_LENGTH
constexpr uint32_t kDefaultMaxMessage = 1u << 30;  // 1 GB, PostgreSQL's own limit

enum class Direction { kFrontend, kBackend };  // who sends the bytes

enum class DecodeStatus {
  kFrame,     // *frame holds one whole message; consume frame->size bytes
  kNeedMore,  // not enough bytes for a whole message yet
  kError,     // malformed; decoder is now out of sync (error() says why)
};

// Why the decoder went out of sync (the session answers each differently, as
// PostgreSQL does: a bad startup length closes silently, an unsupported
// protocol gets a FATAL).
enum class DecodeError {
  kNone,
  kStartupLength,     // startup-phase length below 8 or above kMaxStartupPacket
  kRequestLength,     // SSL/GSS/cancel request with the wrong length
  kProtocolVersion,   // startup packet with a major version other than 3
  kUnknownType,       // typed message with a type byte this direction never sends
  kMessageLength,     // typed message length below 4
  kTooLong,           // typed message length above the current cap
};

enum class DecoderState {
  kStartup,    // frontend only: untyped length-prefixed startup/SSL/cancel packets
  kMessages,   // typed messages: 1 type byte, 4 length bytes (including themselves)
  kOutOfSync,  // a framing error was seen; nothing more is decoded
};

inline uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline uint16_t ReadU16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }

// The message types each direction may send (protocol 3.0): one lookup per
// message.
struct MessageTypes {
  bool known[256] = {};
  constexpr explicit MessageTypes(const char* types) {
    for (; *types; ++types) known[static_cast<unsigned char>(*types)] = true;
  }
};
inline constexpr MessageTypes kFrontendTypes("BCDEFHPQSXdcfp");
inline constexpr MessageTypes kBackendTypes("123ACDEGHIKNRSTWVZcdnstv");

struct Frame {
  char type = 0;               // 0 for an untyped startup-phase packet
  uint32_t code = 0;           // startup-phase packets: protocol / request code
  const uint8_t* body = nullptr;  // after the header
  uint32_t bodyLen = 0;
  size_t size = 0;             // whole message including header
};

class WireDecoder {
 public:
  // Frontend decoders start in kStartup, backend decoders in kMessages.
  explicit WireDecoder(Direction dir, uint32_t max_message = kDefaultMaxMessage);

  // Looks at data[0..len) and reports the first whole message, if any.
  // Inline for a typed message with a sound header (every message of a
  // session after startup); the rest, and every error, out of line.
  DecodeStatus Next(const uint8_t* data, size_t len, Frame* frame) {
    if (state_ == DecoderState::kMessages && len >= 5) {
      const uint32_t n = ReadU32(data + 1);
      if (types_->known[data[0]] && n >= 4 && n <= maxMessage_) {
        if (len < size_t(n) + 1) return DecodeStatus::kNeedMore;
        frame->type = static_cast<char>(data[0]);
        frame->code = 0;
        frame->body = data + 5;
        frame->bodyLen = n - 4;
        frame->size = size_t(n) + 1;
        return DecodeStatus::kFrame;
      }
    }
    return NextSlow(data, len, frame);
  }
  // After the startup packet is accepted (protocol 3.0), typed messages follow.
  // SSL/GSS/cancel requests keep the decoder in kStartup.
  void StartMessages() { state_ = DecoderState::kMessages; }
  // The largest typed message accepted from now on (refused from its length
  // word, before its body is buffered): small during authentication.
  void SetMaxMessage(uint32_t max_message) { maxMessage_ = max_message; }
  uint32_t maxMessage() const { return maxMessage_; }

  DecoderState state() const { return state_; }
  const std::string& error() const { return error_; }
  DecodeError errorKind() const { return errorKind_; }

 private:
  DecodeStatus Fail(DecodeError kind, std::string why);
  DecodeStatus NextSlow(const uint8_t* data, size_t len, Frame* frame);
  // Out of line: the startup packet and the error messages (strings built)
  // cost the per-message path no stack frame.
  DecodeStatus NextStartup(const uint8_t* data, size_t len, Frame* frame);
  DecodeStatus FailMessage(uint8_t type, uint32_t n);
  Direction dir_;
  const MessageTypes* types_;  // dir_'s
  uint32_t maxMessage_;
  DecoderState state_;
  std::string error_;
  DecodeError errorKind_ = DecodeError::kNone;
};

// Whether `type` is a message type that direction may send (protocol 3.0).
bool IsKnownMessageType(Direction dir, char type);

}  // namespace pgvigil::proxy
