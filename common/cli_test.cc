// CommandLine as the three binaries read their arguments.
#include "common/cli.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgvigil {
namespace {

using V = std::vector<std::string>;

TEST(CommandLineTest, KeyValueFormsFlagsAndPositionals) {
  CommandLine cl(V{"validate", "-f", "cluster.yaml", "--log-level=debug", "--timeout", "30", "--help", "extra"});
  EXPECT_EQ(cl.Value("-f"), "cluster.yaml");
  EXPECT_EQ(cl.Value("--log-level"), "debug");
  EXPECT_EQ(cl.Value("--timeout"), "30");
  EXPECT_TRUE(cl.Has("--help"));
  EXPECT_FALSE(cl.Has("--version"));
  EXPECT_EQ(cl.Positional(), (V{"validate", "extra"}));
}

TEST(CommandLineTest, FallbackWhenAbsentAndEmptyValues) {
  CommandLine cl(V{"--spec=", "--name"});
  EXPECT_EQ(cl.Value("--missing", "dflt"), "dflt");
  EXPECT_EQ(cl.Value("--missing"), "");
  EXPECT_TRUE(cl.Has("--spec"));
  EXPECT_EQ(cl.Value("--spec", "dflt"), "");  // given, empty
  EXPECT_TRUE(cl.Has("--name"));               // last word: a flag without value
  EXPECT_EQ(cl.Value("--name", "dflt"), "");
}

TEST(CommandLineTest, BareFlagsNeverSwallowTheNextWord) {
  CommandLine cl(V{"switchover", "--force", "server2", "--wait", "--to", "server3"});
  EXPECT_TRUE(cl.Has("--force"));
  EXPECT_EQ(cl.Value("--force"), "");
  EXPECT_TRUE(cl.Has("--wait"));
  EXPECT_EQ(cl.Value("--to"), "server3");
  EXPECT_EQ(cl.Positional(), (V{"switchover", "server2"}));
  CommandLine v(V{"validate", "--no-file-check", "spec.yaml", "-v", "more"});
  EXPECT_TRUE(v.Has("--no-file-check"));
  EXPECT_TRUE(v.Has("-v"));
  EXPECT_EQ(v.Positional(), (V{"validate", "spec.yaml", "more"}));
}

TEST(CommandLineTest, AnOptionBeforeAnotherOptionIsAFlag) {
  CommandLine cl(V{"--verbose", "--port", "9999"});
  EXPECT_TRUE(cl.Has("--verbose"));
  EXPECT_EQ(cl.Value("--verbose"), "");
  EXPECT_EQ(cl.Value("--port"), "9999");
  EXPECT_TRUE(cl.Positional().empty());
}

TEST(CommandLineTest, NegativeNumbersAreValuesAndPositionals) {
  CommandLine cl(V{"--offset", "-5", "-3", "-"});
  EXPECT_EQ(cl.Value("--offset"), "-5");
  EXPECT_EQ(cl.Positional(), (V{"-3", "-"}));  // "-" is stdin, a word
}

TEST(CommandLineTest, UnknownListsOptionsNeverAskedFor) {
  CommandLine cl(V{"--spec", "a.yaml", "--sepc", "b.yaml", "--quiet", "--log-format=json", "pos"});
  EXPECT_EQ(cl.Value("--spec"), "a.yaml");
  cl.Has("--quiet");
  cl.Has("--not-given");
  EXPECT_EQ(cl.Unknown(), (V{"--sepc", "--log-format"}));
  cl.Value("--log-format");
  EXPECT_EQ(cl.Unknown(), (V{"--sepc"}));
}

TEST(CommandLineTest, ArgcArgvSkipsTheProgramName) {
  const char* raw[] = {"vigilctl", "status", "--controller", "http://127.0.0.1:9900"};
  CommandLine cl(4, const_cast<char**>(raw));
  EXPECT_EQ(cl.Positional(), (V{"status"}));
  EXPECT_EQ(cl.Value("--controller"), "http://127.0.0.1:9900");
  CommandLine from2(4, const_cast<char**>(raw), 2);
  EXPECT_TRUE(from2.Positional().empty());
}

TEST(CommandLineTest, BadLogFlagsAreErrors) {
  LogOptions options;
  Status s = ConfigureLoggingFromFlags(CommandLine(V{"--log-format", "xml"}), &options);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("xml"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pgvigil
