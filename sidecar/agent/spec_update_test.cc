// DecideSpecUpdate, OneMemberAtTheEnd and ChooseStartSpec: tables; the stored
// copy through a real state directory.
#include "sidecar/agent/spec_update.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

namespace pgvigil {
namespace {

// A member with its name and host; the rest as a spec file leaves it.
NodeSpec Member(std::string name, std::string host) {
  NodeSpec n;
  n.name = std::move(name);
  n.host = std::move(host);
  return n;
}

ClusterSpec Spec(int members) {
  ClusterSpec s;
  s.name = "demo";
  s.watchdog.authKeyFile = "/s/watchdog.key";
  for (int i = 0; i < members; ++i)
    s.nodes.push_back(Member("demo-" + std::to_string(i), "demo-" + std::to_string(i) + ".demo-hl"));
  return s;
}

TEST(SpecUpdate, Decisions) {
  struct Case {
    const char* what;
    uint64_t held, generation;
    std::function<void(ClusterSpec*)> change;  // of a 3-member spec
    int status;
    SpecPushOutcome outcome;
    std::string field;
    bool persist, apply;
  };
  const std::vector<Case> cases = {
      {"same spec, newer", 5, 6, [](ClusterSpec*) {}, 200, SpecPushOutcome::kUnchanged, "", true, false},
      {"same generation", 6, 6, [](ClusterSpec* s) { s->nodes.pop_back(); }, 200, SpecPushOutcome::kStale, "", false,
       false},
      {"older generation", 9, 6, [](ClusterSpec* s) { s->proxy.port = 1; }, 200, SpecPushOutcome::kStale, "", false,
       false},
      {"one member added", 5, 6, [](ClusterSpec* s) { s->nodes.push_back(Member("demo-3", "demo-3.demo-hl")); }, 200,
       SpecPushOutcome::kApplied, "", true, true},
      {"last member removed", 5, 6, [](ClusterSpec* s) { s->nodes.pop_back(); }, 200, SpecPushOutcome::kApplied, "",
       true, true},
      {"a weight", 5, 6, [](ClusterSpec* s) { s->nodes[2].weight = 0; }, 200, SpecPushOutcome::kApplied, "", true,
       true},
      {"a host", 5, 6, [](ClusterSpec* s) { s->nodes[1].host = "10.0.0.9"; }, 200, SpecPushOutcome::kApplied, "",
       true, true},
      {"two members added", 5, 6,
       [](ClusterSpec* s) {
         s->nodes.push_back(Member("demo-3", "h3"));
         s->nodes.push_back(Member("demo-4", "h4"));
       },
       200, SpecPushOutcome::kRestartRequired, "spec.nodes", true, false},
      {"a middle member removed", 5, 6, [](ClusterSpec* s) { s->nodes.erase(s->nodes.begin() + 1); }, 200,
       SpecPushOutcome::kRestartRequired, "spec.nodes", true, false},
      {"members renamed", 5, 6, [](ClusterSpec* s) { s->nodes[2].name = "x"; }, 200,
       SpecPushOutcome::kRestartRequired, "spec.nodes", true, false},
      {"proxy port", 5, 6, [](ClusterSpec* s) { s->proxy.port = 6432; }, 200, SpecPushOutcome::kRestartRequired,
       "spec.proxy.port", true, false},
      {"a member and the dead time", 5, 6,
       [](ClusterSpec* s) {
         s->nodes.push_back(Member("demo-3", "h3"));
         s->watchdog.deadTime = Millis(3000);
       },
       200, SpecPushOutcome::kRestartRequired, "spec.watchdog.deadTime", true, false},
      {"without this node", 5, 6, [](ClusterSpec* s) { s->nodes.erase(s->nodes.begin()); }, 409,
       SpecPushOutcome::kUnchanged, "spec.nodes", false, false},
  };
  for (const auto& c : cases) {
    NodeSpecPush p{3, c.generation, Spec(3)};
    c.change(&p.spec);
    SpecUpdateDecision d = DecideSpecUpdate(Spec(3), c.held, p, "demo-0");
    EXPECT_EQ(d.status, c.status) << c.what;
    if (c.status == 200) {
      EXPECT_EQ(d.reply.outcome, c.outcome) << c.what << ": " << d.reply.reason;
    }
    if (c.status == 409) {
      EXPECT_EQ(d.refusal, "not_a_member") << c.what;
    }
    EXPECT_EQ(d.reply.field, c.field) << c.what;
    EXPECT_EQ(d.persist, c.persist) << c.what;
    EXPECT_EQ(d.applyNodes, c.apply) << c.what;
    EXPECT_EQ(d.reply.generation, c.persist ? c.generation : c.held) << c.what;
    EXPECT_FALSE(d.reply.reason.empty()) << c.what;
  }
}

// What differs and what of it a sidecar takes into use live.
TEST(SpecUpdate, CompareSpecs) {
  struct Case {
    const char* what;
    std::function<void(ClusterSpec*)> change;  // of a 3-member spec with work_mem 4MB
    std::string other;
    bool nodes, nodesLive;
    std::vector<std::string> parameters;
    bool live;
  };
  using V = std::vector<std::string>;
  const std::vector<Case> cases = {
      {"nothing", [](ClusterSpec*) {}, "", false, false, V{}, true},
      {"a parameter changed", [](ClusterSpec* s) { s->postgres.parameters["work_mem"] = "8MB"; }, "", false, false,
       V{"work_mem"}, true},
      {"a restart-only parameter added",
       [](ClusterSpec* s) { s->postgres.parameters["max_connections"] = "200"; }, "", false, false,
       V{"max_connections"}, true},
      {"a parameter removed", [](ClusterSpec* s) { s->postgres.parameters.clear(); }, "", false, false,
       V{"work_mem"}, true},
      {"parameters and the last member",
       [](ClusterSpec* s) {
         s->postgres.parameters["work_mem"] = "8MB";
         s->postgres.parameters["log_min_duration_statement"] = "250ms";
         s->nodes.push_back(Member("demo-3", "h3"));
       },
       "", true, true, V{"log_min_duration_statement", "work_mem"}, true},
      {"parameters and two members",
       [](ClusterSpec* s) {
         s->postgres.parameters["work_mem"] = "8MB";
         s->nodes.push_back(Member("demo-3", "h3"));
         s->nodes.push_back(Member("demo-4", "h4"));
       },
       "", true, false, V{"work_mem"}, false},
      {"a parameter and the proxy port",
       [](ClusterSpec* s) {
         s->postgres.parameters["work_mem"] = "8MB";
         s->proxy.port = 6432;
       },
       "spec.proxy.port", false, false, V{"work_mem"}, false},
      {"the superuser's name", [](ClusterSpec* s) { s->postgres.superuser.name = "admin"; },
       "spec.postgres.superuser.name", false, false, V{}, false},
  };
  for (const auto& c : cases) {
    ClusterSpec running = Spec(3), pushed = Spec(3);
    running.postgres.parameters["work_mem"] = "4MB";
    pushed.postgres.parameters["work_mem"] = "4MB";
    c.change(&pushed);
    SpecChange got = CompareSpecs(running, pushed);
    EXPECT_EQ(got.other, c.other) << c.what;
    EXPECT_EQ(got.nodes, c.nodes) << c.what;
    EXPECT_EQ(got.nodesLive, c.nodesLive) << c.what;
    EXPECT_EQ(got.parameters, c.parameters) << c.what;
    EXPECT_EQ(got.live(), c.live) << c.what;
    EXPECT_EQ(got.any(), std::string(c.what) != "nothing") << c.what;
  }
}

// Decisions on parameter changes: applied live (pgvigil.conf and a reload), never
// restartRequired for them alone; with a change that cannot be live, nothing is.
TEST(SpecUpdate, ParameterDecisions) {
  struct Case {
    const char* what;
    std::function<void(ClusterSpec*)> change;
    SpecPushOutcome outcome;
    std::string field;
    bool applyNodes, applyParameters;
  };
  const std::vector<Case> cases = {
      {"work_mem", [](ClusterSpec* s) { s->postgres.parameters["work_mem"] = "8MB"; }, SpecPushOutcome::kApplied, "",
       false, true},
      {"max_connections (restart-only: PostgreSQL reports pending_restart)",
       [](ClusterSpec* s) { s->postgres.parameters["max_connections"] = "200"; }, SpecPushOutcome::kApplied, "", false,
       true},
      {"a parameter and the last member",
       [](ClusterSpec* s) {
         s->postgres.parameters["work_mem"] = "8MB";
         s->nodes.pop_back();
       },
       SpecPushOutcome::kApplied, "", true, true},
      {"a parameter and two members",
       [](ClusterSpec* s) {
         s->postgres.parameters["work_mem"] = "8MB";
         s->nodes.push_back(Member("demo-3", "h3"));
         s->nodes.push_back(Member("demo-4", "h4"));
       },
       SpecPushOutcome::kRestartRequired, "spec.nodes", false, false},
      {"a parameter and the dead time",
       [](ClusterSpec* s) {
         s->postgres.parameters["work_mem"] = "8MB";
         s->watchdog.deadTime = Millis(3000);
       },
       SpecPushOutcome::kRestartRequired, "spec.watchdog.deadTime", false, false},
  };
  for (const auto& c : cases) {
    NodeSpecPush p{3, 6, Spec(3)};
    c.change(&p.spec);
    SpecUpdateDecision d = DecideSpecUpdate(Spec(3), 5, p, "demo-0");
    EXPECT_EQ(d.status, 200) << c.what;
    EXPECT_EQ(d.reply.outcome, c.outcome) << c.what << ": " << d.reply.reason;
    EXPECT_EQ(d.reply.field, c.field) << c.what;
    EXPECT_TRUE(d.persist) << c.what;
    EXPECT_EQ(d.applyNodes, c.applyNodes) << c.what;
    EXPECT_EQ(d.applyParameters, c.applyParameters) << c.what;
    if (c.applyParameters) {
      EXPECT_NE(d.reply.reason.find("postgres.parameters"), std::string::npos) << d.reply.reason;
    }
  }
}

// What a push's parameters came to: a failed reload or a refused setting is
// `failed` with the generation held before; otherwise applied, naming what
// waits for a restart.
TEST(SpecUpdate, FinishParameterReply) {
  auto applied = [] {
    NodeSpecPushReply r;
    r.generation = 9;
    r.outcome = SpecPushOutcome::kApplied;
    r.reason = "generation 9: postgres.parameters work_mem changed: pgvigil.conf rewritten and PostgreSQL reloaded";
    return r;
  };
  NodeSpecPushReply r = applied();
  FinishParameterReply({"", {}, {"max_connections"}}, 7, &r);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kApplied);
  EXPECT_EQ(r.generation, 9u);
  EXPECT_EQ(r.pendingRestart, std::vector<std::string>{"max_connections"});
  EXPECT_NE(r.reason.find("waits for a restart to use max_connections"), std::string::npos) << r.reason;

