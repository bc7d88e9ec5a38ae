// Encoding and decoding of watchdog datagrams; see wire_message.h for the layout.
#include "sidecar/watchdog/wire_message.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace pgvigil {
namespace watchdog {
namespace {

constexpr uint8_t kMagic[4] = {'P', 'V', 'W', '3'};
// magic..healthCount without doc and health entries.
constexpr size_t kFixedSize = 4 + 1 + 1 + 1 + 4 + 4 + 8 + 8 + 8 + 1 + 1 + 8 + 8 + 8 + 2 + 1;

void Mac(const uint8_t* data, size_t size, const std::string& key, uint8_t out[kMacSize]) {
  unsigned int len = kMacSize;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, size, out, &len);
}

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) { Big(v, 2); }
  void U32(uint32_t v) { Big(v, 4); }
  void U64(uint64_t v) { Big(v, 8); }
  void Bytes(const std::string& s) { out_.insert(out_.end(), s.begin(), s.end()); }
  std::vector<uint8_t>& out() { return out_; }

 private:
  void Big(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool U8(uint8_t* v) { return Big(v, 1); }
  bool U16(uint16_t* v) { return Big(v, 2); }
  bool U32(uint32_t* v) { return Big(v, 4); }
  bool U64(uint64_t* v) { return Big(v, 8); }
  bool Bytes(size_t len, std::string* s) {
    if (n_ - pos_ < len) return false;
    s->assign(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return true;
  }
  bool AtEnd() const { return pos_ == n_; }

 private:
  template <typename T>
  bool Big(T* v, size_t n) {
    if (n_ - pos_ < n) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i) x = (x << 8) | p_[pos_ + i];
    pos_ += n;
    *v = static_cast<T>(x);
    return true;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

bool ValidKind(uint8_t k) { return k >= 1 && k <= 5; }

}  // namespace

const char* ToString(MemberState s) {
  switch (s) {
    case MemberState::kStandby: return "STANDBY";
    case MemberState::kCandidate: return "CANDIDATE";
    case MemberState::kLeader: return "LEADER";
    case MemberState::kShutdown: return "SHUTDOWN";
  }
  return "UNKNOWN";
}

const char* ToString(DropReason r) {
  switch (r) {
    case DropReason::kNone: return "none";
    case DropReason::kTooShort: return "too_short";
    case DropReason::kTooLong: return "too_long";
    case DropReason::kBadMagic: return "bad_magic";
    case DropReason::kBadMac: return "bad_mac";
    case DropReason::kMalformed: return "malformed";
    case DropReason::kUnknownMember: return "unknown_member";
    case DropReason::kMembershipMismatch: return "membership_mismatch";
    case DropReason::kReplayed: return "replayed";
    case DropReason::kStale: return "stale";
    case DropReason::kOldIncarnation: return "old_incarnation";
  }
  return "unknown";
}

uint32_t MembershipFingerprint(const std::vector<std::string>& names) {
  uint32_t h = 2166136261u;
  for (const auto& n : names) {
    for (unsigned char c : n) h = (h ^ c) * 16777619u;
    h = (h ^ 0u) * 16777619u;  // separator so {"ab","c"} != {"a","bc"}
  }
  return h;
}

std::vector<uint8_t> EncodeMessage(const WireMessage& m, const std::string& key) {
  bool has_doc = m.Has(kFlagHasDoc);
  if ((has_doc && m.reg.doc.size() > kMaxRegisterDoc) || m.health.size() > 255) return {};
  Writer w;
  for (uint8_t b : kMagic) w.U8(b);
  w.U8(static_cast<uint8_t>(m.kind));
  w.U8(m.flags);
  w.U8(m.from);
  w.U32(m.fingerprint);
  w.U32(m.prefixFingerprint);
  w.U64(m.seq);
  w.U64(m.echo);
  w.U64(m.term);
  w.U8(static_cast<uint8_t>(m.state));
  w.U8(m.leader);
  w.U64(m.round);
  w.U64(m.reg.term);
  w.U64(m.reg.version);
  w.U16(has_doc ? static_cast<uint16_t>(m.reg.doc.size()) : 0);
  if (has_doc) w.Bytes(m.reg.doc);
  w.U8(static_cast<uint8_t>(m.health.size()));
  for (const auto& h : m.health) {
    w.U8(h.backend);
    w.U8(static_cast<uint8_t>(h.status));
  }
  auto& out = w.out();
  if (out.size() + kMacSize > kMaxDatagram) return {};
  uint8_t mac[kMacSize];
  Mac(out.data(), out.size(), key, mac);
  out.insert(out.end(), mac, mac + kMacSize);
  return std::move(out);
}

MembershipPrints PrintsOf(const std::vector<std::string>& names) {
  MembershipPrints p;
  p.count = names.size();
  p.full = MembershipFingerprint(names);
  p.prefix = MembershipFingerprint(
      std::vector<std::string>(names.begin(), names.empty() ? names.end() : names.end() - 1));
  return p;
}

MembershipRelation CompareMembership(const MembershipPrints& mine, uint32_t sender_full, uint32_t sender_prefix) {
  if (sender_full == mine.full) return MembershipRelation::kSame;
  // With fewer than two members there is no shorter list to speak of.
  if (mine.count >= 2 && sender_full == mine.prefix) return MembershipRelation::kSenderShorter;
  if (sender_prefix == mine.full) return MembershipRelation::kSenderLonger;
  return MembershipRelation::kOther;
}

const char* ToString(MembershipRelation r) {
  switch (r) {
    case MembershipRelation::kSame: return "same";
    case MembershipRelation::kSenderShorter: return "sender_shorter";
    case MembershipRelation::kSenderLonger: return "sender_longer";
    case MembershipRelation::kOther: return "other";
  }
  return "unknown";
}

DecodeResult DecodeMessage(const uint8_t* data, size_t size, const std::string& key,
                           size_t member_count, uint32_t fingerprint) {
  DecodeResult r = DecodeMessage(data, size, key, MembershipPrints{member_count, fingerprint, fingerprint});
  // Exactly this list: neither a shorter nor a longer one.
  if (r.ok() && r.message.fingerprint != fingerprint) r.error = DropReason::kMembershipMismatch;
  return r;
}

DecodeResult DecodeMessage(const uint8_t* data, size_t size, const std::string& key,
                           const MembershipPrints& mine) {
  const size_t member_count = mine.count;
  DecodeResult r;
  if (size < kFixedSize + kMacSize) {
    r.error = DropReason::kTooShort;
    return r;
  }
  if (size > kMaxDatagram) {
    r.error = DropReason::kTooLong;
    return r;
  }
  if (std::memcmp(data, kMagic, sizeof kMagic) != 0) {
    r.error = DropReason::kBadMagic;
    return r;
  }
  size_t body = size - kMacSize;
  uint8_t mac[kMacSize];
  Mac(data, body, key, mac);
  if (CRYPTO_memcmp(mac, data + body, kMacSize) != 0) {
    r.error = DropReason::kBadMac;
    return r;
  }
  Reader rd(data + sizeof kMagic, body - sizeof kMagic);
  WireMessage& m = r.message;
  uint8_t kind = 0, state = 0, health_count = 0;
  uint16_t doc_len = 0;
  bool ok = rd.U8(&kind) && rd.U8(&m.flags) && rd.U8(&m.from) && rd.U32(&m.fingerprint) &&
            rd.U32(&m.prefixFingerprint) && rd.U64(&m.seq) && rd.U64(&m.echo) && rd.U64(&m.term) && rd.U8(&state) && rd.U8(&m.leader) &&
            rd.U64(&m.round) && rd.U64(&m.reg.term) && rd.U64(&m.reg.version) && rd.U16(&doc_len);
  ok = ok && ValidKind(kind) && state <= static_cast<uint8_t>(MemberState::kShutdown) &&
       (m.flags & ~(kFlagPreVote | kFlagGranted | kFlagHasDoc)) == 0 &&
       doc_len <= kMaxRegisterDoc && (doc_len == 0 || m.Has(kFlagHasDoc));
  ok = ok && rd.Bytes(doc_len, &m.reg.doc) && rd.U8(&health_count);
  for (int i = 0; ok && i < health_count; ++i) {
    HealthVote h;
    uint8_t status = 0;
    ok = rd.U8(&h.backend) && rd.U8(&status) && status <= static_cast<uint8_t>(HealthStatus::kDown);
    h.status = static_cast<HealthStatus>(status);
    if (ok) m.health.push_back(h);
  }
  if (!ok || !rd.AtEnd()) {
    r.error = DropReason::kMalformed;
    r.message = WireMessage();
    return r;
  }
  m.kind = static_cast<MessageKind>(kind);
  m.state = static_cast<MemberState>(state);
  if (m.from >= member_count || (m.leader != kNoMember && m.leader >= member_count)) {
    r.error = DropReason::kUnknownMember;
  } else if (CompareMembership(mine, m.fingerprint, m.prefixFingerprint) == MembershipRelation::kOther) {
    r.error = DropReason::kMembershipMismatch;
  }
  return r;
}

}  // namespace watchdog
}  // namespace pgvigil
