// The tolerant field reader (common/json_fields.h): integers as numbers or
// strings, a fraction cut, and a number out of the int64 range noted rather than
// cast unchecked.
#include "common/json_fields.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

using web::json::value;

TEST(JsonFieldReader, IntegersAndWhatIsNoInteger) {
  struct Case {
    const char* body;
    bool read;
    int64_t value;
  };
  const Case cases[] = {
      {R"({"n": 7})", true, 7},
      {R"({"n": -7})", true, -7},
      {R"({"n": "12"})", true, 12},
      {R"({"n": 7.9})", true, 7},
      {R"({"n": 9223372036854775807})", true, 9223372036854775807},
      {R"({"n": 1e300})", false, 0},
      {R"({"n": -1e300})", false, 0},
      {R"({"n": 9.3e18})", false, 0},
      {R"({"n": 18446744073709551615})", false, 0},
      {R"({"n": "12x"})", false, 0},
      {R"({"n": true})", false, 0},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    const value body = value::parse(c.body);  // the reader keeps a reference
    JsonFieldReader r(body, "", &notes);
    int64_t n = 0;
    EXPECT_EQ(r.I64("n", &n), c.read) << c.body;
    EXPECT_EQ(n, c.value) << c.body;
    EXPECT_EQ(notes.size(), c.read ? 0u : 1u) << c.body;
  }
  // Above the int64 range is an unsigned integer still.
  std::vector<std::string> notes;
  const value body = value::parse(R"({"n": 18446744073709551615, "d": 1e300})");
  JsonFieldReader r(body, "", &notes);
  uint64_t u = 0;
  EXPECT_TRUE(r.U64("n", &u));
  EXPECT_EQ(u, 18446744073709551615ull);
  EXPECT_FALSE(r.U64("d", &u));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "d: not an integer");
}

}  // namespace
}  // namespace pgvigil
