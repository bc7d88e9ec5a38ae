// Test helper for the SessionSets tables (session_sets_query_test.cc,
// session_sets_sequence_test.cc): the SETs their rows use, and what a row
// expects of the session's record after it. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sidecar/proxy/session_sets.h"

namespace pgvigil::proxy::session_sets_rows {

// Four SETs of four different parameters.
inline const char* const A = "SET application_name = 'a'";
inline const char* const B = "SET work_mem = '2MB'";
inline const char* const C = "SET search_path TO c";
inline const char* const X = "SET statement_timeout = '9s'";

// The recorded entries are `want`, in order; incomplete: overflowed(); nothing waits.
inline void ExpectRecorded(const SessionSets& s, const std::vector<std::string>& want, bool incomplete) {
  std::vector<std::string> got;
  for (const auto& e : s.confirmed()) got.push_back(e.query);
  EXPECT_EQ(got, want);
  EXPECT_EQ(s.overflowed(), incomplete);
  EXPECT_FALSE(s.Watching());
}

}  // namespace pgvigil::proxy::session_sets_rows
