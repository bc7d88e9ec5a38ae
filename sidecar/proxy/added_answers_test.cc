// Telling the answers to the proxy's added Parses and Closes from the
// client's own, by their place in the cycle, also when an error made the
// backend skip the rest of the sequence.
#include "sidecar/proxy/added_answers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgvigil::proxy {
namespace {

std::vector<std::string> Unanswered(const AddedAnswers& a) {
  std::vector<std::string> out;
  a.UnansweredParses([&](const std::string& s, uint64_t v, bool older_left) {
    out.push_back(s + "@" + std::to_string(v) + (older_left ? " older left" : ""));
  });
  return out;
}

TEST(AddedAnswersTest, AllAnsweredInOrder) {
  AddedAnswers a;
  a.Client('1');                  // the client's Parse
  a.AddedClose();                 // the proxy's Close + Parse of s2
  a.AddedParse("s2", 7, true);
  a.Client('3');                  // the client's Close
  a.Client('1');
  EXPECT_TRUE(a.any());
  EXPECT_FALSE(a.Answer('1'));  // the client's
  EXPECT_TRUE(a.Answer('3'));   // the proxy's Close
  EXPECT_TRUE(a.Answer('1'));   // the proxy's Parse
  EXPECT_FALSE(a.Answer('3'));
  EXPECT_FALSE(a.Answer('1'));
  EXPECT_TRUE(Unanswered(a).empty());
}

TEST(AddedAnswersTest, TheClientsParseBeforeAnErrorIsNotTakenForTheSkippedOne) {
  // Client Parse, Bind/Execute that fails, the proxy's Parse (skipped), Sync:
  // the one ParseComplete that comes is the client's.
  AddedAnswers a;
  a.Client('1');
  a.AddedParse("s2", 3, false);
  EXPECT_FALSE(a.Answer('1'));
  EXPECT_EQ(Unanswered(a), std::vector<std::string>{"s2@3"});
}

TEST(AddedAnswersTest, SkippedCloseAndParseLeaveTheOlderVersion) {
  AddedAnswers a;
  a.AddedClose();
  a.AddedParse("s", 2, true);
  a.AddedParse("t", 5, false);
  EXPECT_EQ(Unanswered(a), (std::vector<std::string>{"s@2 older left", "t@5"}));
  // The Close answered, the Parse failed: nothing of s is left there.
  AddedAnswers b;
  b.AddedClose();
  b.AddedParse("s", 2, true);
  EXPECT_TRUE(b.Answer('3'));
  EXPECT_EQ(Unanswered(b), std::vector<std::string>{"s@2"});
}

std::vector<std::string> UnansweredOwn(const AddedAnswers& a) {
  std::vector<std::string> out;
  a.UnansweredClientParses([&](const std::string& s, uint64_t v) { out.push_back(s + "@" + std::to_string(v)); });
  return out;
}

TEST(AddedAnswersTest, TheClientsParseBehindAnErrorIsToldApart) {
  // The client's Parse of p1, the proxy's Parse of s2, an error, the client's
  // Parse of p3 (skipped), Sync: the client gets p1's answer; p3 prepared nothing.
  AddedAnswers a;
  a.ClientParse("p1", 4);
  a.AddedParse("s2", 3, false);
  a.ClientParse("p3", 6);
  EXPECT_TRUE(a.any());
  EXPECT_FALSE(a.Answer('1'));  // the client's, relayed
  EXPECT_TRUE(a.Answer('1'));   // the proxy's
  EXPECT_TRUE(Unanswered(a).empty());
  EXPECT_EQ(UnansweredOwn(a), std::vector<std::string>{"p3@6"});
  // All answered: nothing left; the proxy's skipped Parse is not the client's.
  AddedAnswers b;
  b.ClientParse("p1", 1);
  b.AddedParse("s2", 2, false);
  EXPECT_FALSE(b.Answer('1'));
  EXPECT_TRUE(UnansweredOwn(b).empty());
  EXPECT_EQ(Unanswered(b), std::vector<std::string>{"s2@2"});
}

TEST(AddedAnswersTest, TheClientsCloseClosesWhenAnswered) {
  // The proxy's Close and Parse of s2, the client's Close of c1, an error
  // after c1's answer, the client's Close of c3 (skipped): c1 is closed when
  // its answer comes, c3 stays open (Closing until the cycle ends).
  AddedAnswers a;
  a.AddedClose();
  a.AddedParse("s2", 3, true);
  a.ClientClose("c1", 5, "c1");
  a.ClientClose("c3", 0, "pgvigil_s7");
  EXPECT_TRUE(a.Closing("c1") && a.Closing("c3"));
  std::vector<std::string> closed;
  auto note = [&](const std::string& s, uint64_t v, const std::string& wire) {
    closed.push_back(s + "@" + std::to_string(v) + " as " + wire);
  };
  EXPECT_TRUE(a.Answer('3', note));   // the proxy's Close
  EXPECT_TRUE(a.Answer('1', note));   // the proxy's Parse
  EXPECT_FALSE(a.Answer('3', note));  // c1's, relayed
  EXPECT_EQ(closed, std::vector<std::string>{"c1@5 as c1"});
  EXPECT_FALSE(a.Closing("c1"));
  EXPECT_TRUE(a.Closing("c3"));
  EXPECT_TRUE(Unanswered(a).empty());
  EXPECT_TRUE(UnansweredOwn(a).empty());
}

std::vector<std::string> UnansweredUnnamed(const AddedAnswers& a) {
  std::vector<std::string> out;
  a.UnansweredUnnamedParses([&](uint64_t v, bool failed) {
    out.push_back(std::to_string(v) + (failed ? " failed" : " skipped"));
  });
  return out;
}

TEST(AddedAnswersTest, AnUnnamedParseUnansweredFailedOrWasSkipped) {
  // First in its cycle: unanswered, it failed.
  AddedAnswers a;
  a.ClientUnnamedParse(4, true);
  EXPECT_TRUE(a.any());
  EXPECT_EQ(UnansweredUnnamed(a), std::vector<std::string>{"4 failed"});
  EXPECT_EQ(a.LastUnnamedParse(), 4u);
  // After other messages, behind the proxy's Close of a name that never
  // exists: that Close answered, the Parse failed; unanswered, it was skipped.
  AddedAnswers b;
  b.Client('1');
  b.AddedClose();
  b.ClientUnnamedParse(5, false);
  EXPECT_FALSE(b.Answer('1'));
  EXPECT_TRUE(b.Answer('3'));
  EXPECT_EQ(UnansweredUnnamed(b), std::vector<std::string>{"5 failed"});
  AddedAnswers c;
  c.Client('1');
  c.AddedClose();
  c.ClientUnnamedParse(6, false);
  c.AddedClose();
  c.ClientUnnamedParse(7, false);
  EXPECT_FALSE(c.Answer('1'));
  // The latest first: the one before each comes back in turn.
  EXPECT_EQ(UnansweredUnnamed(c), (std::vector<std::string>{"7 skipped", "6 skipped"}));
  EXPECT_EQ(c.LastUnnamedParse(), 7u);
  // Answered: nothing to do; the client gets the answer.
  AddedAnswers d;
  d.ClientUnnamedParse(8, true);
  EXPECT_FALSE(d.Answer('1'));
  EXPECT_TRUE(UnansweredUnnamed(d).empty());
}

TEST(AddedAnswersTest, NothingAddedRelaysEverything) {
  AddedAnswers a;
  for (int i = 0; i < 100; ++i) a.Client(i % 2 ? '1' : '3');
  EXPECT_FALSE(a.any());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(a.Answer(i % 2 ? '1' : '3'));
}

}  // namespace
}  // namespace pgvigil::proxy
