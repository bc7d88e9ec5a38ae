// For tests of the tolerant readers (common/json_fields.h): the notes a body
// left are none (`want` empty) or exactly one naming `want`.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgvigil::testing {

inline void ExpectNotes(const std::vector<std::string>& notes, const std::string& want, const std::string& body) {
  if (want.empty()) {
    EXPECT_TRUE(notes.empty()) << body << " -> " << notes.front();
    return;
  }
  ASSERT_EQ(notes.size(), 1u) << body;
  EXPECT_NE(notes[0].find(want), std::string::npos) << body << " -> " << notes[0];
}

}  // namespace pgvigil::testing
