#include "sidecar/proxy/tracked_params.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pgvigil::proxy {
namespace {

TEST(TrackedParams, NamesWithoutRegardToCase) {
  EXPECT_EQ(TrackedParameterIndex("TimeZone"), 2);
  EXPECT_EQ(TrackedParameterIndex("timezone"), 2);
  EXPECT_EQ(TrackedParameterIndex("DATESTYLE"), 1);
  EXPECT_EQ(TrackedParameterIndex("client_encoding"), 0);
  EXPECT_EQ(TrackedParameterIndex("work_mem"), -1);
  EXPECT_EQ(TrackedParameterIndex("timezone_abbreviations"), -1);
  EXPECT_EQ(TrackedParameterIndex(""), -1);
}

TEST(TrackedParams, NoteSaysWhetherItChanged) {
  TrackedValues v;
  EXPECT_TRUE(v.Note("TimeZone", "UTC"));
  EXPECT_FALSE(v.Note("TimeZone", "UTC"));
  EXPECT_TRUE(v.Note("TimeZone", "Asia/Tokyo"));
  EXPECT_FALSE(v.Note("server_version", "15.1"));  // not tracked
  EXPECT_FALSE(v.known[0]);
}

TEST(TrackedParams, EqualValuesOneNumberAnyDifferenceAnother) {
  TrackedValuesIds ids;
  TrackedValues a, b;
  const std::vector<std::pair<std::string, std::string>> login = {
      {"client_encoding", "UTF8"}, {"DateStyle", "ISO, MDY"}, {"TimeZone", "UTC"},
      {"standard_conforming_strings", "on"}, {"application_name", "app"}};
  a.NoteAll(login);
  b.NoteAll(login);
  const uint64_t id = ids.IdOf(a);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(ids.IdOf(b), id);
  // A difference in any one value gets another number, and going back gets the first again.
  std::set<uint64_t> seen = {id};
  for (size_t i = 0; i < kTrackedParameters; ++i) {
    TrackedValues c = a;
    c.value[i] += "x";
    EXPECT_TRUE(seen.insert(ids.IdOf(c)).second) << kTrackedParameterNames[i];
  }
  EXPECT_EQ(ids.IdOf(a), id);
  // Known or not is part of the set: an empty value differs from an unknown one.
  TrackedValues unknown = a, empty = a;
  unknown.known[4] = false;
  unknown.value[4].clear();
  empty.value[4].clear();
  EXPECT_NE(ids.IdOf(unknown), ids.IdOf(empty));
  EXPECT_EQ(seen.count(ids.IdOf(unknown)) + seen.count(ids.IdOf(empty)), 0u);
  // Values that only concatenate alike stay apart.
  TrackedValues x = a, y = a;
  x.value[1] = "ab";
  x.value[2] = "c";
  y.value[1] = "a";
  y.value[2] = "bc";
  EXPECT_NE(ids.IdOf(x), ids.IdOf(y));
}

TEST(TrackedParams, ANumberIsNeverGivenTwiceWhenTheTableForgets) {
  TrackedValuesIds ids;
  TrackedValues a;
  a.NoteAll({{"application_name", "first"}});
  const uint64_t first = ids.IdOf(a);
  std::set<uint64_t> seen = {first};
  for (size_t n = 0; n < TrackedValuesIds::kMaxEntries + 10; ++n) {
    TrackedValues v;
    v.NoteAll({{"application_name", "client " + std::to_string(n)}});
    EXPECT_TRUE(seen.insert(ids.IdOf(v)).second) << n;
    EXPECT_LE(ids.size(), TrackedValuesIds::kMaxEntries);
  }
  // Forgotten, "first" gets a new number: a backend stamped with the old one
  // is compared once, never taken for another set's.
  const uint64_t again = ids.IdOf(a);
  EXPECT_NE(again, first);
  EXPECT_TRUE(seen.insert(again).second);
}

TEST(TrackedParams, SetsOnlyWhatDiffersClientEncodingFirst) {
  TrackedValues client, backend;
  client.NoteAll({{"application_name", "it's a\\b"}, {"TimeZone", "UTC"}, {"client_encoding", "LATIN1"}});
  backend.NoteAll({{"application_name", "x"}, {"TimeZone", "UTC"}, {"client_encoding", "UTF8"},
                   {"DateStyle", "ISO, MDY"}});
  auto sets = TrackedParameterSets(client, backend);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0], "SET client_encoding = E'LATIN1'");
  EXPECT_EQ(sets[1], "SET application_name = E'it''s a\\\\b'");
  // Nothing the client does not know is set (DateStyle); a backend that never
  // reported a value the client knows gets it.
  TrackedValues fresh;
  EXPECT_EQ(TrackedParameterSets(client, fresh).size(), 3u);
  EXPECT_TRUE(TrackedParameterSets(client, client).empty());
}

}  // namespace
}  // namespace pgvigil::proxy
