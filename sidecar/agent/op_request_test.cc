#include "sidecar/agent/op_request.h"
#include "sidecar/agent/term_store.h"

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

bool Known(const std::string& n) { return n == "node1" || n == "node2"; }

RequestError Reject(const std::string& op, const std::string& body) {
  OpRequest r;
  RequestError e;
  EXPECT_FALSE(ParseOpRequest(op, body, Known, &r, &e)) << op << " " << body;
  return e;
}

OpRequest Accept(const std::string& op, const std::string& body) {
  OpRequest r;
  RequestError e;
  EXPECT_TRUE(ParseOpRequest(op, body, Known, &r, &e)) << e.field << ": " << e.reason;
  return r;
}

TEST(AgentOpRequest, BadBodiesNameTheField) {
  struct Case {
    const char* op;
    const char* body;
    const char* field;
  } cases[] = {
      {"promote", "", "body"},
      {"promote", "{", "body"},
      {"promote", "[1]", "body"},
      {"promote", "{}", "term"},
      {"promote", R"({"term": -1})", "term"},
      {"promote", R"({"term": 1.5})", "term"},
      {"promote", R"({"term": "12a"})", "term"},
      {"promote", R"({"term": "99999999999999999999999"})", "term"},
      {"promote", R"({"term": "18446744073709551615"})", "term"},  // above 2^53-1
      {"promote", R"({"term": 18446744073709551615})", "term"},
      {"promote", R"({"term": 9007199254740992})", "term"},
      {"promote", R"({"term": null})", "term"},
      {"promote", R"({"term": 1, "fenced": true})", "fenced"},  // not a promote field
      {"stop", R"({"term": 1, "mode": "smart"})", "mode"},
      {"stop", R"({"term": 1, "mode": 3})", "mode"},
      {"stop", R"({"term": 1, "fenced": "yes"})", "fenced"},
      {"stop", R"({"term": 1, "frenced": true})", "frenced"},
      {"follow", R"({"term": 1})", "primary"},
      {"follow", R"({"term": 1, "primary": "node9"})", "primary"},
      {"follow", R"({"term": 1, "primary": 1})", "primary"},
      {"follow", R"({"term": 1, "primary": "node1", "slot": "Bad-Slot"})", "slot"},
      {"rebuild", R"({"term": 1, "primary": "node1", "method": "rsync"})", "method"},
      {"rebuild", R"({"term": 1, "primary": "node1", "maxRate": "fast"})", "maxRate"},
      {"rebuild", R"({"term": 1, "primary": "node1", "maxRate": "1kB"})", "maxRate"},
      {"init", R"({})", "term"},
      {"init", R"({"term": 1, "primary": "node1"})", "primary"},
      {"init", R"({"term": 1, "fenced": true})", "fenced"},
  };
  for (const auto& c : cases) {
    RequestError e = Reject(c.op, c.body);
    EXPECT_EQ(e.field, c.field) << c.op << " " << c.body << " -> " << e.reason;
    EXPECT_FALSE(e.reason.empty());
  }
}

