#include "sidecar/watchdog/wire_message.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>

#include <gtest/gtest.h>

namespace pgvigil {
namespace watchdog {
namespace {

const std::string kKey = "correct horse battery staple";
const uint32_t kPrint = MembershipFingerprint({"server1", "server2", "server3"});

WireMessage Sample() {
  WireMessage m;
  m.kind = MessageKind::kHeartbeat;
  m.flags = kFlagHasDoc;
  m.from = 2;
  m.fingerprint = kPrint;
  m.seq = (uint64_t{7} << 32) | 42;
  m.echo = (uint64_t{5} << 32) | 3;
  m.term = 9;
  m.state = MemberState::kLeader;
  m.leader = 2;
  m.round = 1234;
  m.reg = RegisterCopy{8, 17, R"({"primary":"server1"})"};
  m.health = {{0, HealthStatus::kUp}, {1, HealthStatus::kDown}, {2, HealthStatus::kUnknown}};
  return m;
}

// Re-signs a body (bytes without MAC) so that structural checks are reached.
std::vector<uint8_t> Sign(std::vector<uint8_t> body) {
  uint8_t mac[32];
  unsigned int len = 32;
  HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()), body.data(), body.size(), mac,
       &len);
  body.insert(body.end(), mac, mac + 32);
  return body;
}

DecodeResult Decode(const std::vector<uint8_t>& b, size_t members = 3) {
  return DecodeMessage(b.data(), b.size(), kKey, members, kPrint);
}

TEST(WireMessage, RoundTripsEveryField) {
  WireMessage m = Sample();
  auto bytes = EncodeMessage(m, kKey);
  // 64 fixed bytes + 21 doc + 3 x 2 health + 32 MAC.
  ASSERT_EQ(bytes.size(), 64u + 21 + 6 + 32);
  DecodeResult r = Decode(bytes);
  ASSERT_TRUE(r.ok()) << ToString(r.error);
  const WireMessage& d = r.message;
  EXPECT_EQ(d.kind, MessageKind::kHeartbeat);
  EXPECT_EQ(d.flags, kFlagHasDoc);
  EXPECT_EQ(d.from, 2);
  EXPECT_EQ(d.seq, m.seq);
  EXPECT_EQ(d.echo, m.echo);
  EXPECT_EQ(d.term, 9u);
  EXPECT_EQ(d.state, MemberState::kLeader);
  EXPECT_EQ(d.leader, 2);
  EXPECT_EQ(d.round, 1234u);
  EXPECT_EQ(d.reg.term, 8u);
  EXPECT_EQ(d.reg.version, 17u);
  EXPECT_EQ(d.reg.doc, m.reg.doc);
  EXPECT_EQ(d.health, m.health);
}

TEST(WireMessage, HeaderBytesAreBigEndianAtFixedOffsets) {
  auto b = EncodeMessage(Sample(), kKey);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "PVW2");
  EXPECT_EQ(b[4], 1);  // kind
  EXPECT_EQ(b[5], kFlagHasDoc);
  EXPECT_EQ(b[6], 2);  // from
  // seq at 11..18: incarnation 7, counter 42
  EXPECT_EQ(b[14], 7);
  EXPECT_EQ(b[18], 42);
  // echo at 19..26: incarnation 5, counter 3
  EXPECT_EQ(b[22], 5);
  EXPECT_EQ(b[26], 3);
  EXPECT_EQ(b[34], 9);  // term low byte
}

TEST(WireMessage, DocIsOnlyCarriedWithTheFlag) {
  WireMessage m = Sample();
  m.flags = 0;
  auto r = Decode(EncodeMessage(m, kKey));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message.reg.doc, "");
  EXPECT_EQ(r.message.reg.version, 17u);
}

TEST(WireMessage, EveryFlippedByteIsRejected) {
  auto good = EncodeMessage(Sample(), kKey);
  for (size_t i = 0; i < good.size(); ++i) {
    auto b = good;
    b[i] ^= 0x01;
    DecodeResult r = Decode(b);
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.error, i < 4 ? DropReason::kBadMagic : DropReason::kBadMac) << "byte " << i;
  }
}

TEST(WireMessage, WrongKeyIsBadMac) {
  auto b = EncodeMessage(Sample(), "another key");
  EXPECT_EQ(Decode(b).error, DropReason::kBadMac);
}

TEST(WireMessage, TruncatedAndOversizedAreRejected) {
  auto good = EncodeMessage(Sample(), kKey);
  EXPECT_EQ(Decode({good.begin(), good.begin() + 58}).error, DropReason::kTooShort);
  // Cut inside the variable part: the MAC no longer matches.
  EXPECT_EQ(Decode({good.begin(), good.end() - 1}).error, DropReason::kBadMac);
  std::vector<uint8_t> huge(kMaxDatagram + 1, 'P');
  EXPECT_EQ(Decode(huge).error, DropReason::kTooLong);
}

TEST(WireMessage, SignedButMalformedBodiesAreRejected) {
  auto good = EncodeMessage(Sample(), kKey);
  std::vector<uint8_t> body(good.begin(), good.end() - 32);
  auto trailing = body;
  trailing.push_back(0);
  EXPECT_EQ(Decode(Sign(trailing)).error, DropReason::kMalformed);
  auto bad_kind = body;
  bad_kind[4] = 9;
  EXPECT_EQ(Decode(Sign(bad_kind)).error, DropReason::kMalformed);
  auto bad_state = body;
  bad_state[35] = 7;  // state byte
  EXPECT_EQ(Decode(Sign(bad_state)).error, DropReason::kMalformed);
  auto long_doc = body;
  long_doc[61] = 0x7F;  // doc length high byte
  EXPECT_EQ(Decode(Sign(long_doc)).error, DropReason::kMalformed);
}

TEST(WireMessage, UnknownSenderAndOtherMembershipAreRejected) {
  WireMessage m = Sample();
  m.from = 3;
  EXPECT_EQ(Decode(EncodeMessage(m, kKey)).error, DropReason::kUnknownMember);
  m = Sample();
  m.fingerprint = MembershipFingerprint({"server1", "server2"});
  EXPECT_EQ(Decode(EncodeMessage(m, kKey)).error, DropReason::kMembershipMismatch);
  EXPECT_NE(MembershipFingerprint({"ab", "c"}), MembershipFingerprint({"a", "bc"}));
}

TEST(WireMessage, OversizedDocumentIsNotEncoded) {
  WireMessage m = Sample();
  m.reg.doc.assign(kMaxRegisterDoc + 1, 'x');
  EXPECT_TRUE(EncodeMessage(m, kKey).empty());
  m.reg.doc.assign(kMaxRegisterDoc, 'x');
  EXPECT_FALSE(EncodeMessage(m, kKey).empty());
}

TEST(WireMessage, RandomBytesNeverCrashOrPass) {
  std::mt19937 rng(1);
  auto good = EncodeMessage(Sample(), kKey);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> b;
    if (i % 2) {
      b = good;
      int flips = 1 + rng() % 8;
      for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
      b.resize(rng() % (b.size() + 1));
    } else {
      b.resize(rng() % 200);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      if (b.size() >= 4 && i % 4 == 0) std::copy(good.begin(), good.begin() + 4, b.begin());
    }
    if (b == good) continue;
    EXPECT_FALSE(Decode(b).ok());
  }
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil
