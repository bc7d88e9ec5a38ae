// Byte-fixture tests for the framing decoder and the body parsers/encoders.
#include "sidecar/proxy/wire_decoder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy {
namespace {

const uint8_t* U(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string Startup(const std::string& user, const std::string& db) {
  std::string out;
  AppendStartup(&out, {{"user", user}, {"database", db}});
  return out;
}

TEST(WireDecoderTest, StartupPacketWholeAndParams) {
  WireDecoder d(Direction::kFrontend);
  std::string s = Startup("alice", "app");
  Frame f;
  ASSERT_EQ(d.Next(U(s), s.size(), &f), DecodeStatus::kFrame);
  EXPECT_EQ(f.size, s.size());
  EXPECT_EQ(f.code, kProtocolV3);
  StartupParams p;
  ASSERT_TRUE(ParseStartupParams(f, &p));
  EXPECT_EQ(p.Get("user"), "alice");
  EXPECT_EQ(p.Get("database"), "app");
  EXPECT_EQ(d.state(), DecoderState::kStartup);
}

TEST(WireDecoderTest, StartupPacketPartialNeedsMoreAtEveryCut) {
  std::string s = Startup("bob", "db");
  for (size_t cut = 0; cut < s.size(); ++cut) {
    WireDecoder d(Direction::kFrontend);
    Frame f;
    EXPECT_EQ(d.Next(U(s), cut, &f), DecodeStatus::kNeedMore) << cut;
    EXPECT_EQ(d.state(), DecoderState::kStartup);
  }
}

TEST(WireDecoderTest, StartupPacketCap) {
  std::string s;
  AppendU32(&s, kMaxStartupPacket + 1);
  AppendU32(&s, kProtocolV3);
  WireDecoder d(Direction::kFrontend);
  Frame f;
  EXPECT_EQ(d.Next(U(s), s.size(), &f), DecodeStatus::kError);
  EXPECT_EQ(d.state(), DecoderState::kOutOfSync);
  EXPECT_NE(d.error().find("exceeds 10000"), std::string::npos) << d.error();
  // Stays out of sync even with good bytes afterwards.
  std::string good = Startup("a", "b");
  EXPECT_EQ(d.Next(U(good), good.size(), &f), DecodeStatus::kError);
}

TEST(WireDecoderTest, SslGssAndCancelRequests) {
  std::string ssl, gss, cancel;
  AppendU32(&ssl, 8);
  AppendU32(&ssl, kSslRequestCode);
  AppendU32(&gss, 8);
  AppendU32(&gss, kGssEncRequestCode);
  AppendCancelRequest(&cancel, {1234, 0xdeadbeef});
  WireDecoder d(Direction::kFrontend);
  Frame f;
  ASSERT_EQ(d.Next(U(ssl), ssl.size(), &f), DecodeStatus::kFrame);
  EXPECT_EQ(f.code, kSslRequestCode);
  ASSERT_EQ(d.Next(U(gss), gss.size(), &f), DecodeStatus::kFrame);
  EXPECT_EQ(f.code, kGssEncRequestCode);
  ASSERT_EQ(d.Next(U(cancel), cancel.size(), &f), DecodeStatus::kFrame);
  CancelKey k;
  ASSERT_TRUE(ParseCancelRequest(f, &k));
  EXPECT_EQ(k.pid, 1234u);
  EXPECT_EQ(k.secret, 0xdeadbeefu);
}

TEST(WireDecoderTest, MalformedStartupLengths) {
  struct Case {
    uint32_t len, code;
    const char* error;
    DecodeError kind;
  } cases[] = {
      {4, kProtocolV3, "below 8", DecodeError::kStartupLength},
      {12, kSslRequestCode, "SSL/GSS request with length 12", DecodeError::kRequestLength},
      {20, kCancelRequestCode, "cancel request with length 20", DecodeError::kRequestLength},
      {16, (2u << 16), "unsupported protocol 2.0", DecodeError::kProtocolVersion},
  };
  for (const auto& c : cases) {
    std::string s;
    AppendU32(&s, c.len);
    AppendU32(&s, c.code);
    s.resize(c.len < 8 ? 8 : c.len, '\0');
    WireDecoder d(Direction::kFrontend);
    Frame f;
    EXPECT_EQ(d.Next(U(s), s.size(), &f), DecodeStatus::kError) << c.error;
    EXPECT_NE(d.error().find(c.error), std::string::npos) << d.error();
    EXPECT_EQ(d.errorKind(), c.kind) << c.error;
  }
}

TEST(WireDecoderTest, MessageCapAppliesFromTheLengthWord) {
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  d.SetMaxMessage(65539);
  std::string ok = "p";
  AppendU32(&ok, 65539);
  ok.resize(1 + 65539, 'x');
  Frame f;
  EXPECT_EQ(d.Next(U(ok), ok.size(), &f), DecodeStatus::kFrame);
  // Only the header of a longer one is needed to refuse it.
  std::string big = "p";
  AppendU32(&big, 65540);
  EXPECT_EQ(d.Next(U(big), big.size(), &f), DecodeStatus::kError);
  EXPECT_EQ(d.errorKind(), DecodeError::kTooLong);
}

TEST(WireDecoderTest, SeveralMessagesInOneBufferAndBytesLeft) {
  std::string buf;
  AppendQuery(&buf, "select 1");
  AppendParse(&buf, "s1", "select $1");
  AppendSync(&buf);
  std::string tail;
  AppendQuery(&tail, "select 2");
  buf += tail.substr(0, 7);  // partial
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  Frame f;
  size_t off = 0;
  std::string types;
  while (d.Next(U(buf) + off, buf.size() - off, &f) == DecodeStatus::kFrame) {
    types.push_back(f.type);
    off += f.size;
  }
  EXPECT_EQ(types, "QPS");
  EXPECT_EQ(buf.size() - off, 7u);
  EXPECT_EQ(d.Next(U(buf) + off, buf.size() - off, &f), DecodeStatus::kNeedMore);
}

TEST(WireDecoderTest, EveryFrontendTypeFramesAndUnknownFails) {
  for (char t : std::string("BCDEFHPQSXdcfp")) {
    std::string m;
    AppendMessage(&m, t, "xyz");
    WireDecoder d(Direction::kFrontend);
    d.StartMessages();
    Frame f;
    ASSERT_EQ(d.Next(U(m), m.size(), &f), DecodeStatus::kFrame) << t;
    EXPECT_EQ(f.type, t);
    EXPECT_EQ(f.bodyLen, 3u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.body), f.bodyLen), "xyz");
  }
  std::string bad;
  AppendMessage(&bad, 'Z', "I");  // backend-only type from a client
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  Frame f;
  EXPECT_EQ(d.Next(U(bad), bad.size(), &f), DecodeStatus::kError);
  EXPECT_EQ(d.error(), "unknown message type 0x5a");
}

TEST(WireDecoderTest, EveryBackendTypeFrames) {
  for (char t : std::string("123ACDEGHIKNRSTWVZcdnstv")) {
    std::string m;
    AppendMessage(&m, t, "");
    WireDecoder d(Direction::kBackend);
    Frame f;
    ASSERT_EQ(d.Next(U(m), m.size(), &f), DecodeStatus::kFrame) << t;
    EXPECT_EQ(f.size, 5u);
  }
}

TEST(WireDecoderTest, MalformedMessageLengths) {
  std::string small = std::string("Q") + std::string("\0\0\0\3", 4);
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  Frame f;
  EXPECT_EQ(d.Next(U(small), small.size(), &f), DecodeStatus::kError);
  EXPECT_EQ(d.error(), "message length 3 is below 4");

  WireDecoder capped(Direction::kFrontend, 1000);
  capped.StartMessages();
  std::string big = "Q";
  AppendU32(&big, 1001);
  EXPECT_EQ(capped.Next(U(big), big.size(), &f), DecodeStatus::kError);
  EXPECT_EQ(capped.error(), "message length 1001 exceeds 1000");
}

TEST(WireDecoderTest, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20000; ++round) {
    std::string buf(rng() % 64, '\0');
    for (auto& c : buf) c = static_cast<char>(rng());
    if (round % 3 == 0 && buf.size() >= 5) buf[1] = buf[2] = 0;  // plausible lengths
    for (Direction dir : {Direction::kFrontend, Direction::kBackend}) {
      WireDecoder d(dir, 4096);
      if (round % 2) d.StartMessages();
      size_t off = 0;
      Frame f;
      while (off <= buf.size()) {
        DecodeStatus st = d.Next(U(buf) + off, buf.size() - off, &f);
        if (st != DecodeStatus::kFrame) break;
        ASSERT_LE(off + f.size, buf.size());
        ASSERT_EQ(f.body + f.bodyLen, U(buf) + off + f.size);
        // Body parsers must not read outside the frame either.
        StartupParams sp;
        std::string_view sv;
        ParseMsg pm;
        BindMsg bm;
        TargetMsg tm;
        ErrorFields ef;
        CancelKey ck;
        (void)ParseStartupParams(f, &sp);
        (void)ParseQuery(f, &sv);
        (void)ParseParse(f, &pm);
        (void)ParseBind(f, &bm);
        (void)ParseDescribeOrClose(f, &tm);
        (void)ParseErrorFields(f, &ef);
        (void)ParseCancelRequest(f, &ck);
        std::string_view a, b;
        (void)ParseSaslInitial(f, &a, &b);
        off += f.size;
        if (f.type == 0) d.StartMessages();
      }
    }
  }
}

TEST(WireMessagesTest, ParseBodiesRejectMissingTerminators) {
  std::string q = std::string("Q") + std::string("\0\0\0\x08", 4) + "abcd";  // no NUL
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  Frame f;
  ASSERT_EQ(d.Next(U(q), q.size(), &f), DecodeStatus::kFrame);
  std::string_view sql;
  EXPECT_FALSE(ParseQuery(f, &sql));

  std::string p;
  AppendParse(&p, "stmt", "select 1");
  ASSERT_EQ(d.Next(U(p), p.size(), &f), DecodeStatus::kFrame);
  ParseMsg pm;
  ASSERT_TRUE(ParseParse(f, &pm));
  EXPECT_EQ(pm.name, "stmt");
  EXPECT_EQ(pm.query, "select 1");
  std::string truncated = p.substr(0, p.size() - 1);
  truncated[4] = char(truncated.size() - 1);  // fix length to match
  ASSERT_EQ(d.Next(U(truncated), truncated.size(), &f), DecodeStatus::kFrame);
  EXPECT_FALSE(ParseParse(f, &pm));
}

TEST(WireMessagesTest, ParseMessageQueryReadsAWholeParse) {
  std::string p;
  AppendParse(&p, "stmt", "SET work_mem = '3MB'");
  EXPECT_EQ(ParseMessageQuery(p), "SET work_mem = '3MB'");
  std::string unnamed;
  AppendParse(&unnamed, "", "RESET work_mem");
  EXPECT_EQ(ParseMessageQuery(unnamed), "RESET work_mem");
  EXPECT_EQ(ParseMessageQuery(p.substr(0, p.size() - 3)), "");  // cut short
  EXPECT_EQ(ParseMessageQuery("P\0\0"), "");
  EXPECT_EQ(ParseMessageQuery(""), "");
  std::string q;
  AppendQuery(&q, "SET work_mem = '3MB'");
  EXPECT_EQ(ParseMessageQuery(q), "");  // not a Parse
}

TEST(WireMessagesTest, ErrorResponseRoundTrip) {
  std::string e;
  AppendError(&e, "FATAL", "28P01", "password authentication failed for user \"x\"");
  WireDecoder d(Direction::kBackend);
  Frame f;
  ASSERT_EQ(d.Next(U(e), e.size(), &f), DecodeStatus::kFrame);
  ErrorFields ef;
  ASSERT_TRUE(ParseErrorFields(f, &ef));
  EXPECT_EQ(ef.severity, "FATAL");
  EXPECT_EQ(ef.code, "28P01");
  EXPECT_EQ(ef.message, "password authentication failed for user \"x\"");
}

TEST(WireMessagesTest, DescribeCloseExecuteBindAndReadyForQueryBytes) {
  std::string c;
  AppendClose(&c, 'S', "s1");
  EXPECT_EQ(c, std::string("C\0\0\0\x08Ss1\0", 9));
  std::string z;
  AppendReadyForQuery(&z, 'I');
  EXPECT_EQ(z, std::string("Z\0\0\0\x05I", 6));
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  Frame f;
  ASSERT_EQ(d.Next(U(c), c.size(), &f), DecodeStatus::kFrame);
  TargetMsg tm;
  ASSERT_TRUE(ParseDescribeOrClose(f, &tm));
  EXPECT_EQ(tm.kind, 'S');
  EXPECT_EQ(tm.name, "s1");
  std::string bad_kind = std::string("D\0\0\0\x08Xs1\0", 9);
  ASSERT_EQ(d.Next(U(bad_kind), bad_kind.size(), &f), DecodeStatus::kFrame);
  EXPECT_FALSE(ParseDescribeOrClose(f, &tm));
  std::string exec = std::string("E\0\0\0\x0bp1\0\0\0\0\0", 12);
  ASSERT_EQ(d.Next(U(exec), exec.size(), &f), DecodeStatus::kFrame);
  std::string_view portal;
  ASSERT_TRUE(ParseExecute(f, &portal));
  EXPECT_EQ(portal, "p1");
  std::string bind = std::string("B\0\0\0\x10" "p1\0" "s1\0" "\0\0\0\0\0\0", 17);
  ASSERT_EQ(d.Next(U(bind), bind.size(), &f), DecodeStatus::kFrame);
  BindMsg bm;
  ASSERT_TRUE(ParseBind(f, &bm));
  EXPECT_EQ(bm.portal, "p1");
  EXPECT_EQ(bm.statement, "s1");
}

