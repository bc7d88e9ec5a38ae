// pgvigil.conf layout: one quoted line per setting (the quoting itself,
// GucFileLiteral, is pinned byte for byte in pg_output_parse_test.cc; the
// integration test reads the values back from a real server).
#include "sidecar/agent/postgres_parameters.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

TEST(PgvigilConfTest, OneLinePerSettingInNameOrder) {
  std::string conf = RenderPgvigilConf({{"work_mem", "4MB"}, {"auto_explain.log_min_duration", "250ms"}});
  EXPECT_EQ(conf.substr(conf.find('\n') + 1),
            "auto_explain.log_min_duration = '250ms'\nwork_mem = '4MB'\n");
  EXPECT_EQ(conf[0], '#');
  EXPECT_EQ(IncludeLine("/data"), "include_if_exists = 'pgvigil.conf'");
}

}  // namespace
}  // namespace pgvigil
