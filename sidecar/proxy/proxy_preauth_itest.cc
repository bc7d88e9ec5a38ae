// Integration: what the proxy does before a client has authenticated, against
// real PostgreSQL 15 over loopback with raw sockets: framing errors answered
// (or not) exactly as PostgreSQL answers them, message limits enforced from
// the length word (bounded memory), the authentication timeout, the
// scram-sha-256 default without a hba file, and md5 answers checked.
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy::testenv {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string StartupBytes(const std::string& user) {
  std::string s;
  AppendStartup(&s, {{"user", user}, {"database", "postgres"}});
  return s;
}

struct Reply {
  std::string bytes;
  bool closed = false;
};

// Sends `bytes` (then, with half_close, shuts down writing) and reads what comes back.
Reply Exchange(int port, const std::string& bytes, bool half_close) {
  RawClient c(port);
  EXPECT_TRUE(c.ok());
  if (!bytes.empty()) c.Send(bytes);
  if (half_close) c.ShutdownWrite();
  Reply r;
  r.bytes = c.ReadUntilClosed(milliseconds(3000), &r.closed);
  return r;
}

// 15.3: each first packet goes to PostgreSQL itself and to the proxy; both must
// answer the same way: nothing at all (closed silently) or the same FATAL.
TEST(ProxyPreauthTest, FirstPacketErrorsAnsweredAsPostgresDoes) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  std::string startup = StartupBytes("postgres");
  std::string no_terminator = U32Bytes(8 + 11) + U32Bytes(kProtocolV3) + std::string("user\0abc", 8) + "xyz";
  struct Case {
    const char* name;
    std::string bytes;
    bool halfClose;
    bool expectSilent;
  } cases[] = {
      {"connect and close at once", "", true, true},
      {"Terminate before the startup packet", std::string("X\0\0\0\4", 5), true, true},
      {"HTTP request (length 65536)", std::string("\x00\x01\x00\x00GET / HTTP/1.1\r\n", 20), false, true},
      {"length 256 MiB", U32Bytes(256u << 20) + U32Bytes(kProtocolV3), false, true},
      {"length 3", U32Bytes(3) + std::string(4, 'a'), false, true},
      {"startup packet cut short", startup.substr(0, startup.size() - 5), true, true},
      {"unsupported protocol 4.0", U32Bytes(8) + U32Bytes(4u << 16), false, false},
      {"startup packet without its terminator", no_terminator, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Reply pg = Exchange(NodePort(0), c.bytes, c.halfClose);
    Reply proxy = Exchange(px->port, c.bytes, c.halfClose);
    EXPECT_TRUE(pg.closed) << "PostgreSQL kept the connection open";
    EXPECT_TRUE(proxy.closed) << "the proxy kept the connection open";
    if (c.expectSilent) {
      EXPECT_EQ(pg.bytes.size(), 0u) << "PostgreSQL answered";  // the premise
      EXPECT_EQ(proxy.bytes.size(), 0u) << "the proxy answered: " << proxy.bytes;
    } else {
      EXPECT_EQ(pg.bytes.substr(0, 1), "E");
      EXPECT_EQ(proxy.bytes.substr(0, 1), "E");
      EXPECT_EQ(FirstSqlState(proxy.bytes), FirstSqlState(pg.bytes)) << proxy.bytes << " vs " << pg.bytes;
    }
  }
  // The proxy is still serving.
  auto ok = Connect(px->port);
  ASSERT_TRUE(ok->ok()) << ok->error();
  EXPECT_EQ(ok->Query("SELECT 1"), "1");
}

// 14.2: a 256 MiB length word is refused before anything is buffered: in the
// startup packet (closed silently), and in a SASL message from an unknown user
// (the usual authentication failure), with this process's memory unchanged
// while 64 MiB more are pushed at the proxy.
TEST(ProxyPreauthTest, HugeLengthsRefusedBeforeBuffering) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  const std::string chunk(1 << 20, 'z');
  long before = ResidentKiB();
  {
    RawClient c(px->port);
    ASSERT_TRUE(c.ok());
    auto start = std::chrono::steady_clock::now();
    c.Send(U32Bytes(256u << 20) + U32Bytes(kProtocolV3));
    bool eof = false;
    std::string got = c.ReadUntilClosed(milliseconds(2000), &eof);
    EXPECT_TRUE(eof);
    EXPECT_EQ(got, "");
    EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));
  }
  {
    RawClient c(px->port);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.Send(StartupBytes("no_such_user")));
    std::string r = c.ReadAtLeast(9, milliseconds(3000));
    ASSERT_GE(r.size(), 9u);
    ASSERT_EQ(r[0], 'R');  // AuthenticationSASL
    ASSERT_EQ(ReadU32(reinterpret_cast<const uint8_t*>(r.data()) + 5), 10u);
    // SASLInitialResponse header claiming 256 MiB, then part of the body.
    ASSERT_TRUE(c.Send(std::string("p") + U32Bytes((256u << 20) + 4)));
    size_t sent = 0;
    for (int i = 0; i < 64 && c.Send(chunk); ++i) sent += chunk.size();
    bool eof = false;
    std::string got = c.ReadUntilClosed(milliseconds(3000), &eof);
    EXPECT_TRUE(eof) << "still open after " << sent << " body bytes";
    EXPECT_EQ(FirstSqlState(got), "28P01") << got;
    EXPECT_NE(got.find("password authentication failed for user \"no_such_user\""), std::string::npos);
  }
  long after = ResidentKiB();
  EXPECT_LT(after - before, 16 * 1024) << "resident memory grew from " << before << " to " << after << " KiB";
  // A password message (md5 for alice) longer than 64 KiB closes the connection too.
  {
    RawClient c(px->port);
    ASSERT_TRUE(c.Send(StartupBytes("alice")));
    std::string r = c.ReadAtLeast(13, milliseconds(3000));
    ASSERT_GE(r.size(), 13u);
    ASSERT_EQ(ReadU32(reinterpret_cast<const uint8_t*>(r.data()) + 5), 5u);  // md5 request
    c.Send(std::string("p") + U32Bytes(65536 + 4 + 1));
    bool eof = false;
    c.ReadUntilClosed(milliseconds(3000), &eof);
    EXPECT_TRUE(eof);
  }
  auto ok = Connect(px->port, "alice", "alicepw");
  EXPECT_TRUE(ok->ok()) << ok->error();
}

