// CheckSetting/CheckParameters against rows as PostgreSQL 15's pg_settings has
// them: units and their conversion, bounds, enums, bools, unknown names.
#include "sidecar/agent/parameter_check.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

// name, vartype, unit, min_val, max_val, enumvals ('|'), as kSettingRowsQuery writes them.
const char* const kRows =
    "shared_buffers\tinteger\t8kB\t16\t1073741823\t\n"
    "work_mem\tinteger\tkB\t64\t2147483647\t\n"
    "wal_buffers\tinteger\t8kB\t-1\t262143\t\n"
    "statement_timeout\tinteger\tms\t0\t2147483647\t\n"
    "checkpoint_timeout\tinteger\ts\t30\t86400\t\n"
    "log_rotation_age\tinteger\tmin\t0\t35791394\t\n"
    "vacuum_cost_delay\treal\tms\t0\t100\t\n"
    "random_page_cost\treal\t\t0\t1.79769e+308\t\n"
    "max_connections\tinteger\t\t1\t262143\t\n"
    "hot_standby\tbool\t\t\t\t\n"
    "wal_level\tenum\t\t\t\tminimal|replica|logical\n"
    "synchronous_commit\tenum\t\t\t\tlocal|remote_write|remote_apply|on|off\n"
    "log_min_messages\tenum\t\t\t\tdebug5|debug4|debug3|debug2|debug1|info|notice|warning|error|log|fatal|panic\n"
    "TimeZone\tstring\t\t\t\t\tuser\n"
    "log_timezone\tstring\t\t\t\t\tsighup\n"
    "default_tablespace\tstring\t\t\t\t\tuser\n"
    "application_name\tstring\t\t\t\t\tuser";

TEST(ParameterCheck, ValuesAsPostgreSQLReadsThem) {
  const SettingTable table = ParseSettingRows(kRows);
  ASSERT_EQ(table.size(), 17u);
  EXPECT_EQ(table.at("timezone").name, "TimeZone");
  EXPECT_EQ(table.at("wal_level").enumvals.size(), 3u);
  struct Case {
    const char* name;
    const char* value;
    const char* problem;  // "" when taken, else a part of the reason
  } cases[] = {
      // Memory units (case-sensitive), converted to the setting's unit.
      {"work_mem", "4MB", ""},
      {"work_mem", "64kB", ""},
      {"work_mem", "1GB", ""},
      {"work_mem", "4 MB", ""},
      {"work_mem", "1.5MB", ""},
      {"work_mem", "65536", ""},
      {"work_mem", "67108864B", ""},
      {"work_mem", "63kB", "outside the valid range 64..2147483647"},
      {"work_mem", "-1", "outside the valid range"},
      {"work_mem", "12XB", "invalid unit 'XB'"},
      {"work_mem", "4mb", "invalid unit 'mb'"},
      {"work_mem", "10s", "invalid unit 's'"},
      {"work_mem", "banana", "not an integer"},
      {"work_mem", "", "not an integer"},
      {"work_mem", "4MB x", "unexpected text"},
      {"work_mem", "3TB", "exceeds the integer range"},
      {"shared_buffers", "128MB", ""},
      {"shared_buffers", "16", ""},
      {"shared_buffers", "1TB", ""},
      {"shared_buffers", "100kB", "outside the valid range 16..1073741823"},  // 12 blocks
      {"shared_buffers", "12XB", "invalid unit"},
      {"wal_buffers", "-1", ""},
      // Time units.
      {"statement_timeout", "5min", ""},
      {"statement_timeout", "1d", ""},
      {"statement_timeout", "1h", ""},
      {"statement_timeout", "100us", ""},
      {"statement_timeout", "25d", "exceeds the integer range"},
      {"statement_timeout", "-5", "outside the valid range"},
      {"statement_timeout", "10MB", "invalid unit 'MB'"},
      {"checkpoint_timeout", "30s", ""},
      {"checkpoint_timeout", "1h", ""},
      {"checkpoint_timeout", "29s", "outside the valid range 30..86400"},
      {"checkpoint_timeout", "2d", "outside the valid range"},
      {"checkpoint_timeout", "500ms", "outside the valid range"},
      {"log_rotation_age", "1d", ""},
      // Reals.
      {"vacuum_cost_delay", "2ms", ""},
      {"vacuum_cost_delay", "0.5", ""},
      {"vacuum_cost_delay", "101", "outside the valid range 0..100"},
      {"vacuum_cost_delay", "1s", "outside the valid range"},
      {"random_page_cost", "1.1", ""},
      {"random_page_cost", "x", "not a number"},
      {"random_page_cost", "nan", "not a number"},
      {"random_page_cost", "4kB", "takes no unit"},
      // Integers without a unit: base 0 as strtol reads them.
      {"max_connections", "0x64", ""},
      {"max_connections", "100 ", ""},
      {"max_connections", "0", "outside the valid range 1..262143"},
      {"max_connections", "100abc", "takes no unit"},
      // Bools: the words, their prefixes as PostgreSQL takes them, any case.
      {"hot_standby", "on", ""},
      {"hot_standby", "off", ""},
      {"hot_standby", "of", ""},
      {"hot_standby", "true", ""},
      {"hot_standby", "TRUE", ""},
      {"hot_standby", "t", ""},
      {"hot_standby", "tr", ""},
      {"hot_standby", "false", ""},
      {"hot_standby", "f", ""},
      {"hot_standby", "yes", ""},
      {"hot_standby", "y", ""},
      {"hot_standby", "no", ""},
      {"hot_standby", "n", ""},
      {"hot_standby", "1", ""},
      {"hot_standby", "0", ""},
      {"hot_standby", "ON", ""},
      {"hot_standby", "o", "not a boolean"},
      {"hot_standby", "onn", "not a boolean"},
      {"hot_standby", "yess", "not a boolean"},
      {"hot_standby", "10", "not a boolean"},
      {"hot_standby", "2", "not a boolean"},
      {"hot_standby", "", "not a boolean"},
      // Enums, any case, and the values PostgreSQL takes without listing them.
      {"wal_level", "replica", ""},
      {"wal_level", "LOGICAL", ""},
      {"wal_level", "hot_standby", ""},
      {"wal_level", "archive", ""},
      {"wal_level", "full", "not one of minimal, replica, logical"},
      {"synchronous_commit", "remote_write", ""},
      {"synchronous_commit", "true", ""},
      {"synchronous_commit", "0", ""},
      {"synchronous_commit", "maybe", "not one of"},
      {"log_min_messages", "debug", ""},
      {"log_min_messages", "verbose", "not one of"},
      {"wal_level", "on", "not one of"},
      // Strings: only the server's check at reload refuses them.
      {"TimeZone", "Mars/Olympus", ""},
  };
  for (const Case& c : cases) {
    const auto problems = CheckParameters(table, {{c.name, c.value}});
    const std::string why = problems.empty() ? "" : problems[0].reason;
    if (*c.problem == 0)
      EXPECT_EQ(why, "") << c.name << " = '" << c.value << "'";
    else
      EXPECT_NE(why.find(c.problem), std::string::npos) << c.name << " = '" << c.value << "': " << why;
  }
}

