// Pure pieces of the REST seam: request-target parsing, the bearer-token check,
// and the escaping of client-supplied strings for the log.
#include "common/http_api.h"

#include <gtest/gtest.h>

#include "common/logging.h"

namespace pgvigil {
namespace {

TEST(HttpApi, ParseRequestTarget) {
  struct Case {
    std::string target;
    bool ok;
    std::string path;
    std::map<std::string, std::string> query;
  } cases[] = {
      {"/v1/status", true, "/v1/status", {}},
      {"/replica?lag=16MB", true, "/replica", {{"lag", "16MB"}}},
      {"/a%20b?x=1%262&y&=z&&", true, "/a b", {{"x", "1&2"}, {"y", ""}, {"", "z"}}},
      {"/p+q?k=a+b", true, "/p+q", {{"k", "a+b"}}},
      {"/x%0Ay", true, "/x\ny", {}},
      {"/frag#part?no", true, "/frag", {}},
      {"/q?a=1#frag", true, "/q", {{"a", "1"}}},
      {"", false, "", {}},
      {"v1/status", false, "", {}},
      {"http://host/v1/status", false, "", {}},
      {"*", false, "", {}},
      {"/bad%2", false, "", {}},
      {"/bad%zz", false, "", {}},
      {"/ok?bad=%g1", false, "", {}},
  };
  for (const auto& c : cases) {
    std::string path;
    std::map<std::string, std::string> query;
    Status s = ParseRequestTarget(c.target, &path, &query);
    EXPECT_EQ(s.ok(), c.ok) << c.target << ": " << s.message();
    if (!c.ok || !s.ok()) continue;
    EXPECT_EQ(path, c.path) << c.target;
    EXPECT_EQ(query, c.query) << c.target;
  }
}

TEST(HttpApi, BearerToken) {
  EXPECT_TRUE(BearerTokenMatches("Bearer s3cret", "s3cret"));
  EXPECT_TRUE(BearerTokenMatches("bearer s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer s3cretX", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer S3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Basic s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("", "s3cret"));
  // Nothing matches when no token is configured, not even an empty bearer.
  EXPECT_FALSE(BearerTokenMatches("Bearer ", ""));
  EXPECT_FALSE(BearerTokenMatches("", ""));
  // A longer given token with the expected one as prefix plus NULs does not match.
  EXPECT_FALSE(BearerTokenMatches(std::string("Bearer s3cret\0", 14), "s3cret"));
}

TEST(HttpApi, ErrorBodies) {
  ApiResponse r = ErrorResponse(404, "no such path: /a\"b", "path");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(r.body, R"({"error":"no such path: /a\"b","field":"path"})");
}

TEST(LogEscape, ControlCharactersCannotForgeLines) {
  EXPECT_EQ(LogEscape("/v1/status"), "/v1/status");
  EXPECT_EQ(LogEscape("/x\n2026-01-01 INFO forged"), "/x\\n2026-01-01 INFO forged");
  EXPECT_EQ(LogEscape("a\r\tb\\c"), "a\\r\\tb\\\\c");
  EXPECT_EQ(LogEscape(std::string("nul\0esc\x1b del\x7f", 13)), "nul\\x00esc\\x1b del\\x7f");
  EXPECT_EQ(LogEscape("h\xc3\xa9"), "h\xc3\xa9");  // UTF-8 kept
  EXPECT_EQ(LogEscape(std::string(300, 'a'), 4), "aaaa...(300 bytes)");
}

}  // namespace
}  // namespace pgvigil
