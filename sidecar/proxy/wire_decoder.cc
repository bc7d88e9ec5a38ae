#include "sidecar/proxy/wire_decoder.h"

#include <cstring>

namespace pgvigil::proxy {

WireDecoder::WireDecoder(Direction dir, uint32_t max_message)
    : dir_(dir),
      types_(dir == Direction::kFrontend ? &kFrontendTypes : &kBackendTypes),
      maxMessage_(max_message),
      state_(dir == Direction::kFrontend ? DecoderState::kStartup : DecoderState::kMessages) {}

DecodeStatus WireDecoder::Fail(DecodeError kind, std::string why) {
  state_ = DecoderState::kOutOfSync;
  errorKind_ = kind;
  error_ = std::move(why);
  return DecodeStatus::kError;
}

bool IsKnownMessageType(Direction dir, char type) {
  return (dir == Direction::kFrontend ? kFrontendTypes : kBackendTypes).known[static_cast<unsigned char>(type)];
}

[[gnu::noinline]] DecodeStatus WireDecoder::NextSlow(const uint8_t* data, size_t len, Frame* frame) {
  if (state_ == DecoderState::kOutOfSync) return DecodeStatus::kError;
  if (state_ == DecoderState::kStartup) return NextStartup(data, len, frame);
  if (len < 5) return DecodeStatus::kNeedMore;
  char type = static_cast<char>(data[0]);
  uint32_t n = ReadU32(data + 1);
  if (!IsKnownMessageType(dir_, type) || n < 4 || n > maxMessage_) return FailMessage(data[0], n);
  if (len < size_t(n) + 1) return DecodeStatus::kNeedMore;
  frame->type = type;
  frame->code = 0;
  frame->body = data + 5;
  frame->bodyLen = n - 4;
  frame->size = size_t(n) + 1;
  return DecodeStatus::kFrame;
}

[[gnu::noinline]] DecodeStatus WireDecoder::NextStartup(const uint8_t* data, size_t len, Frame* frame) {
  if (len < 4) return DecodeStatus::kNeedMore;
  uint32_t n = ReadU32(data);
  if (n < 8) return Fail(DecodeError::kStartupLength, "startup packet length " + std::to_string(n) + " is below 8");
  if (n > kMaxStartupPacket)
    return Fail(DecodeError::kStartupLength, "startup packet length " + std::to_string(n) + " exceeds " +
                std::to_string(kMaxStartupPacket));
  if (len < 8) return DecodeStatus::kNeedMore;
  uint32_t code = ReadU32(data + 4);
  bool fixed = code == kSslRequestCode || code == kGssEncRequestCode;
  if (fixed && n != 8) return Fail(DecodeError::kRequestLength, "SSL/GSS request with length " + std::to_string(n));
  if (code == kCancelRequestCode && n != 16)
    return Fail(DecodeError::kRequestLength, "cancel request with length " + std::to_string(n));
  if (!fixed && code != kCancelRequestCode && (code >> 16) != 3)
    return Fail(DecodeError::kProtocolVersion, "unsupported protocol " + std::to_string(code >> 16) + "." +
                std::to_string(code & 0xffff));
  if (len < n) return DecodeStatus::kNeedMore;
  frame->type = 0;
  frame->code = code;
  frame->body = data + 8;
  frame->bodyLen = n - 8;
  frame->size = n;
  return DecodeStatus::kFrame;
}

[[gnu::noinline, gnu::cold]] DecodeStatus WireDecoder::FailMessage(uint8_t type, uint32_t n) {
  // In the order Next checks them: the type, then the length.
  if (!IsKnownMessageType(dir_, static_cast<char>(type)))
    return Fail(DecodeError::kUnknownType, std::string("unknown message type 0x") + "0123456789abcdef"[(type >> 4) & 15] +
                "0123456789abcdef"[type & 15]);
  if (n < 4) return Fail(DecodeError::kMessageLength, "message length " + std::to_string(n) + " is below 4");
  return Fail(DecodeError::kTooLong, "message length " + std::to_string(n) + " exceeds " + std::to_string(maxMessage_));
}

}  // namespace pgvigil::proxy
