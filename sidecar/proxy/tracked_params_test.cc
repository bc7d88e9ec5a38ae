#include "sidecar/proxy/tracked_params.h"

#include <gtest/gtest.h>

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
