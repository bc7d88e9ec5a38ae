// Operator requests through the pgvigil.io/request annotation and vigilctl's
// edits of pgvigil.io/fenced-instances (kube_request.h), as tables.
#include "controller/kube/kube_request.h"

#include <gtest/gtest.h>

namespace pgvigil::kube {
namespace {

using Kind = RequestDecision::Kind;

const std::vector<std::string> kInstances = {"demo-0", "demo-1", "demo-2"};

TEST(KubeRequestTest, Decisions) {
  struct Case {
    std::string name, annotation, handled;
    Kind kind;
    std::string reasonHas;
  };
  const std::string sw = R"({"id":"r1","action":"switchover","instance":"demo-1"})";
  const Case cases[] = {
      {"no annotation", "", "", Kind::kNone, ""},
      {"blank annotation", "  ", "r0", Kind::kNone, ""},
      {"a new switchover is filed", sw, "", Kind::kFile, "switchover demo-1 requested"},
      {"a new one after another", sw, "r0", Kind::kFile, "id r1"},
      {"handled already", sw, "r1", Kind::kNone, "handled already"},
      {"recover", R"({"id":"r2","action":"recover","instance":"demo-2"})", "r1", Kind::kFile, "recover demo-2"},
      {"unknown action", R"({"id":"r3","action":"promote","instance":"demo-2"})", "", Kind::kRefuse,
       "unknown action 'promote'"},
      {"unknown instance", R"({"id":"r4","action":"switchover","instance":"demo-7"})", "", Kind::kRefuse,
       "'demo-7' is not an instance of this cluster (demo-0, demo-1, demo-2)"},
      {"no instance", R"({"id":"r5","action":"recover"})", "", Kind::kRefuse, "'' is not an instance"},
      {"not JSON", "switchover demo-1", "r1", Kind::kRefuse, "annotation pgvigil.io/request: not a JSON object"},
      {"no id", R"({"action":"recover","instance":"demo-1"})", "r1", Kind::kRefuse, "with an \"id\""},
      {"a list", "[1]", "", Kind::kRefuse, "not a JSON object"},
  };
  for (const auto& c : cases) {
    RequestDecision d = DecideRequest(c.annotation, c.handled, kInstances);
    EXPECT_EQ(d.kind, c.kind) << c.name << ": " << d.reason;
    EXPECT_NE(d.reason.find(c.reasonHas), std::string::npos) << c.name << ": " << d.reason;
  }
}

TEST(KubeRequestTest, EncodeThenDecide) {
  OperatorRequest r{"abc123", "switchover", "demo-2", "2026-12-05T23:00:00Z"};
  const std::string text = EncodeRequest(r);
  EXPECT_EQ(text, R"({"id":"abc123","action":"switchover","instance":"demo-2","requestedAt":"2026-12-05T23:00:00Z"})");
  RequestDecision d = DecideRequest(text, "", kInstances);
  ASSERT_EQ(d.kind, Kind::kFile);
  EXPECT_EQ(d.request.id, "abc123");
  EXPECT_EQ(d.request.instance, "demo-2");
  auto rec = RequestRecord(d.request, false, "no", 7, "t");
  EXPECT_EQ(rec.at("result").as_string(), "Refused");
  EXPECT_EQ(rec.at("term").as_number().to_uint64(), 7u);
  EXPECT_EQ(RequestRecord(d.request, true, "", 7, "t").at("result").as_string(), "Accepted");
}

// A request this controller filed under term 5 goes to the planner only when
// status.lastRequest holds it under term 5 and this controller still acts
// under term 5. Deposed in between (another controller recorded it again
// under term 6 and runs it), or acting under another term now, it is dropped:
// the switchover never runs twice.
TEST(KubeRequestTest, HandOffOnlyUnderTheTermItWasFiledUnder) {
  using H = HandOffDecision::Kind;
  auto record = [](const std::string& id, uint64_t term) {
    OperatorRequest r{id, "switchover", "demo-1", ""};
    return RequestRecord(r, true, "switchover demo-1 requested", term, "t");
  };
  struct Case {
    std::string name;
    web::json::value recorded;
    uint64_t acting;
    H want;
    bool held;
    std::string reasonHas;
  };
  web::json::value no_term = record("x", 5);
  no_term.erase("term");
  const Case cases[] = {
      {"not recorded yet", web::json::value::null(), 5, H::kWait, false, "holds no request, not yet request x"},
      {"another request recorded", record("w", 5), 5, H::kWait, false, "holds request w"},
      {"not recorded yet, not acting at the moment", record("w", 5), 0, H::kWait, false, "not yet request x"},
      {"recorded under the filing term, still acting under it", record("x", 5), 5, H::kHandOff, true, "under term 5"},
      {"recorded again by the next controller under its term", record("x", 6), 5, H::kDrop, false,
       "holds it under term 6, not term 5"},
      {"recorded again by the next controller, this one acting again later", record("x", 6), 7, H::kDrop, false,
       "another controller recorded it"},
      {"recorded by this one but it stopped acting", record("x", 5), 0, H::kDrop, true, "stopped acting"},
      {"recorded by this one, which acts under a newer term now", record("x", 5), 7, H::kDrop, true,
       "acts under term 7 now, not term 5"},
      {"never read back, acting under a newer term now", record("w", 6), 7, H::kDrop, false,
       "its record never read back"},
      {"a record without a term", no_term, 5, H::kDrop, false, "holds it under no term"},
  };
  for (const auto& c : cases) {
    HandOffDecision d = DecideHandOff("x", 5, c.recorded, c.acting);
    EXPECT_EQ(d.kind, c.want) << c.name << ": " << d.reason;
    EXPECT_EQ(d.recordHeld, c.held) << c.name;
    EXPECT_NE(d.reason.find(c.reasonHas), std::string::npos) << c.name << ": " << d.reason;
  }
}

TEST(KubeRequestTest, FenceEdits) {
  struct Case {
    std::string name, current;
    bool fence;
    std::string instance;
    std::string want;  // "ERR:<part of the error>" for a refusal
    bool changed;
  };
  const Case cases[] = {
      {"fence the first", "", true, "demo-1", R"(["demo-1"])", true},
      {"fence a second, sorted", R"(["demo-2"])", true, "demo-1", R"(["demo-1","demo-2"])", true},
      {"fence again", R"(["demo-1"])", true, "demo-1", R"(["demo-1"])", false},
      {"fence under *", R"(["*"])", true, "demo-1", R"(["*"])", false},
      {"fence all", R"(["demo-1"])", true, "*", R"(["*"])", true},
      {"unfence the last", R"(["demo-1"])", false, "demo-1", "", true},
      {"unfence one of two", R"(["demo-1","demo-2"])", false, "demo-2", R"(["demo-1"])", true},
      {"unfence one not fenced", R"(["demo-1"])", false, "demo-0", R"(["demo-1"])", false},
      {"unfence nothing fenced", "", false, "demo-0", "", false},
      {"unfence all", R"(["*"])", false, "*", "", true},
      {"unfence all of a list", R"(["demo-0","demo-2"])", false, "*", "", true},
      {"unfence one under *", R"(["*"])", false, "demo-1", "ERR:every instance is fenced", false},
      {"unknown instance", "", true, "demo-9", "ERR:'demo-9' is not an instance of this cluster", false},
      {"a broken annotation is not edited", "demo-1", true, "demo-2", "ERR:fix or remove the annotation", false},
  };
  for (const auto& c : cases) {
    bool changed = true;
    auto r = FenceAnnotationAfter(c.current, c.fence, c.instance, kInstances, &changed);
    if (c.want.rfind("ERR:", 0) == 0) {
      ASSERT_FALSE(r.ok()) << c.name << ": " << *r;
      EXPECT_NE(r.error().find(c.want.substr(4)), std::string::npos) << c.name << ": " << r.error();
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.error();
    EXPECT_EQ(*r, c.want) << c.name;
    EXPECT_EQ(changed, c.changed) << c.name;
  }
}

TEST(KubeRequestTest, ClusterOfInstance) {
  EXPECT_EQ(ClusterOfInstance("demo-1"), "demo");
  EXPECT_EQ(ClusterOfInstance("my-db-12"), "my-db");
  EXPECT_EQ(ClusterOfInstance("demo"), "");
  EXPECT_EQ(ClusterOfInstance("demo-"), "");
  EXPECT_EQ(ClusterOfInstance("demo-x1"), "");
  EXPECT_EQ(ClusterOfInstance("-1"), "");
  EXPECT_EQ(InstanceNames("demo", 2), (std::vector<std::string>{"demo-0", "demo-1"}));
}

}  // namespace
}  // namespace pgvigil::kube
