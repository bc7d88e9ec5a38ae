// SCRAM, md5, base64, pool_passwd (AES compatible with `pg_enc`/`openssl enc
// -aes-256-cbc -md sha1 -nosalt`) and hba rule tests.
#include <gtest/gtest.h>

#include "sidecar/proxy/hba.h"
#include "sidecar/proxy/pool_passwd.h"
#include "sidecar/proxy/scram.h"

namespace pgvigil::proxy {
namespace {

TEST(Base64Test, RoundTripAndRejects) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.has_value()) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("pencil"), "cGVuY2ls");
  EXPECT_FALSE(Base64Decode("abc").has_value());
  EXPECT_FALSE(Base64Decode("a=bc").has_value());
  EXPECT_FALSE(Base64Decode("ab!c").has_value());
}

TEST(Md5Test, KnownValues) {
  EXPECT_EQ(Md5PasswordHash("secret", "alice"), "md54a0a68b43b6cd5cf266fa02f196e2371");
  EXPECT_EQ(Md5Response("md54a0a68b43b6cd5cf266fa02f196e2371", std::string("\1\2\3\4", 4)),
            "md598a0412b9c31436fc53776e863350083");
}

TEST(ScramTest, ClientAndServerAgree) {
  ScramKeyCache cache;
  ScramKeys keys = DeriveScramKeys("pencil", "0123456789abcdef", 4096);
  ScramServer server(keys, "user");
  ScramClient client("pencil", &cache);
  auto sf = server.HandleClientFirst(client.ClientFirst());
  ASSERT_TRUE(sf.ok()) << sf.error();
  auto cf = client.HandleServerFirst(*sf);
  ASSERT_TRUE(cf.ok()) << cf.error();
  auto fin = server.HandleClientFinal(*cf);
  ASSERT_TRUE(fin.ok()) << fin.error();
  EXPECT_TRUE(client.HandleServerFinal(*fin).ok());
  EXPECT_EQ(cache.size(), 1u);
  // A second login with the same salt reuses the cached derivation.
  ScramServer server2(keys, "user");
  ScramClient client2("pencil", &cache);
  auto sf2 = server2.HandleClientFirst(client2.ClientFirst());
  ASSERT_TRUE(sf2.ok());
  auto cf2 = client2.HandleServerFirst(*sf2);
  ASSERT_TRUE(cf2.ok());
  EXPECT_TRUE(server2.HandleClientFinal(*cf2).ok());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ScramTest, WrongPasswordAndUnknownUserFailAlike) {
  ScramKeyCache cache;
  ScramKeys keys = DeriveScramKeys("right", "saltsaltsaltsalt", 4096);
  ScramServer server(keys, "u");
  ScramClient client("wrong", &cache);
  auto cf = client.HandleServerFirst(*server.HandleClientFirst(client.ClientFirst()));
  ASSERT_TRUE(cf.ok());
  auto fin = server.HandleClientFinal(*cf);
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error(), "password authentication failed");

  ScramServer mock(std::nullopt, "nobody");
  ScramClient client2("whatever", &cache);
  auto sf = mock.HandleClientFirst(client2.ClientFirst());
  ASSERT_TRUE(sf.ok());
  ScramServer mock_again(std::nullopt, "nobody");
  ScramClient client3("whatever", &cache);
  auto sf_again = mock_again.HandleClientFirst(client3.ClientFirst());
  // Same salt for the same unknown user: no probing by salt changes.
  EXPECT_EQ(sf->substr(sf->find(",s=")), sf_again->substr(sf_again->find(",s=")));
  auto fin2 = mock.HandleClientFinal(*client2.HandleServerFirst(*sf));
  ASSERT_FALSE(fin2.ok());
  EXPECT_EQ(fin2.error(), "password authentication failed");
}

TEST(ScramTest, MalformedMessages) {
  ScramServer server(DeriveScramKeys("p", "s", 16), "u");
  EXPECT_FALSE(server.HandleClientFirst("x").ok());
  EXPECT_EQ(server.HandleClientFirst("p=tls-server-end-point,,n=,r=abc").error(),
            "channel binding is not supported");
  EXPECT_FALSE(server.HandleClientFirst("n,,n=,").ok());
  ScramServer s2(DeriveScramKeys("p", "s", 16), "u");
  ASSERT_TRUE(s2.HandleClientFirst("n,,n=,r=abc").ok());
  EXPECT_FALSE(s2.HandleClientFinal("c=biws,r=abc").ok());
  EXPECT_EQ(s2.HandleClientFinal("c=biws,r=other,p=AAAA").error(), "SCRAM nonce mismatch");
}

TEST(ScramTest, VerifierRoundTrip) {
  ScramKeys k = DeriveScramKeys("pw", "saltysalt", 4096);
  std::string v = FormatScramVerifier(k);
  auto parsed = ParseScramVerifier(v);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->salt, "saltysalt");
  EXPECT_EQ(parsed->iterations, 4096);
  EXPECT_EQ(parsed->storedKey, k.storedKey);
  EXPECT_EQ(parsed->serverKey, k.serverKey);
  EXPECT_FALSE(ParseScramVerifier("SCRAM-SHA-256$x:abc$def:ghi").has_value());
  EXPECT_FALSE(ParseScramVerifier("md5abc").has_value());
}