// 14.1: a connection that does not finish startup + authentication within
// proxy.authenticationTimeout is closed without a word, silent or mid-SCRAM.
TEST(ProxyPreauthTest, AuthenticationTimeoutClosesSilently) {
  ProxyOptions o;
  o.adjust = [](ClusterSpec& s) { s.proxy.authenticationTimeout = milliseconds(1000); };
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  RawClient silent(px->port), partial(px->port), mid_auth(px->port);
  ASSERT_TRUE(silent.ok() && partial.ok() && mid_auth.ok());
  auto start = std::chrono::steady_clock::now();
  std::string startup = StartupBytes("postgres");
  partial.Send(startup.substr(0, 10));
  mid_auth.Send(startup);
  std::string r = mid_auth.ReadAtLeast(9, milliseconds(3000));
  ASSERT_EQ(r.substr(0, 1), "R");
  for (RawClient* c : {&silent, &partial, &mid_auth}) {
    bool eof = false;
    std::string got = c->ReadUntilClosed(milliseconds(5000), &eof);
    EXPECT_TRUE(eof);
    EXPECT_EQ(got, "");
  }
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, seconds(5));
  EXPECT_EQ(px->ctx.metrics->Value("pgvigil_proxy_unauthenticated_closed_total", "reason=\"timeout\""), 3);
  // A session that did log in is not touched by the timeout.
  auto c = Connect(px->port);
  ASSERT_TRUE(c->ok()) << c->error();
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(c->Query("SELECT 2"), "2");
}

// 14.8: without a hba file every client must pass scram-sha-256; trust only
// where a hba file writes it.
TEST(ProxyPreauthTest, NoHbaFileMeansScramForEveryClient) {
  ProxyOptions o;
  o.adjust = [](ClusterSpec& s) { s.proxy.auth.hbaFile.clear(); };
  auto px = StartProxy(o);
  ASSERT_TRUE(px);
  RawClient c(px->port);
  ASSERT_TRUE(c.Send(StartupBytes("postgres")));
  std::string r = c.ReadAtLeast(9, milliseconds(3000));
  ASSERT_GE(r.size(), 9u);
  EXPECT_EQ(r[0], 'R');
  EXPECT_EQ(ReadU32(reinterpret_cast<const uint8_t*>(r.data()) + 5), 10u) << "not a SASL request";
  auto wrong = Connect(px->port, "postgres", "wrong-password");
  EXPECT_FALSE(wrong->ok());
  EXPECT_NE(wrong->error().find("password authentication failed"), std::string::npos) << wrong->error();
  auto right = Connect(px->port);
  ASSERT_TRUE(right->ok()) << right->error();
  EXPECT_EQ(right->Query("SELECT 1"), "1");
  auto nopw = Psql(px->port, {"-w", "-c", "select 1"}, "postgres", "not-it");
  EXPECT_NE(nopw.exitCode, 0) << nopw.output;

  ProxyOptions t;
  t.hba = "host all all 127.0.0.1/32 trust\n";
  auto trusting = StartProxy(t);
  ASSERT_TRUE(trusting);
  auto in = Connect(trusting->port, "postgres", "anything");
  ASSERT_TRUE(in->ok()) << in->error();
  EXPECT_EQ(in->Query("SELECT 1"), "1");
}

// 14.9: md5 answers are compared whole (constant time): right one in, a wrong
// one of the same length or a truncated one out, with the usual message.
TEST(ProxyPreauthTest, Md5AnswersComparedWhole) {
  auto px = StartProxy();
  ASSERT_TRUE(px);
  auto answer = [&](const std::function<std::string(const std::string&)>& make) {
    RawClient c(px->port);
    c.Send(StartupBytes("alice"));
    std::string r = c.ReadAtLeast(13, milliseconds(3000));
    EXPECT_EQ(r.size(), 13u);
    std::string salt = r.substr(9, 4);
    std::string p;
    AppendPasswordMessage(&p, make(Md5Response(Md5PasswordHash("alicepw", "alice"), salt)));
    c.Send(p);
    bool eof = false;
    return c.ReadUntilClosed(milliseconds(1500), &eof);
  };
  std::string good = answer([](const std::string& a) { return a; });
  EXPECT_EQ(good.substr(0, 1), "R");
  EXPECT_EQ(FirstSqlState(good), "");
  std::string flipped = answer([](std::string a) {
    a.back() = a.back() == '0' ? '1' : '0';
    return a;
  });
  EXPECT_EQ(FirstSqlState(flipped), "28P01");
  std::string cut = answer([](const std::string& a) { return a.substr(0, a.size() - 1); });
  EXPECT_EQ(FirstSqlState(cut), "28P01");
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
