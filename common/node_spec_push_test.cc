// PUT /v1/node/spec contract: codec round trips, refused bodies naming their
// field, the first difference besides spec.nodes, the spec file's generation.
#include "common/node_spec_push.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

namespace pgvigil {
namespace {

using web::json::value;

SpecParseOptions NoFiles() {
  SpecParseOptions o;
  o.checkSecretFiles = false;
  return o;
}

ClusterSpec Three() {
  const char* text = R"(apiVersion: pgvigil.io/v1alpha1
kind: PostgresCluster
metadata:
  name: demo
spec:
  postgres:
    superuser: {name: postgres, passwordFile: /s/postgres.password}
    replicationUser: {name: repl, passwordFile: /s/repl.password}
  nodes:
    - {name: demo-0, host: demo-0.demo-hl}
    - {name: demo-1, host: demo-1.demo-hl}
    - {name: demo-2, host: demo-2.demo-hl}
  watchdog:
    authKeyFile: /s/watchdog.key
)";
  SpecLoad l = ParseSpec(text, "t.yaml", NoFiles());
  EXPECT_TRUE(l.ok()) << l.ErrorText();
  return *l.spec;
}

// The member a scale 3 -> 4 adds; the rest of it as a spec file leaves it.
NodeSpec FourthMember() {
  NodeSpec n;
  n.name = "demo-3";
  n.host = "demo-3.demo-hl";
  return n;
}

TEST(NodeSpecPush, RequestRoundTrip) {
  NodeSpecPush p{7, (7ull << 24) + 3, Three()};
  p.spec.nodes.push_back(FourthMember());
  SpecPushError e;
  auto back = DecodeSpecPush(EncodeSpecPush(p).serialize(), &e, NoFiles());
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->term, 7u);
  EXPECT_EQ(back->generation, p.generation);
  EXPECT_EQ(back->spec, p.spec);
  EXPECT_EQ(back->spec.nodes.size(), 4u);
  EXPECT_FALSE(back->check);
  EXPECT_FALSE(EncodeSpecPush(p).has_field("check"));  // older sidecars refuse a field they do not know
  p.check = true;
  back = DecodeSpecPush(EncodeSpecPush(p).serialize(), &e, NoFiles());
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(back->check);
}

TEST(NodeSpecPush, RefusedBodiesNameTheField) {
  const std::string spec = EncodeSpecPush({1, 1, Three()}).at("spec").serialize();
  struct Case {
    std::string body, field;
  };
  const std::vector<Case> cases = {
      {"[]", "body"},
      {"not json", "body"},
      {R"({"generation": 1, "spec": )" + spec + "}", "term"},
      {R"({"term": -1, "generation": 1, "spec": )" + spec + "}", "term"},
      {R"({"term": 1, "spec": )" + spec + "}", "generation"},
      {R"({"term": 1, "generation": 0, "spec": )" + spec + "}", "generation"},
      {R"({"term": 1, "generation": "x", "spec": )" + spec + "}", "generation"},
      {R"({"term": 1, "generation": 1})", "spec"},
      {R"({"term": 1, "generation": 1, "spec": "yaml"})", "spec"},
      {R"({"term": 1, "generation": 1, "spec": {}, "extra": 1})", "extra"},
      {R"({"term": 1, "generation": 1, "check": "yes", "spec": )" + spec + "}", "check"},
      // The validator's paths, as for a spec file.
      {R"({"term": 1, "generation": 1, "spec": {"apiVersion": "pgvigil.io/v1alpha1", "kind": "PostgresCluster",
          "metadata": {"name": "demo"}, "spec": {"nodes": [{"name": "a", "host": "h", "port": 70000}],
          "watchdog": {"authKeyFile": "/k"}}}})",
       "spec.nodes[0].port"},
  };
  for (const auto& c : cases) {
    SpecPushError e;
    auto r = DecodeSpecPush(c.body, &e, NoFiles());
    EXPECT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(e.field, c.field) << c.body << " -> " << (r.ok() ? "" : r.error());
    EXPECT_FALSE(e.reason.empty());
  }
  // The term may be a string of digits, as on the other term-checked routes.
  SpecPushError e;
  EXPECT_TRUE(DecodeSpecPush(R"({"term": "12", "generation": 5, "spec": )" + spec + "}", &e, NoFiles()).ok())
      << e.field << ": " << e.reason;
}

TEST(NodeSpecPush, ReplyRoundTrip) {
  for (auto o : {SpecPushOutcome::kApplied, SpecPushOutcome::kUnchanged, SpecPushOutcome::kStale,
                 SpecPushOutcome::kRestartRequired, SpecPushOutcome::kFailed}) {
    NodeSpecPushReply r{42, o, o == SpecPushOutcome::kRestartRequired ? "spec.proxy.port" : "", "why",
                        /*pendingRestart=*/{}};
    auto v = EncodeSpecPushReply(r);
    EXPECT_EQ(v.at("restartRequired").as_bool(), o == SpecPushOutcome::kRestartRequired);
    auto back = DecodeSpecPushReply(v);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->generation, 42u);
    EXPECT_EQ(back->outcome, o);
    EXPECT_EQ(back->field, r.field);
  }
  EXPECT_FALSE(DecodeSpecPushReply(value::parse(R"({"generation": 1, "outcome": "maybe"})")).ok());
  EXPECT_FALSE(DecodeSpecPushReply(value::parse(R"({"outcome": "applied"})")).ok());
}

