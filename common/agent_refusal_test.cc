// The agent's refusal body: the bytes each refusal had before it was a type
// here, a round trip, and what an odd body reads as.
#include "common/agent_refusal.h"

#include <gtest/gtest.h>

#include "common/testing/expect_notes.h"

namespace pgvigil {
namespace {

using web::json::value;

AgentRefusal Stale() {
  AgentRefusal r;
  r.error = "term 3 is older than the highest seen (5)";
  r.reason = refusal::kStaleTerm;
  r.field = "term";
  r.term = 5;
  return r;
}

AgentRefusal Busy() {
  AgentRefusal r;
  r.error = "operation op-2 is still running";
  r.reason = refusal::kBusy;
  r.running = "op-2";
  return r;
}

// agent_component.cc and peer_handlers.cc built these objects by hand before.
TEST(AgentRefusal, WritesTheSameBytesAsBefore) {
  EXPECT_EQ(ToJson(Stale()).serialize(),
            R"js({"error":"term 3 is older than the highest seen (5)","field":"term","reason":"stale_term","term":5})js");
  EXPECT_EQ(ToJson(Busy()).serialize(),
            R"js({"error":"operation op-2 is still running","reason":"busy","running":"op-2"})js");
  AgentRefusal routing;
  routing.error = "generation 4 is not newer than 7";
  routing.reason = refusal::kRoutingRefused;
  EXPECT_EQ(ToJson(routing).serialize(),
            R"js({"error":"generation 4 is not newer than 7","reason":"routing_refused"})js");
}

TEST(AgentRefusal, RoundTrip) {
  AgentRefusal fenced;
  fenced.error = "fenced in term 9";
  fenced.reason = refusal::kSelfFenced;
  fenced.field = "term";
  for (const AgentRefusal& r : {Stale(), Busy(), fenced, AgentRefusal()}) {
    std::vector<std::string> notes;
    EXPECT_TRUE(AgentRefusalFromJson(value::parse(ToJson(r).serialize()), &notes) == r) << ToJson(r).serialize();
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
}

TEST(AgentRefusal, AnOddBodyReadsAsNoReasonAndSaysWhy) {
  struct Case {
    const char* body;
    const char* reason;  // as read
    const char* note;    // part of the one note expected, "" for none
  };
  const Case cases[] = {
      {R"({"error":"x","reason":"stale_term"})", "stale_term", ""},
      {R"({"error":"x","reason":"what_is_this"})", "what_is_this", ""},  // kept: the caller decides
      {R"({"error":"x"})", "", ""},                                     // an older agent: no code
      {R"({"error":"x","reason":7})", "", "refusal.reason"},
      {R"({"error":"x","reason":"busy","running":3})", "busy", "refusal.running"},
      {R"({"error":"x","reason":"stale_term","term":"abc"})", "stale_term", "refusal.term"},
      {R"("stale_term")", "", "refusal"},
      {R"(null)", "", ""},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    AgentRefusal r = AgentRefusalFromJson(value::parse(c.body), &notes);
    EXPECT_EQ(r.reason, c.reason) << c.body;
    testing::ExpectNotes(notes, c.note, c.body);
  }
}

}  // namespace
}  // namespace pgvigil
