#include "sidecar/watchdog/state_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace pgvigil {
namespace watchdog {
namespace {

TEST(StateFile, RoundTrips) {
  StoredState s;
  s.election.term = 12;
  s.election.votedFor = 2;
  s.election.reg = RegisterCopy{11, 40, R"({"primary":"server2","timeline":3})"};
  s.incarnation = 1764000000;
  auto back = ParseState(SerializeState(s));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->election.term, 12u);
  EXPECT_EQ(back->election.votedFor, 2);
  EXPECT_EQ(back->election.reg.term, 11u);
  EXPECT_EQ(back->election.reg.version, 40u);
  EXPECT_EQ(back->election.reg.doc, s.election.reg.doc);
  EXPECT_EQ(back->incarnation, 1764000000u);
}

TEST(StateFile, CorruptOrIncompleteStateIsAnErrorNotAReset) {
  EXPECT_FALSE(ParseState("").ok());
  EXPECT_FALSE(ParseState("{\"term\":3}").ok());
  EXPECT_FALSE(ParseState("{\"term\":3,\"votedFor\":7000,\"incarnation\":1,"
                          "\"register\":{\"term\":0,\"version\":0,\"doc\":\"\"}}").ok());
  auto r = ParseState("{\"term\":\"x\"");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("malformed watchdog state"), std::string::npos);
}

TEST(StateFile, MissingFileIsAFreshMemberAndSaveIsReadBack) {
  std::string dir = std::filesystem::temp_directory_path() /
                    ("pgvigil-wd-state-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto fresh = LoadState(dir);
  ASSERT_TRUE(fresh.ok()) << fresh.error();
  EXPECT_EQ(fresh->election.term, 0u);
  EXPECT_EQ(fresh->election.votedFor, -1);
  StoredState s;
  s.election.term = 4;
  s.election.votedFor = 0;
  ASSERT_TRUE(SaveState(dir, s).ok());
  auto again = LoadState(dir);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->election.term, 4u);
  std::ofstream(StateFilePath(dir)) << "garbage";
  EXPECT_FALSE(LoadState(dir).ok());
  std::filesystem::remove_all(dir);
}

TEST(StateFile, IncarnationsOnlyGrow) {
  EXPECT_EQ(NextIncarnation(5, 3), 6u);
  EXPECT_EQ(NextIncarnation(5, 1764000000), 1764000000u);
  EXPECT_EQ(NextIncarnation(0xFFFFFFFFu, 0), 0xFFFFFFFFu);
}

}  // namespace
}  // namespace watchdog
}  // namespace pgvigil