TEST(NodeSpecPush, FirstDifferenceBesidesNodes) {
  struct Case {
    const char* what;
    std::function<void(ClusterSpec*)> change;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"same", [](ClusterSpec*) {}, ""},
      {"a node added", [](ClusterSpec* s) { s->nodes.push_back(FourthMember()); }, ""},
      {"a node removed", [](ClusterSpec* s) { s->nodes.pop_back(); }, ""},
      {"a weight", [](ClusterSpec* s) { s->nodes[1].weight = 0; }, ""},
      {"proxy port", [](ClusterSpec* s) { s->proxy.port = 6432; }, "spec.proxy.port"},
      {"heartbeat", [](ClusterSpec* s) { s->watchdog.heartbeatInterval = Millis(400); },
       "spec.watchdog.heartbeatInterval"},
      {"a parameter", [](ClusterSpec* s) { s->postgres.parameters["work_mem"] = "8MB"; },
       "spec.postgres.parameters.work_mem"},
      {"the name", [](ClusterSpec* s) { s->name = "other"; }, "metadata.name"},
      {"nodes and the primary",
       [](ClusterSpec* s) {
         s->nodes.pop_back();
         s->primary = "demo-1";
       },
       "spec.primary"},
  };
  for (const auto& c : cases) {
    ClusterSpec b = Three();
    c.change(&b);
    EXPECT_EQ(FirstDifferenceBesidesNodes(Three(), b), c.want) << c.what;
  }
}

TEST(NodeSpecPush, FirstDifferenceBesidesNodesAndParameters) {
  const std::set<std::string> live = {"spec.nodes", "spec.postgres.parameters"};
  struct Case {
    const char* what;
    std::function<void(ClusterSpec*)> change;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"a parameter added", [](ClusterSpec* s) { s->postgres.parameters["work_mem"] = "8MB"; }, ""},
      {"a parameter and a node", [](ClusterSpec* s) {
         s->postgres.parameters["max_connections"] = "200";
         s->nodes.pop_back();
       }, ""},
      {"a parameter and the superuser",
       [](ClusterSpec* s) {
         s->postgres.parameters["work_mem"] = "8MB";
         s->postgres.superuser.name = "admin";
       },
       "spec.postgres.superuser.name"},
      {"proxy port", [](ClusterSpec* s) { s->proxy.port = 6432; }, "spec.proxy.port"},
  };
  for (const auto& c : cases) {
    ClusterSpec b = Three();
    c.change(&b);
    EXPECT_EQ(FirstDifferenceBesides(Three(), b, live), c.want) << c.what;
    EXPECT_EQ(FirstDifferenceBesides(b, Three(), live), c.want) << c.what << " (the other way)";
  }
  // Parameters removed: the other side has the key, this one not.
  ClusterSpec with = Three();
  with.postgres.parameters["work_mem"] = "8MB";
  ClusterSpec without = Three();
  without.postgres.parameters.clear();
  EXPECT_EQ(FirstDifferenceBesides(with, without, live), "");
  EXPECT_EQ(FirstDifferenceBesides(without, with, live), "");
}

TEST(NodeSpecPush, ReplyCarriesPendingRestart) {
  NodeSpecPushReply r;
  r.generation = 9;
  r.outcome = SpecPushOutcome::kApplied;
  r.pendingRestart = {"max_connections", "shared_buffers"};
  const value v = EncodeSpecPushReply(r);
  ASSERT_TRUE(v.has_array_field("pendingRestart")) << v.serialize();
  auto back = DecodeSpecPushReply(v);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->pendingRestart, r.pendingRestart);
  EXPECT_FALSE(back->restartRequired());
  r.pendingRestart.clear();
  EXPECT_FALSE(EncodeSpecPushReply(r).has_field("pendingRestart"));  // only when not empty
}

TEST(NodeSpecPush, SpecFileGeneration) {
  const ClusterSpec s = Three();
  const std::string with = SpecToYamlWithGeneration(s, 123456789012ull);
  EXPECT_EQ(SpecFileGeneration(with), 123456789012ull);
  SpecLoad l = ParseSpec(with, "cluster.yaml", NoFiles());
  ASSERT_TRUE(l.ok()) << l.ErrorText();  // the annotation is ignored by the parser
  EXPECT_EQ(*l.spec, s);
  EXPECT_EQ(SpecFileGeneration(SpecToYaml(s)), 0u);
  EXPECT_EQ(SpecToYamlWithGeneration(s, 0), SpecToYaml(s));
  EXPECT_EQ(SpecFileGeneration("metadata: {annotations: {pgvigil.io/spec-generation: \"-4\"}}"), 0u);
  EXPECT_EQ(SpecFileGeneration("metadata: {annotations: {pgvigil.io/spec-generation: 17}}"), 17u);
  EXPECT_EQ(SpecFileGeneration(": : not yaml ["), 0u);
  EXPECT_GT(KubeSpecGeneration(8, 1), KubeSpecGeneration(7, 0xFFFFFF));
}

}  // namespace
}  // namespace pgvigil
