// pgpool.conf syntax as Pgpool-II reads it, and its value grammar.
#include "controller/vigilctl/pgpool/pgpool_conf.h"

#include <gtest/gtest.h>

#include <map>

#include "controller/vigilctl/pgpool/pgpool_values.h"

namespace pgvigil::pgpool {
namespace {

struct SyntaxCase {
  const char* name;
  const char* text;
  const char* key;    // expected last setting's key ("" when an error is expected)
  const char* value;  // its value
  bool warning;       // a warning is expected
};

class SyntaxTest : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(SyntaxTest, ReadsLikePgpool) {
  const SyntaxCase& c = GetParam();
  PgpoolConf conf = ParsePgpoolConf(c.text, "/etc/pgpool-II/pgpool.conf");
  bool warned = false;
  for (const auto& m : conf.messages) warned |= !m.error;
  if (std::string(c.key).empty()) {
    ASSERT_FALSE(conf.ok()) << c.text;
    EXPECT_EQ(conf.messages[0].file, "/etc/pgpool-II/pgpool.conf");
    EXPECT_GE(conf.messages[0].line, 1);
    return;
  }
  ASSERT_TRUE(conf.ok()) << c.text << ": " << conf.messages[0].text;
  ASSERT_FALSE(conf.settings.empty());
  EXPECT_EQ(conf.settings.back().key, c.key);
  EXPECT_EQ(conf.settings.back().value, c.value);
  EXPECT_EQ(warned, c.warning);
}

INSTANTIATE_TEST_SUITE_P(
    Pgpool, SyntaxTest,
    ::testing::Values(
        SyntaxCase{"equals", "port = 9999\n", "port", "9999", false},
        SyntaxCase{"no_equals", "port 9999", "port", "9999", false},
        SyntaxCase{"no_spaces", "port=9999", "port", "9999", false},
        SyntaxCase{"quoted", "listen_addresses = '*'", "listen_addresses", "*", false},
        SyntaxCase{"empty_string", "health_check_password = ''", "health_check_password", "",
                   false},
        SyntaxCase{"hash_inside_quotes", "a = 'x # not a comment' # a comment", "a",
                   "x # not a comment", false},
        SyntaxCase{"comment_after_number", "port = 9999# comment", "port", "9999", false},
        SyntaxCase{"doubled_quote", "a = 'it''s'", "a", "it's", true},
        SyntaxCase{"backslashes_kept", "a = 'c:\\\\dir\\'s'", "a", "c:\\\\dir\\'s", false},
        SyntaxCase{"unit_time", "health_check_period = 5min", "health_check_period", "5min", false},
        SyntaxCase{"unit_memory", "delay_threshold = 10MB", "delay_threshold", "10MB", false},
        SyntaxCase{"word_value", "load_balance_mode = on", "load_balance_mode", "on", false},
        SyntaxCase{"unquoted_path_like_word", "a = LOCAL1", "a", "LOCAL1", false},
        SyntaxCase{"unquoted_word_with_dots", "a = server1.example.com", "a", "server1.example.com",
                   false},
        SyntaxCase{"negative", "a = -5", "a", "-5", false},
        SyntaxCase{"hex", "a = 0x1F", "a", "0x1F", false},
        SyntaxCase{"octal", "log_file_mode = 0600", "log_file_mode", "0600", false},
        SyntaxCase{"real", "backend_weight0 = 0.5", "backend_weight0", "0.5", false},
        SyntaxCase{"real_leading_dot", "backend_weight0 = .5", "backend_weight0", ".5", false},
        SyntaxCase{"crlf", "port = 9999\r\n", "port", "9999", false},
        SyntaxCase{"tabs", "\tport\t=\t9999", "port", "9999", false},
        SyntaxCase{"utf8", "a = 'パスワード'", "a", "パスワード", false},
        SyntaxCase{"two_on_a_line", "a = 1 b = 2", "b", "2", false},
        SyntaxCase{"only_comments", "# nothing\n\n   # here\nport = 1", "port", "1", false},
        SyntaxCase{"duplicate", "a = 1\na = 2", "a", "2", true},
        SyntaxCase{"unquoted_path", "a = /usr/bin", "", "", false},
        SyntaxCase{"unquoted_ip", "backend_hostname0 = 10.77.0.11", "", "", false},
        SyntaxCase{"unquoted_star", "listen_addresses = *", "", "", false},
        SyntaxCase{"no_value", "port = ", "", "", false},
        SyntaxCase{"no_key", "= 5", "", "", false},
        SyntaxCase{"number_key", "5 = 5", "", "", false},
        SyntaxCase{"fraction_with_unit", "a = 1.5s", "", "", false},
        SyntaxCase{"unterminated", "a = 'open", "", "", false}),
    [](const ::testing::TestParamInfo<SyntaxCase>& i) { return std::string(i.param.name); });

TEST(PgpoolConfTest, LinesAndDuplicatesLastWins) {
  PgpoolConf conf = ParsePgpoolConf("# c\nport = 1\n\nport = 2\nother = 'x'\n", "p.conf");
  ASSERT_TRUE(conf.ok());
  ASSERT_EQ(conf.settings.size(), 3u);
  EXPECT_EQ(conf.settings[0].line, 2);
  EXPECT_EQ(conf.settings[1].line, 4);
  EXPECT_EQ(conf.settings[2].line, 5);
  EXPECT_TRUE(conf.settings[2].quoted);
  EXPECT_EQ(conf.Effective().at("port")->value, "2");
  ASSERT_EQ(conf.messages.size(), 1u);
  EXPECT_EQ(conf.messages[0].line, 4);
  EXPECT_NE(conf.messages[0].text.find("p.conf:2"), std::string::npos) << conf.messages[0].text;
}

TEST(PgpoolConfTest, EveryBadLineIsReportedWithItsNumber) {
  PgpoolConf conf = ParsePgpoolConf("a = 1\nb = /x\nc = 2\nd = *\n", "p.conf");
  ASSERT_EQ(conf.messages.size(), 2u);
  EXPECT_EQ(conf.messages[0].line, 2);
  EXPECT_EQ(conf.messages[1].line, 4);
  EXPECT_EQ(conf.settings.size(), 2u);  // a and c
}

TEST(PgpoolConfTest, IncludeIsRelativeToTheIncludingFile) {
  std::map<std::string, std::string> files = {
      {"/etc/pgpool-II/extra.conf", "port = 7\ninclude 'sub/more.conf'"},
      {"/etc/pgpool-II/sub/more.conf", "pcp_port = 8"}};
  FileLoader load = [&](const std::string& p) -> Result<std::string> {
    auto it = files.find(p);
    if (it == files.end()) return Result<std::string>::Error("no such file");
    return it->second;
  };
  PgpoolConf conf =
      ParsePgpoolConf("a = 1\ninclude = 'extra.conf'\nb = 2", "/etc/pgpool-II/pgpool.conf", load);
  ASSERT_TRUE(conf.ok()) << conf.messages[0].text;
  ASSERT_EQ(conf.settings.size(), 4u);
  EXPECT_EQ(conf.settings[1].key, "port");
  EXPECT_EQ(conf.settings[1].file, "/etc/pgpool-II/extra.conf");
  EXPECT_EQ(conf.settings[2].file, "/etc/pgpool-II/sub/more.conf");
  EXPECT_EQ(conf.settings[3].line, 3);
  PgpoolConf missing = ParsePgpoolConf("include = 'nope.conf'", "/etc/pgpool-II/pgpool.conf", load);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.messages[0].text.find("/etc/pgpool-II/nope.conf"), std::string::npos);
}

TEST(PgpoolConfTest, IncludeLoopStopsAtTenLevels) {
  FileLoader load = [](const std::string&) -> Result<std::string> {
    return std::string("include = 'self.conf'");
  };
  PgpoolConf conf = ParsePgpoolConf("include = 'self.conf'", "/x/self.conf", load);
  ASSERT_FALSE(conf.ok());
  EXPECT_NE(conf.messages.back().text.find("nested"), std::string::npos);
}

TEST(PgpoolValuesTest, IntegersWithUnits) {
  struct Case {
    const char* text;
    Unit unit;
    std::optional<int64_t> want;
  } cases[] = {
      {"30", Unit::kSeconds, 30},
      {"5min", Unit::kSeconds, 300},
      {"1d", Unit::kMinutes, 1440},
      {"1h", Unit::kSeconds, 3600},
      {"250ms", Unit::kMillis, 250},
      {"2s", Unit::kMillis, 2000},
      {"10MB", Unit::kBytes, 10485760},
      {"400kB", Unit::kBytes, 409600},
      {"10MB", Unit::kKilobytes, 10240},
      {"0600", Unit::kNone, 384},
      {"0x1F", Unit::kNone, 31},
      {"-1", Unit::kNone, -1},
      {"1.5", Unit::kNone, 2},
      {"0.5min", Unit::kSeconds, 30},
      {" 7 s ", Unit::kSeconds, 7},
      {"5MB", Unit::kSeconds, std::nullopt},
      {"5s", Unit::kNone, std::nullopt},
      {"5 sec", Unit::kSeconds, std::nullopt},
      {"abc", Unit::kNone, std::nullopt},
      {"", Unit::kNone, std::nullopt},
      {"10mb", Unit::kBytes, std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ParseInt(c.text, c.unit), c.want) << c.text;
}

TEST(PgpoolValuesTest, Booleans) {
  for (const char* t : {"on", "ON", "true", "t", "yes", "y", "1", "True"})
    EXPECT_EQ(ParseBool(t), true) << t;
  for (const char* t : {"off", "of", "false", "f", "no", "n", "0", "OFF"})
    EXPECT_EQ(ParseBool(t), false) << t;
  for (const char* t : {"o", "", "2", "enabled", "onn"}) EXPECT_EQ(ParseBool(t), std::nullopt) << t;
}

TEST(PgpoolValuesTest, ListsAndPaths) {
  EXPECT_EQ(SplitList(" a, b ,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(SplitList("ALLOW_TO_FAILOVER|ALWAYS_PRIMARY", '|'),
            (std::vector<std::string>{"ALLOW_TO_FAILOVER", "ALWAYS_PRIMARY"}));
  EXPECT_EQ(ResolvePath("/etc/pgpool-II", "pool_passwd"), "/etc/pgpool-II/pool_passwd");
  EXPECT_EQ(ResolvePath("/etc/pgpool-II", "/abs/file"), "/abs/file");
  EXPECT_EQ(DirName("/etc/pgpool-II/pgpool.conf"), "/etc/pgpool-II");
  EXPECT_EQ(DirName("pgpool.conf"), "");
}

}  // namespace
}  // namespace pgvigil::pgpool