// The strings a throwaway session may try: context user/superuser, no
// catalog lookup behind the check.
TEST(ParameterCheck, SessionTrials) {
  const SettingTable table = ParseSettingRows(kRows);
  EXPECT_EQ(table.at("timezone").context, "user");
  auto trials = SessionTrials(table, {{"TimeZone", "Mars/Olympus"},
                                      {"log_timezone", "UTC"},
                                      {"default_tablespace", "nowhere"},
                                      {"application_name", "x"},
                                      {"work_mem", "4MB"},
                                      {"ext.thing", "y"}});
  EXPECT_EQ(trials, (std::map<std::string, std::string>{{"TimeZone", "Mars/Olympus"}, {"application_name", "x"}}));
}

TEST(ParameterCheck, UnknownNamesPlaceholdersAndCase) {
  const SettingTable table = ParseSettingRows(kRows);
  auto problems = CheckParameters(table, {{"shared_bufers", "1GB"},
                                          {"pg_stat_statements.max", "anything"},
                                          {"SHARED_BUFFERS", "12XB"},
                                          {"timezone", "UTC"},
                                          {"work_mem", "-1"}});
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].name, "SHARED_BUFFERS");
  EXPECT_EQ(problems[1].name, "shared_bufers");
  EXPECT_EQ(problems[1].reason, "unrecognized configuration parameter");
  EXPECT_EQ(problems[2].name, "work_mem");
  const std::string text = DescribeProblems(problems);
  EXPECT_NE(text.find("SHARED_BUFFERS: value '12XB': invalid unit 'XB'"), std::string::npos) << text;
  EXPECT_NE(text.find("work_mem: value '-1': -1 kB is outside the valid range 64..2147483647"), std::string::npos)
      << text;
  EXPECT_TRUE(CheckParameters(table, {{"work_mem", "4MB"}, {"hot_standby", "on"}}).empty());
  EXPECT_TRUE(ParseSettingRows("").empty());
}

}  // namespace
}  // namespace pgvigil
