// Logging formats as an operator reads them: text lines, one JSON object per line
// with escaping, and a clear error for an unknown format/facility/level.
#include "common/logging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

namespace pgvigil {
namespace {

// Runs `body` with fd 2 redirected to a file and returns what was written.
template <typename F>
std::string CaptureStderr(F body) {
  char path[] = "/tmp/pgvigil-logtest-XXXXXX";
  int fd = mkstemp(path);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  body();
  spdlog::default_logger()->flush();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  unlink(path);
  return ss.str();
}

TEST(Logging, JsonLinesEscapeTheMessage) {
  LogOptions o;
  o.format = LogFormat::kJson;
  o.ident = "pgvigil-test";
  std::string out = CaptureStderr([&] {
    ASSERT_TRUE(InitLogging(o).ok());
    spdlog::warn("node {} said \"no\"\nbye", "server1");
  });
  EXPECT_NE(out.find("\"level\":\"warning\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"program\":\"pgvigil-test\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"msg\":\"node server1 said \\\"no\\\"\\nbye\"}"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line per message";
}

TEST(Logging, TextHonoursLevel) {
  LogOptions o;
  o.level = "warn";
  std::string out = CaptureStderr([&] {
    ASSERT_TRUE(InitLogging(o).ok());
    spdlog::info("hidden-info");
    spdlog::error("shown-error");
  });
  EXPECT_EQ(out.find("hidden-info"), std::string::npos);
  EXPECT_NE(out.find("shown-error"), std::string::npos);
}

TEST(Logging, BadOptionsAreNamed) {
  EXPECT_FALSE(ParseLogFormat("xml").ok());
  EXPECT_NE(ParseLogFormat("xml").error().find("xml"), std::string::npos);
  LogOptions o;
  o.level = "loud";
  Status s = InitLogging(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("loud"), std::string::npos);
  o.level = "info";
  o.format = LogFormat::kSyslog;
  o.syslogFacility = "LOCAL9";
  s = InitLogging(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("LOCAL9"), std::string::npos);
  o.syslogFacility = "LOCAL1";
  EXPECT_TRUE(InitLogging(o).ok());
}

}  // namespace
}  // namespace pgvigil