TEST(PoolPasswdTest, AesIsCompatibleWithPgEnc) {
  // printf secret | openssl enc -aes-256-cbc -md sha1 -nosalt -pass pass:mykey -a
  auto enc = AesEncryptPassword("secret", "mykey");
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(*enc, "V7IMV7YNworqqZU1Z46Wgw==");
  auto dec = AesDecryptPassword("V7IMV7YNworqqZU1Z46Wgw==", "mykey");
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, "secret");
  EXPECT_FALSE(AesDecryptPassword("V7IMV7YNworqqZU1Z46Wgw==", "otherkey").ok());
}

TEST(PoolPasswdTest, ParsesEveryEntryKind) {
  ScramKeys k = DeriveScramKeys("s3", "salt", 4096);
  std::string text = "alice:AESV7IMV7YNworqqZU1Z46Wgw==\n"
                     "bob:md54a0a68b43b6cd5cf266fa02f196e2371\n"
                     "carol:" + FormatScramVerifier(k) + "\n"
                     "dave:TEXTplain\n"
                     "erin:bare\n"
                     "# comment\n"
                     "broken line\n"
                     "frank:AESnot-base64!\n";
  PasswordFile f = ParsePasswordFile(text, "mykey");
  ASSERT_NE(f.Find("alice"), nullptr);
  EXPECT_EQ(*f.Find("alice")->password, "secret");
  EXPECT_EQ(f.Find("alice")->md5Hash, Md5PasswordHash("secret", "alice"));
  EXPECT_TRUE(f.Find("alice")->scram.has_value());
  EXPECT_FALSE(f.Find("bob")->password.has_value());
  EXPECT_EQ(f.Find("bob")->md5Hash, "md54a0a68b43b6cd5cf266fa02f196e2371");
  EXPECT_EQ(f.Find("carol")->scram->storedKey, k.storedKey);
  EXPECT_EQ(*f.Find("dave")->password, "plain");
  EXPECT_EQ(*f.Find("erin")->password, "bare");
  EXPECT_EQ(f.Find("frank"), nullptr);
  EXPECT_EQ(f.Find("nobody"), nullptr);
  ASSERT_EQ(f.warnings.size(), 2u);
  EXPECT_EQ(f.warnings[0], "line 7: expected user:secret");
}

TEST(HbaTest, FirstMatchWins) {
  auto rules = HbaRules::Parse(
      "# comment\n"
      "local all all trust\n"
      "hostssl all tls_user 127.0.0.1/32 scram-sha-256\n"
      "host all tls_user 0.0.0.0/0 reject\n"
      "host app,other alice 127.0.0.0 255.0.0.0 md5\n"
      "host all blocked all reject\n"
      "hostnossl all all 10.0.0.0/8 trust\n"
      "host all all ::1/128 scram-sha-256\n"
      "host all all 127.0.0.1/32 scram-sha-256\n");
  ASSERT_TRUE(rules.ok()) << rules.error();
  struct Case {
    const char* addr;
    bool ssl;
    const char* db;
    const char* user;
    AuthMethod method;
    int line;
  } cases[] = {
      {"", false, "x", "y", AuthMethod::kTrust, 2},
      {"127.0.0.1", true, "x", "tls_user", AuthMethod::kScram, 3},
      {"127.0.0.1", false, "x", "tls_user", AuthMethod::kReject, 4},
      {"127.0.0.9", false, "app", "alice", AuthMethod::kMd5, 5},
      {"127.0.0.9", false, "nope", "alice", AuthMethod::kReject, 0},
      {"127.0.0.1", false, "db", "blocked", AuthMethod::kReject, 6},
      {"10.1.2.3", false, "db", "u", AuthMethod::kTrust, 7},
      {"10.1.2.3", true, "db", "u", AuthMethod::kReject, 0},
      {"::1", false, "db", "u", AuthMethod::kScram, 8},
      {"::ffff:127.0.0.1", false, "db", "u", AuthMethod::kScram, 9},
      {"192.168.1.1", false, "db", "u", AuthMethod::kReject, 0},
  };
  for (const auto& c : cases) {
    HbaDecision d = rules->Match(c.addr, c.ssl, c.db, c.user);
    EXPECT_EQ(d.method, c.method) << c.addr << " " << c.user;
    EXPECT_EQ(d.line, c.line) << c.addr << " " << c.user;
  }
}

TEST(HbaTest, ParseErrorsNameTheLine) {
  EXPECT_EQ(HbaRules::Parse("host all all 1.2.3.4/33 md5\n").error(),
            "line 1: invalid prefix in '1.2.3.4/33'");
  EXPECT_EQ(HbaRules::Parse("\nhost all all 127.0.0.1/32 password\n").error(),
            "line 2: unsupported method 'password'");
  EXPECT_EQ(HbaRules::Parse("hots all all 127.0.0.1/32 md5\n").error(),
            "line 1: unknown connection type 'hots'");
  EXPECT_EQ(HbaRules::Parse("host all all\n").error(), "line 1: too few fields");
}

}  // namespace
}  // namespace pgvigil::proxy

namespace pgvigil::proxy {
namespace {

TEST(HbaTest, DefaultWithoutAFileIsScramForEveryone) {
  HbaRules r = HbaRules::ScramEverywhere();
  for (const char* addr : {"127.0.0.1", "::1", "10.1.2.3", "2001:db8::1", ""}) {
    HbaDecision d = r.Match(addr, false, "postgres", "postgres");
    EXPECT_EQ(d.method, AuthMethod::kScram) << addr;
    EXPECT_NE(d.line, 0) << addr;
  }
}

}  // namespace
}  // namespace pgvigil::proxy
