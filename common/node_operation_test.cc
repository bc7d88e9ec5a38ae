// The 202 answer to a node operation: round trip, the bytes the agent wrote
// before the answer was a type here, an older or partial body, wrong types named.
#include "common/node_operation.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

using web::json::value;

NodeOperationStarted Rebuild() {
  NodeOperationStarted s;
  s.id = "op-3";
  s.operation.id = "op-3";
  s.operation.type = "rebuild";
  s.operation.state = "running";
  s.operation.step = "accepted";
  s.operation.term = 6;
  s.operation.startedAt = "2026-12-06T16:58:00Z";
  s.operation.log = {"accepted rebuild in term 6"};
  return s;
}

TEST(NodeOperationStarted, RoundTrip) {
  for (const NodeOperationStarted& s : {Rebuild(), NodeOperationStarted()}) {
    std::vector<std::string> notes;
    EXPECT_TRUE(NodeOperationStartedFromJson(value::parse(ToJson(s).serialize()), &notes) == s)
        << ToJson(s).serialize();
    EXPECT_TRUE(notes.empty()) << notes.front();
  }
}

// agent_component.cc before: {"id": op->id(), "operation": op->Snapshot().ToJson()}.
TEST(NodeOperationStarted, WritesTheSameBytesAsBefore) {
  const char* body =
      R"({"id":"op-3","operation":{"durationMs":0,"error":null,"finishedAt":null,"id":"op-3",)"
      R"("log":["accepted rebuild in term 6"],"method":null,"progress":{"doneBytes":0,"percent":0,"totalBytes":0},)"
      R"("startedAt":"2026-12-06T16:58:00Z","state":"running","step":"accepted","term":6,"type":"rebuild"}})";
  std::vector<std::string> notes;
  const NodeOperationStarted s = NodeOperationStartedFromJson(value::parse(body), &notes);
  EXPECT_EQ(ToJson(s).serialize(), body);
  EXPECT_TRUE(notes.empty()) << notes.front();
  EXPECT_TRUE(s == Rebuild()) << ToJson(s).serialize();
}

TEST(NodeOperationStarted, OlderBodyReadsWithDefaults) {
  struct Case {
    const char* body;
    const char* id;
  };
  const Case cases[] = {
      {R"({"id": "op-1"})", "op-1"},
      {R"({"id": "op-1", "operation": null})", "op-1"},
      {R"({})", ""},
      {R"(null)", ""},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    EXPECT_EQ(NodeOperationStartedFromJson(value::parse(c.body), &notes).id, c.id) << c.body;
    EXPECT_TRUE(notes.empty()) << c.body << ": " << notes.front();
  }
}

TEST(NodeOperationStarted, WrongTypesReadAsDefaultsAndAreNamed) {
  struct Case {
    const char* body;
    const char* note;
  };
  const Case cases[] = {
      {R"({"id": 7})", "id"},
      {R"({"id": "op-1", "operation": {"state": 3}})", "operation.state"},
      {R"([])", ": not an object"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> notes;
    const NodeOperationStarted s = NodeOperationStartedFromJson(value::parse(c.body), &notes);
    EXPECT_EQ(s.operation.state, "") << c.body;
    ASSERT_EQ(notes.size(), 1u) << c.body;
    EXPECT_NE(notes[0].find(c.note), std::string::npos) << notes[0];
  }
}

// The requests: each field only when set, the bytes the controller wrote by hand
// before (controller/act/actuator.cc, TermBody and the fields of RunOne).
TEST(NodeOperationRequest, WritesTheSameBytesAsBefore) {
  NodeOperationRequest rebuild = NodeOperationRequestInTerm(6);
  rebuild.fenced = true;
  rebuild.primary = "demo-1";
  rebuild.method = "basebackup";
  EXPECT_EQ(ToJson(rebuild).serialize(), R"({"fenced":true,"method":"basebackup","primary":"demo-1","term":6})");
  NodeOperationRequest stop = NodeOperationRequestInTerm(6);
  stop.fenced = true;
  stop.mode = "fast";
  EXPECT_EQ(ToJson(stop).serialize(), R"({"fenced":true,"mode":"fast","term":6})");
  EXPECT_EQ(ToJson(NodeOperationRequestInTerm(6)).serialize(), R"({"term":6})");
  NodeOperationRequest all = rebuild;
  all.mode = "immediate";
  all.slot = "demo_0";
  all.maxRate = "50MB";
  all.fenced = false;
  EXPECT_EQ(ToJson(all).serialize(),
            R"({"fenced":false,"maxRate":"50MB","method":"basebackup","mode":"immediate","primary":"demo-1",)"
            R"("slot":"demo_0","term":6})");
  EXPECT_EQ(ToJson(TermRequest{9007199254740991ull}).serialize(), R"({"term":9007199254740991})");
}

}  // namespace
}  // namespace pgvigil