// The unnamed statement and portal (empty names, found without a search):
// what follows them is read from the right place, and a body that ends where
// a string should be is still malformed.
TEST(WireMessagesTest, EmptyNamesOfTheUnnamedStatementAndPortal) {
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  Frame f;
  std::string bind = std::string("B\0\0\0\x0e" "\0" "s1\0" "\0\0\0\0\0\0", 15);
  ASSERT_EQ(d.Next(U(bind), bind.size(), &f), DecodeStatus::kFrame);
  BindMsg bm;
  ASSERT_TRUE(ParseBind(f, &bm));
  EXPECT_EQ(bm.portal, "");
  EXPECT_EQ(bm.statement, "s1");
  std::string unnamed = std::string("B\0\0\0\x0c" "\0\0" "\0\0\0\0\0\0", 13);
  ASSERT_EQ(d.Next(U(unnamed), unnamed.size(), &f), DecodeStatus::kFrame);
  ASSERT_TRUE(ParseBind(f, &bm));
  EXPECT_EQ(bm.portal, "");
  EXPECT_EQ(bm.statement, "");
  std::string describe = std::string("D\0\0\0\x06P\0", 7);
  ASSERT_EQ(d.Next(U(describe), describe.size(), &f), DecodeStatus::kFrame);
  TargetMsg tm;
  ASSERT_TRUE(ParseDescribeOrClose(f, &tm));
  EXPECT_EQ(tm.kind, 'P');
  EXPECT_EQ(tm.name, "");
  std::string exec = std::string("E\0\0\0\x09\0\0\0\0\0", 10);
  ASSERT_EQ(d.Next(U(exec), exec.size(), &f), DecodeStatus::kFrame);
  std::string_view portal = "x";
  ASSERT_TRUE(ParseExecute(f, &portal));
  EXPECT_EQ(portal, "");
  std::string short_exec = std::string("E\0\0\0\x05\0", 6);  // no row limit after the name
  ASSERT_EQ(d.Next(U(short_exec), short_exec.size(), &f), DecodeStatus::kFrame);
  EXPECT_FALSE(ParseExecute(f, &portal));
  std::string parse;
  AppendParse(&parse, "", "SELECT 1");
  ASSERT_EQ(d.Next(U(parse), parse.size(), &f), DecodeStatus::kFrame);
  ParseMsg pm;
  ASSERT_TRUE(ParseParse(f, &pm));
  EXPECT_EQ(pm.name, "");
  EXPECT_EQ(pm.query, "SELECT 1");
  std::string no_name = std::string("C\0\0\0\x05S", 6);  // the string is missing altogether
  ASSERT_EQ(d.Next(U(no_name), no_name.size(), &f), DecodeStatus::kFrame);
  EXPECT_FALSE(ParseDescribeOrClose(f, &tm));
}

TEST(WireMessagesTest, SaslInitialResponse) {
  std::string m;
  AppendSaslInitial(&m, "SCRAM-SHA-256", "n,,n=,r=abc");
  WireDecoder d(Direction::kFrontend);
  d.StartMessages();
  Frame f;
  ASSERT_EQ(d.Next(U(m), m.size(), &f), DecodeStatus::kFrame);
  std::string_view mech, data;
  ASSERT_TRUE(ParseSaslInitial(f, &mech, &data));
  EXPECT_EQ(mech, "SCRAM-SHA-256");
  EXPECT_EQ(data, "n,,n=,r=abc");
}

}  // namespace
}  // namespace pgvigil::proxy