  r = applied();
  FinishParameterReply({"", {{"work_mem", "value 'banana': setting could not be applied"}}, {}}, 7, &r);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kFailed);
  EXPECT_EQ(r.generation, 7u);
  EXPECT_EQ(r.field, "spec.postgres.parameters.work_mem");
  EXPECT_NE(r.reason.find("PostgreSQL refused work_mem: value 'banana'"), std::string::npos) << r.reason;
  EXPECT_EQ(r.reason.find("reloaded"), std::string::npos) << r.reason;

  r = applied();
  FinishParameterReply({"the server did not reload its configuration within 10 s", {}, {}}, 0, &r);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kFailed);
  EXPECT_EQ(r.generation, 0u);
  EXPECT_EQ(r.field, "spec.postgres.parameters");
  EXPECT_NE(r.reason.find("reload failed: the server did not reload"), std::string::npos) << r.reason;
}

TEST(SpecUpdate, OneMemberAtTheEnd) {
  EXPECT_TRUE(OneMemberAtTheEnd(Spec(3).nodes, Spec(4).nodes));
  EXPECT_TRUE(OneMemberAtTheEnd(Spec(5).nodes, Spec(4).nodes));
  EXPECT_TRUE(OneMemberAtTheEnd(Spec(1).nodes, Spec(2).nodes));
  EXPECT_FALSE(OneMemberAtTheEnd(Spec(3).nodes, Spec(3).nodes));
  EXPECT_FALSE(OneMemberAtTheEnd(Spec(3).nodes, Spec(5).nodes));
  NodeList shifted = Spec(4).nodes;
  shifted.erase(shifted.begin());
  EXPECT_FALSE(OneMemberAtTheEnd(Spec(4).nodes, shifted));
}

