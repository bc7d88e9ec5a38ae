#include "sidecar/proxy/set_key.h"

#include <gtest/gtest.h>

namespace pgvigil::proxy {
namespace {

struct Case {
  const char* sql;
  const char* key;  // "" none
};

TEST(SetKeyTest, Table) {
  const Case cases[] = {
      // Keyed forms.
      {"SET search_path TO pg_catalog, public", "search_path"},
      {"SET search_path = \"$user\", public", "search_path"},
      {"set Application_Name = 'x';", "application_name"},
      {"SET SESSION work_mem = '4MB'", "work_mem"},
      {"SET statement_timeout TO DEFAULT", "statement_timeout"},
      {"SET extra_float_digits = -1", "extra_float_digits"},
      {"SET TIME ZONE 'UTC'", "timezone"},
      {"SET SESSION TIME ZONE LOCAL", "timezone"},
      {"SET TIME ZONE INTERVAL '+00:00' HOUR TO MINUTE", "timezone"},
      {"SET TimeZone = 'UTC'", "timezone"},
      {"RESET TIME ZONE", "timezone"},
      {"RESET search_path", "search_path"},
      {"  RESET\n\tSearch_Path ;; ", "search_path"},
      // Quoted and dotted names: as PostgreSQL looks the parameter up.
      {"SET \"search_path\" TO public", "search_path"},
      {"SET \"Search_Path\" TO public", "search_path"},
      {"SET myapp.x = 1", "myapp.x"},
      {"SET MyApp.X = 1", "myapp.x"},
      {"SET \"myapp\".\"X\" = 1", "myapp.x"},
      {"SET \"myapp.x\" = 1", "myapp.x"},
      {"SET myapp . x TO 'a b'", "myapp.x"},
      {"RESET pgvigil_t.p1", "pgvigil_t.p1"},
      // Not keyed: not a session change of one ordinary parameter.
      {"SET LOCAL work_mem = '4MB'", ""},
      {"SET ROLE alice", ""},
      {"SET role TO alice", ""},
      {"SET \"Role\" = alice", ""},
      {"RESET ROLE", ""},
      {"SET SESSION AUTHORIZATION alice", ""},
      {"SET session_authorization = alice", ""},
      {"RESET SESSION AUTHORIZATION", ""},
      {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", ""},
      {"SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", ""},
      {"SET transaction_read_only = on", ""},
      {"SET transaction_deferrable = on", ""},
      {"RESET TRANSACTION ISOLATION LEVEL", ""},
      {"SET CONSTRAINTS ALL DEFERRED", ""},
      {"RESET ALL", ""},
      {"SET NAMES 'UTF8'", ""},
      {"SET client_encoding TO 'LATIN1'", ""},
      {"SET standard_conforming_strings = off", ""},
      {"SET backslash_quote = on", ""},
      {"SET DateStyle = 'ISO'", ""},
      {"SET default_text_search_config = 'english'", ""},
      {"SET log_parser_stats = on", ""},
      {"SET seed = 0.5", ""},
      {"SET search_path FROM CURRENT", ""},
      {"SET SCHEMA 'public'", ""},
      // Not certain: several statements, comments, backslashes, odd tokens.
      {"SET search_path TO a; SET search_path TO b", ""},
      {"SET search_path TO a; SELECT 1", ""},
      {"SET search_path TO a -- why", ""},
      {"SET /* c */ search_path TO a", ""},
      {"SET application_name = E'a\\'b'", ""},
      {"SET search_path TO $1", ""},
      {"SET search_path TO (a)", ""},
      {"SET search_path TO", ""},
      {"SET search_path", ""},
      {"SET TIME ZONE", ""},
      {"RESET search_path work_mem", ""},
      {"SET \"a\"\"b\" = 1", ""},
      {"SET \"\" = 1", ""},
      {"SET myapp. = 1", ""},
      {"SET session.x = 1", ""},
      {"SET U&\"search_path\" TO a", ""},
      {"SELECT 1", ""},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(SetKey(c.sql), c.key) << c.sql;
}

}  // namespace
}  // namespace pgvigil::proxy
