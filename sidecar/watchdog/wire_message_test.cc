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
const uint32_t kPrefix = MembershipFingerprint({"server1", "server2"});

WireMessage Sample() {
  WireMessage m;
  m.kind = MessageKind::kHeartbeat;
  m.flags = kFlagHasDoc;
  m.from = 2;
  m.fingerprint = kPrint;
  m.prefixFingerprint = kPrefix;
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
  // 68 fixed bytes + 21 doc + 3 x 2 health + 32 MAC.
  ASSERT_EQ(bytes.size(), 68u + 21 + 6 + 32);
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
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "PVW3");
  EXPECT_EQ(b[4], 1);  // kind
  EXPECT_EQ(b[5], kFlagHasDoc);
  EXPECT_EQ(b[6], 2);  // from
  // fingerprint at 7..10, prefixFingerprint at 11..14
  EXPECT_EQ(b[10], kPrint & 0xFF);
  EXPECT_EQ(b[14], kPrefix & 0xFF);
  // seq at 15..22: incarnation 7, counter 42
  EXPECT_EQ(b[18], 7);
  EXPECT_EQ(b[22], 42);
  // echo at 23..30: incarnation 5, counter 3
  EXPECT_EQ(b[26], 5);
  EXPECT_EQ(b[30], 3);
  EXPECT_EQ(b[38], 9);  // term low byte
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
  bad_state[39] = 7;  // state byte
  EXPECT_EQ(Decode(Sign(bad_state)).error, DropReason::kMalformed);
  auto long_doc = body;
  long_doc[65] = 0x7F;  // doc length high byte
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

// One membership change at a time reaches the members one after another: a
// member takes datagrams from a list one shorter or one longer than its own
// (the same first members, in order), and nothing else.
TEST(WireMessage, AdjacentMembershipsAreTaken) {
  const std::vector<std::string> three = {"demo-0", "demo-1", "demo-2"};
  const std::vector<std::string> four = {"demo-0", "demo-1", "demo-2", "demo-3"};
  const std::vector<std::string> five = {"demo-0", "demo-1", "demo-2", "demo-3", "demo-4"};
  const std::vector<std::string> other3 = {"demo-0", "demo-1", "x"};
  const std::vector<std::string> other4 = {"demo-0", "demo-1", "x", "demo-3"};
  struct Case {
    std::vector<std::string> mine, sender;
    MembershipRelation want;
  };
  const std::vector<Case> cases = {
      {three, three, MembershipRelation::kSame},
      {four, three, MembershipRelation::kSenderShorter},  // scale up: the sender not pushed yet
      {three, four, MembershipRelation::kSenderLonger},   // scale up: we are not pushed yet
      {four, five, MembershipRelation::kSenderLonger},
      {five, four, MembershipRelation::kSenderShorter},   // scale down: the sender shrank first
      {three, five, MembershipRelation::kOther},          // two changes apart
      {five, three, MembershipRelation::kOther},
      {three, other3, MembershipRelation::kOther},        // the same size, another member
      {four, other3, MembershipRelation::kOther},
      {three, other4, MembershipRelation::kOther},        // one longer, another middle member
      {{"demo-0"}, {"demo-0", "demo-1"}, MembershipRelation::kSenderLonger},
      {{"demo-0", "demo-1"}, {"demo-0"}, MembershipRelation::kSenderShorter},
  };
  for (const auto& c : cases) {
    const MembershipPrints mine = PrintsOf(c.mine), sender = PrintsOf(c.sender);
    EXPECT_EQ(CompareMembership(mine, sender.full, sender.prefix), c.want)
        << c.mine.size() << " <- " << c.sender.size() << ": " << ToString(CompareMembership(mine, sender.full, sender.prefix));
    // Through the decoder: the same verdict, and a sender index we do not know is refused.
    WireMessage m = Sample();
    m.from = static_cast<uint8_t>(std::min<size_t>(1, c.mine.size() - 1));
    m.leader = m.from;
    m.fingerprint = sender.full;
    m.prefixFingerprint = sender.prefix;
    const auto bytes = EncodeMessage(m, kKey);
    DecodeResult r = DecodeMessage(bytes.data(), bytes.size(), kKey, mine);
    EXPECT_EQ(r.ok(), c.want != MembershipRelation::kOther) << c.mine.size() << " <- " << c.sender.size();
    if (c.want == MembershipRelation::kOther) {
      EXPECT_EQ(r.error, DropReason::kMembershipMismatch);
    }
    m.from = static_cast<uint8_t>(c.mine.size());  // the member we have not heard of
    auto b = EncodeMessage(m, kKey);
    EXPECT_EQ(DecodeMessage(b.data(), b.size(), kKey, mine).error, DropReason::kUnknownMember);
  }
  // The exact-list decoder takes no neighbour.
  WireMessage m = Sample();
  const MembershipPrints four_p = PrintsOf(four);
  m.fingerprint = four_p.full;
  m.prefixFingerprint = four_p.prefix;
  EXPECT_EQ(Decode(EncodeMessage(m, kKey)).error, DropReason::kMembershipMismatch);
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