TEST(SpecUpdate, ChooseStartSpec) {
  const ClusterSpec file = Spec(3), stored = Spec(4);
  EXPECT_FALSE(ChooseStartSpec(file, 7, std::nullopt).fromStore);
  EXPECT_EQ(ChooseStartSpec(file, 7, StoredSpec{8, stored}).spec.nodes.size(), 4u);
  EXPECT_TRUE(ChooseStartSpec(file, 7, StoredSpec{8, stored}).fromStore);
  EXPECT_EQ(ChooseStartSpec(file, 7, StoredSpec{8, stored}).generation, 8u);
  EXPECT_FALSE(ChooseStartSpec(file, 8, StoredSpec{8, stored}).fromStore);  // a tie: the file
  EXPECT_FALSE(ChooseStartSpec(file, 9, StoredSpec{8, stored}).fromStore);
  EXPECT_TRUE(ChooseStartSpec(file, 0, StoredSpec{1, stored}).fromStore);  // a file without one
}

TEST(SpecUpdate, StoredCopyRoundTrip) {
  // A directory of this run's own: a fixed name was shared with the same test
  // run at the same time from another build tree, whose remove_all or bad
  // spec.json could land between this one's save and load.
  std::string tmpl = ::testing::TempDir() + "/spec_update_test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << tmpl;
  const std::string dir = tmpl;
  SpecParseOptions o;
  o.checkSecretFiles = false;
  auto none = LoadStoredSpec(dir, o);
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(SaveStoredSpec(dir, {77, Spec(4)}).ok());
  auto back = LoadStoredSpec(dir, o);
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->generation, 77u);
  EXPECT_EQ((*back)->spec, Spec(4));
  std::ofstream(StoredSpecPath(dir)) << "{\"generation\": 3}";
  auto bad = LoadStoredSpec(dir, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("spec.json"), std::string::npos) << bad.error();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pgvigil