TEST(AgentOpRequest, ParsesEveryOperation) {
  OpRequest p = Accept("promote", R"({"term": 7})");
  EXPECT_EQ(p.kind, OpKind::kPromote);
  EXPECT_EQ(p.term, 7u);
  EXPECT_FALSE(p.fenced);

  OpRequest s = Accept("stop", R"({"term": "9007199254740991", "mode": "immediate", "fenced": true})");
  EXPECT_EQ(s.kind, OpKind::kStop);
  EXPECT_EQ(s.term, kMaxTerm);
  EXPECT_EQ(s.mode, "immediate");
  EXPECT_TRUE(s.fenced);

  EXPECT_EQ(Accept("start", R"({"term": 0})").kind, OpKind::kStart);
  EXPECT_EQ(Accept("restart", R"({"term": 3})").mode, "fast");

  OpRequest f = Accept("follow", R"({"term": 4, "primary": "node2", "slot": "node_1"})");
  EXPECT_EQ(f.kind, OpKind::kFollow);
  EXPECT_EQ(f.primary, "node2");
  EXPECT_EQ(f.slot, "node_1");

  OpRequest r = Accept("rebuild", R"({"term": 5, "primary": "node1", "method": "basebackup", "maxRate": "10MB"})");
  EXPECT_EQ(r.kind, OpKind::kRebuild);
  EXPECT_EQ(r.method, RebuildMethod::kBasebackup);
  EXPECT_EQ(r.maxRateBytes, 10ull << 20);
  EXPECT_EQ(Accept("rebuild", R"({"term": 5, "primary": "node1"})").method, RebuildMethod::kAuto);
  OpRequest i = Accept("init", R"({"term": 7})");
  EXPECT_EQ(i.kind, OpKind::kInit);
  EXPECT_EQ(i.term, 7u);
}

TEST(AgentOpRequest, TermRequest) {
  TermRequest t;
  RequestError e;
  EXPECT_TRUE(ParseTermRequest(R"({"term": 42})", &t, &e));
  EXPECT_EQ(t.term, 42u);
  EXPECT_FALSE(ParseTermRequest(R"({"term": 42, "x": 1})", &t, &e));
  EXPECT_EQ(e.field, "x");
  EXPECT_FALSE(ParseTermRequest("nope", &t, &e));
  EXPECT_EQ(e.field, "body");
}

// The requests of common/node_operation.h, as the controller writes them, are
// taken field for field: the strict reader gives the request back, and the
// checked operation has its values.
TEST(AgentOpRequest, RequestsOfTheContractAreTaken) {
  struct Case {
    const char* op;
    NodeOperationRequest request;
  };
  NodeOperationRequest stop = NodeOperationRequestInTerm(5);
  stop.fenced = true;
  stop.mode = "immediate";
  NodeOperationRequest follow = NodeOperationRequestInTerm(5);
  follow.fenced = true;
  follow.primary = "node2";
  follow.slot = "node1_slot";
  NodeOperationRequest rebuild = follow;
  rebuild.method = "basebackup";
  rebuild.maxRate = "50MB";
  const NodeOperationRequest term_only = NodeOperationRequestInTerm(5);
  const Case cases[] = {{"promote", term_only}, {"start", term_only}, {"init", term_only}, {"stop", stop},
                        {"restart", stop}, {"follow", follow}, {"rebuild", rebuild}};
  for (const Case& c : cases) {
    const std::string body = ToJson(c.request).serialize();
    NodeOperationRequest back;
    RequestError e;
    ASSERT_TRUE(ReadNodeOperationRequest(c.op, body, &back, &e)) << c.op << " " << body << ": " << e.field;
    EXPECT_TRUE(back == c.request) << c.op << " " << body;
    const OpRequest r = Accept(c.op, body);
    EXPECT_STREQ(ToString(r.kind), c.op);
    EXPECT_EQ(r.term, 5u);
    EXPECT_EQ(r.fenced, c.request.fenced.value_or(false)) << c.op;
    EXPECT_EQ(r.mode, c.request.mode.value_or("fast")) << c.op;
    EXPECT_EQ(r.primary, c.request.primary.value_or("")) << c.op;
    EXPECT_EQ(r.slot, c.request.slot.value_or("")) << c.op;
  }
  EXPECT_EQ(Accept("rebuild", ToJson(rebuild).serialize()).method, RebuildMethod::kBasebackup);
  EXPECT_EQ(Accept("rebuild", ToJson(rebuild).serialize()).maxRateBytes, 50u * 1024 * 1024);
  TermRequest t;
  RequestError e;
  ASSERT_TRUE(ParseTermRequest(ToJson(TermRequest{9}).serialize(), &t, &e));
  EXPECT_EQ(t.term, 9u);
}

}  // namespace
}  // namespace pgvigil
