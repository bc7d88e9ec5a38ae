// ReadConfigCheckOutput over what PostgreSQL 15's `postgres -C` printed for
// scratch configuration files (with and without a log_line_prefix).
#include "sidecar/agent/config_check_output.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(ConfigCheckOutputTest, AnInvalidValueIsRefusedWithPostgresWordsAndHint) {
  const std::string out =
      "LOG:  invalid value for parameter \"shared_buffers\": \"12XB\"\n"
      "HINT:  Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".\n"
      "FATAL:  configuration file \"/tmp/pgvigil-parameters-Ab12Cd/postgresql.conf\" contains errors\n";
  ConfigCheckVerdict v = ReadConfigCheckOutput(out);
  EXPECT_TRUE(v.refused);
  EXPECT_EQ(v.reason,
            "invalid value for parameter \"shared_buffers\": \"12XB\"; HINT: Valid units for this parameter are "
            "\"B\", \"kB\", \"MB\", \"GB\", and \"TB\".");
}

TEST(ConfigCheckOutputTest, TheDefaultLinePrefixAndTheMissingAutoConfNoteAreLeftOut) {
  const std::string out =
      "2026-12-06 14:31:10.344 GMT [22499] LOG:  skipping missing configuration file "
      "\"/tmp/x/postgresql.auto.conf\"\n"
      "2026-12-06 14:31:10.344 GMT [22499] LOG:  unrecognized configuration parameter \"nosuch\" in file "
      "\"/tmp/x/postgresql.conf\" line 3\n"
      "2026-12-06 14:31:10.344 GMT [22499] FATAL:  configuration file \"/tmp/x/postgresql.conf\" contains errors\n";
  ConfigCheckVerdict v = ReadConfigCheckOutput(out);
  EXPECT_TRUE(v.refused);
  EXPECT_EQ(v.reason, "unrecognized configuration parameter \"nosuch\" in file \"/tmp/x/postgresql.conf\" line 3");
}

TEST(ConfigCheckOutputTest, AnotherFailureIsNotARefusalOfTheFile) {
  // Run as root, or a binary that is not there: nothing said about the file.
  ConfigCheckVerdict root = ReadConfigCheckOutput(
      "\"root\" execution of the PostgreSQL server is not permitted.\n"
      "The server must be started under an unprivileged user ID to prevent\n");
  EXPECT_FALSE(root.refused);
  ConfigCheckVerdict fatal = ReadConfigCheckOutput("FATAL:  could not access the server configuration file\n");
  EXPECT_FALSE(fatal.refused);
  EXPECT_EQ(fatal.reason, "could not access the server configuration file");
  EXPECT_FALSE(ReadConfigCheckOutput("").refused);
  EXPECT_FALSE(ReadConfigCheckOutput("15.8 (Debian 15.8-0+deb12u1)\n").refused);
}

}  // namespace
}  // namespace pgvigil
