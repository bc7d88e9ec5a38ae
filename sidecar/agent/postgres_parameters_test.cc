// pgvigil.conf quoting: values come back from PostgreSQL's configuration lexer
// exactly as written in the spec (the integration test reads them back from a
// real server; this table pins the bytes written).
#include "sidecar/agent/postgres_parameters.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(PgvigilConfTest, QuotesEveryValueAsThePostgresLexerReadsIt) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"4MB", "'4MB'"},
      {"", "''"},
      {"it's", "'it''s'"},
      {"C:\\dir", "'C:\\\\dir'"},
      {"\\'", "'\\\\'''"},
      {"# not a comment", "'# not a comment'"},
      {"%m [%p] ", "'%m [%p] '"},
  };
  for (const auto& c : cases) EXPECT_EQ(QuoteConfValue(c.in), c.out) << c.in;
}

TEST(PgvigilConfTest, OneLinePerSettingInNameOrder) {
  std::string conf = RenderPgvigilConf({{"work_mem", "4MB"}, {"auto_explain.log_min_duration", "250ms"}});
  EXPECT_EQ(conf.substr(conf.find('\n') + 1),
            "auto_explain.log_min_duration = '250ms'\nwork_mem = '4MB'\n");
  EXPECT_EQ(conf[0], '#');
  EXPECT_EQ(IncludeLine("/data"), "include_if_exists = 'pgvigil.conf'");
}

}  // namespace
}  // namespace pgvigil
