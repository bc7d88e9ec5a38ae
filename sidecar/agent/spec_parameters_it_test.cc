// PUT /v1/node/spec changing postgres.parameters, against a real PostgreSQL 15
// primary and its agent over REST (KUBERNETES.md §3, §4.3): a reloadable
// setting is in force when the reply comes, a restart-only one leaves
// PostgreSQL running and is reported pending a restart (in the reply and in
// GET /v1/status, which the controller's rolling restart reads), and a push
// that also changes something else applies nothing live.
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/node_spec_push.h"
#include "sidecar/agent/agent_test_env.h"
#include "sidecar/agent/refused_parameters.h"
#include "sidecar/agent/spec_update.h"
#include "sidecar/agent/start_parameter_check.h"

namespace pgvigil::testing {
namespace {

class SpecParametersIT : public ::testing::Test {
 protected:
  void SetUp() override {
    PgTestCluster::Options o;
    o.nodes = 1;
    o.standbys = false;
    auto e = AgentTestEnv::Create(o, {0});
    ASSERT_TRUE(e.ok()) << e.error();
    env_ = std::move(*e);
  }
  std::string Sql(const std::string& q) {
    auto v = env_->cluster().Query(0, q);
    return v.ok() ? *v : "error: " + v.error();
  }
  NodeSpecPushReply Push(const ClusterSpec& spec, uint64_t generation) {
    HttpReply r = env_->Put(0, "/v1/node/spec", EncodeSpecPush({1, generation, spec}).serialize(), env_->token());
    EXPECT_EQ(r.status, 200) << r.body;
    auto reply = DecodeSpecPushReply(r.json());
    EXPECT_TRUE(reply.ok()) << r.body;
    return reply.ok() ? *reply : NodeSpecPushReply{};
  }
  web::json::value StatusPending() {
    web::json::value s = env_->Get(0, "/v1/status").json();
    return s.at("postgres").at("parameters").at("pendingRestart");
  }

  web::json::value StatusErrors() {
    web::json::value s = env_->Get(0, "/v1/status").json();
    return s.at("postgres").at("parameters").at("errors");
  }

  std::unique_ptr<AgentTestEnv> env_;
};

TEST_F(SpecParametersIT, ReloadableIsLiveRestartOnlyIsPendingOtherChangesWaitForAStart) {
  const std::string started = Sql("SELECT pg_postmaster_start_time()::text");
  ClusterSpec spec = env_->ctx(0).spec;

  // work_mem: in force when the reply comes, without a restart.
  spec.postgres.parameters["work_mem"] = "4321kB";
  NodeSpecPushReply r = Push(spec, 1);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kApplied) << r.reason;
  EXPECT_FALSE(r.restartRequired());
  EXPECT_TRUE(r.pendingRestart.empty()) << r.reason;
  EXPECT_NE(r.reason.find("work_mem"), std::string::npos) << r.reason;
  EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");
  EXPECT_EQ(StatusPending().size(), 0u);

  // max_connections up: PostgreSQL keeps running with the old value and says
  // it waits for a restart; the sidecar says so too, not restartRequired.
  const int before = std::stoi(Sql("SHOW max_connections"));
  spec.postgres.parameters["max_connections"] = std::to_string(before + 7);
  r = Push(spec, 2);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kApplied) << r.reason;
  EXPECT_FALSE(r.restartRequired());
  EXPECT_EQ(r.pendingRestart, std::vector<std::string>{"max_connections"}) << r.reason;
  EXPECT_EQ(Sql("SHOW max_connections"), std::to_string(before));
  EXPECT_EQ(Sql("SELECT pg_postmaster_start_time()::text"), started);
  EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");
  web::json::value pending = StatusPending();
  ASSERT_EQ(pending.size(), 1u) << pending.serialize();
  EXPECT_EQ(pending.at(0).as_string(), "max_connections");

  // The same generation again: stale, nothing happens.
  EXPECT_EQ(Push(spec, 2).outcome, SpecPushOutcome::kStale);

  // A parameter together with something that needs a start: nothing is live,
  // the running parameters stay.
  ClusterSpec other = spec;
  other.postgres.parameters["work_mem"] = "8MB";
  other.healthCheck.period = Millis(300);
  r = Push(other, 3);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kRestartRequired) << r.reason;
  EXPECT_EQ(r.field, "spec.healthCheck.period");
  EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");

  // The stored copy (what the next start takes) is the newest push.
  SpecParseOptions po;
  po.checkSecretFiles = false;
  auto stored = LoadStoredSpec(env_->ctx(0).stateDir, po);
  ASSERT_TRUE(stored.ok() && stored->has_value()) << (stored.ok() ? "none" : stored.error());
  EXPECT_EQ((*stored)->generation, 3u);
  EXPECT_EQ((*stored)->spec.postgres.parameters.at("max_connections"), std::to_string(before + 7));

  // After a restart the value is in force and nothing is pending (what the
  // controller's rolling restart of the pod does).
  ASSERT_TRUE(env_->cluster().StopNode(0).ok());
  Status s = env_->cluster().StartNode(0);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Sql("SHOW max_connections"), std::to_string(before + 7));
  // The next accepted push with parameters looks again: work_mem back, nothing pending.
  spec.postgres.parameters["work_mem"] = "5MB";
  r = Push(spec, 4);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kApplied) << r.reason;
  EXPECT_TRUE(r.pendingRestart.empty()) << r.reason;
  EXPECT_EQ(Sql("SHOW work_mem"), "5MB");
  EXPECT_EQ(StatusPending().size(), 0u);
}

// A value PostgreSQL refuses at reload: the push is reported failed (naming
// the setting and PostgreSQL's words), pgvigil.conf and the server keep the
// previous settings, and the generation is not taken, so the same push sent
// again is tried again rather than answered `stale`.
TEST_F(SpecParametersIT, ARefusedSettingIsReportedFailedPutBackAndTriedAgain) {
  ClusterSpec spec = env_->ctx(0).spec;
  spec.postgres.parameters["work_mem"] = "4321kB";
  ASSERT_EQ(Push(spec, 1).outcome, SpecPushOutcome::kApplied);
  EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");

  ClusterSpec bad = spec;
  bad.postgres.parameters["work_mem"] = "banana";
  NodeSpecPushReply r = Push(bad, 2);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kFailed) << r.reason;
  EXPECT_EQ(r.field, "spec.postgres.parameters.work_mem") << r.reason;
  EXPECT_NE(r.reason.find("banana"), std::string::npos) << r.reason;
  EXPECT_EQ(r.generation, 1u) << r.reason;
  EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");
  const std::string file = env_->ctx(0).spec.DataDir(env_->ctx(0).self()) + "/pgvigil.conf";
  auto text = ReadFile(file);
  ASSERT_TRUE(text.ok()) << text.error();
  EXPECT_EQ(text->find("banana"), std::string::npos) << *text;
  EXPECT_EQ(StatusErrors().size(), 0u) << StatusErrors().serialize();

  // Sent again (the controller's retry): tried again, not stale.
  r = Push(bad, 2);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kFailed) << r.reason;

  // Fixed in a newer generation: applied.
  bad.postgres.parameters["work_mem"] = "5MB";
  r = Push(bad, 3);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kApplied) << r.reason;
  EXPECT_EQ(Sql("SHOW work_mem"), "5MB");
}

// A value neither pg_settings nor a session can try (log_timezone, set only
// from the file, naming a zone that does not exist) is refused at reload. The stored spec copy goes back
// to the settings that took, and the refused value is remembered, so a
// restarted sidecar, started from its stored copy or from a spec file (the
// pod's NAME-config) that still carries the value, writes the settings that
// took and PostgreSQL, restarted, starts and serves with them; the same push
// sent again after the restart is tried again, not answered `stale`.
TEST_F(SpecParametersIT, ARefusedValueIsNotWhatARestartedServerStartsWith) {
  const ClusterSpec original = env_->ctx(0).spec;
  const std::string state_dir = env_->ctx(0).stateDir;
  ClusterSpec good = original;
  good.postgres.parameters["work_mem"] = "4321kB";
  ASSERT_EQ(Push(good, 1).outcome, SpecPushOutcome::kApplied);
  ClusterSpec bad = good;
  bad.postgres.parameters["work_mem"] = "5432kB";
  bad.postgres.parameters["log_timezone"] = "Mars/Olympus";
  NodeSpecPushReply r = Push(bad, 2);
  ASSERT_EQ(r.outcome, SpecPushOutcome::kFailed) << r.reason;
  EXPECT_EQ(r.field, "spec.postgres.parameters.log_timezone") << r.reason;
  auto stored = LoadStoredSpec(state_dir);
  ASSERT_TRUE(stored.ok() && *stored) << (stored.ok() ? "none" : stored.error());
  EXPECT_EQ((*stored)->generation, 1u);
  EXPECT_EQ((*stored)->spec.postgres.parameters, good.postgres.parameters);

  // The sidecar restarts from its stored copy, then PostgreSQL restarts.
  auto restart = [&](const ClusterSpec& file, uint64_t file_generation) {
    ASSERT_TRUE(env_->RestartAgent(0, file, file_generation).ok());
    // Its start writes pgvigil.conf (off the start path): wait for that.
    ASSERT_TRUE(AgentTestEnv::WaitFor([&] {
      web::json::value s = env_->Get(0, "/v1/status").json();
      return s.is_object() && s.has_object_field("postgres") &&
             !s.at("postgres").at("parameters").at("lastApplied").as_string().empty();
    }, 20000));
    ASSERT_TRUE(env_->cluster().StopNode(0).ok());
    Status started = env_->cluster().StartNode(0);
    ASSERT_TRUE(started.ok()) << started.message();
    EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");
    EXPECT_NE(Sql("SHOW log_timezone"), "Mars/Olympus");
    r = Push(bad, 2);  // the controller's retry
    EXPECT_EQ(r.outcome, SpecPushOutcome::kFailed) << r.reason;
    EXPECT_EQ(r.generation, 1u) << r.reason;
    EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");
  };
  restart(original, 0);
  // The spec file the pod reads holds the refused value, at the push's generation.
  restart(bad, 2);

  // Fixed in a newer generation: applied, and nothing is set aside any more.
  bad.postgres.parameters["log_timezone"] = "UTC";
  r = Push(bad, 3);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kApplied) << r.reason;
  EXPECT_EQ(Sql("SHOW work_mem"), "5432kB");
  auto refused = LoadRefusedParameters(state_dir);
  ASSERT_TRUE(refused.ok()) << refused.error();
  EXPECT_FALSE(refused->has_value());
}

// Values PostgreSQL would refuse by its pg_settings (an unknown name, a unit
// it does not know, a value out of range) or, for a string a session may set,
// by its check hook, are refused before anything is
// stored or applied; "check": true asks the same without applying anything.
TEST_F(SpecParametersIT, ValuesPgSettingsRefusesAreRefusedBeforeAnythingIsStored) {
  const std::string state_dir = env_->ctx(0).stateDir;
  ClusterSpec good = env_->ctx(0).spec;
  good.postgres.parameters["work_mem"] = "4321kB";
  ASSERT_EQ(Push(good, 1).outcome, SpecPushOutcome::kApplied);
  const std::string file = env_->ctx(0).spec.DataDir(env_->ctx(0).self()) + "/pgvigil.conf";
  const auto conf_before = ReadFile(file);
  ASSERT_TRUE(conf_before.ok());
  struct Case {
    const char* name;
    const char* value;
    const char* why;
  } cases[] = {{"shared_buffers", "12XB", "invalid unit 'XB'"},
               {"work_mem", "-1", "outside the valid range 64..2147483647"},
               {"shared_bufers", "1GB", "unrecognized configuration parameter"},
               {"jit", "maybe", "not a boolean"},
               {"log_statement", "everything", "not one of none, ddl, mod, all"},
               // A string the server's check hook refuses, tried in a session.
               {"TimeZone", "Mars/Olympus", "invalid value for parameter \"TimeZone\""}};
  uint64_t generation = 2;
  for (const Case& c : cases) {
    ClusterSpec bad = good;
    bad.postgres.parameters[c.name] = c.value;
    NodeSpecPush check{1, generation, bad};
    check.check = true;
    HttpReply h = env_->Put(0, "/v1/node/spec", EncodeSpecPush(check).serialize(), env_->token());
    ASSERT_EQ(h.status, 200) << h.body;
    auto checked = DecodeSpecPushReply(h.json());
    ASSERT_TRUE(checked.ok()) << h.body;
    EXPECT_EQ(checked->outcome, SpecPushOutcome::kFailed) << c.name << ": " << h.body;
    NodeSpecPushReply r = Push(bad, generation++);
    EXPECT_EQ(r.outcome, SpecPushOutcome::kFailed) << c.name << ": " << r.reason;
    EXPECT_EQ(r.field, std::string("spec.postgres.parameters.") + c.name) << r.reason;
    EXPECT_NE(r.reason.find(c.why), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find(c.value), std::string::npos) << r.reason;
    EXPECT_EQ(r.generation, 1u) << r.reason;
    auto stored = LoadStoredSpec(state_dir);
    ASSERT_TRUE(stored.ok() && *stored);
    EXPECT_EQ((*stored)->generation, 1u) << c.name;
    auto conf = ReadFile(file);
    EXPECT_TRUE(conf.ok() && *conf == *conf_before) << c.name;
  }
  EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");
  // A good set, checked only: would be taken, nothing applied.
  ClusterSpec next = good;
  next.postgres.parameters["work_mem"] = "8MB";
  next.postgres.parameters["jit"] = "off";
  NodeSpecPush check{1, generation, next};
  check.check = true;
  HttpReply h = env_->Put(0, "/v1/node/spec", EncodeSpecPush(check).serialize(), env_->token());
  auto checked = DecodeSpecPushReply(h.json());
  ASSERT_TRUE(checked.ok()) << h.body;
  EXPECT_EQ(checked->outcome, SpecPushOutcome::kApplied) << h.body;
  EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");
  EXPECT_EQ(Push(next, generation).outcome, SpecPushOutcome::kApplied);
  EXPECT_EQ(Sql("SHOW work_mem"), "8MB");
}

// The spec a sidecar starts from (VMs: /etc/pgvigil/cluster.yaml, edited by
// hand or applied while no sidecar could check it) holds values PostgreSQL
// would not start with, and no push ever failed on them (no refused record).
// The sidecar sets them aside at start: pgvigil.conf never holds them, and
// PostgreSQL, restarted, starts with the other settings.
TEST_F(SpecParametersIT, AValuePostgresWouldNotStartWithIsSetAsideAtStart) {
  ClusterSpec file = env_->ctx(0).spec;
  file.postgres.parameters["work_mem"] = "4321kB";
  file.postgres.parameters["shared_buffers"] = "12XB";
  file.postgres.parameters["maintenance_work_mem"] = "lots";
  ASSERT_TRUE(env_->RestartAgent(0, file, 0).ok());
  EXPECT_EQ(env_->ctx(0).spec.postgres.parameters, (std::map<std::string, std::string>{{"work_mem", "4321kB"}}));
  // Its start writes pgvigil.conf (off the start path): wait for that.
  ASSERT_TRUE(AgentTestEnv::WaitFor([&] {
    web::json::value s = env_->Get(0, "/v1/status").json();
    return s.is_object() && s.has_object_field("postgres") &&
           !s.at("postgres").at("parameters").at("lastApplied").as_string().empty();
  }, 20000));
  const std::string conf_path = env_->ctx(0).spec.DataDir(env_->ctx(0).self()) + "/pgvigil.conf";
  auto conf = ReadFile(conf_path);
  ASSERT_TRUE(conf.ok()) << conf.error();
  EXPECT_NE(conf->find("work_mem = '4321kB'"), std::string::npos) << *conf;
  EXPECT_EQ(conf->find("12XB"), std::string::npos) << *conf;
  EXPECT_EQ(conf->find("lots"), std::string::npos) << *conf;
  EXPECT_EQ(StatusErrors().size(), 0u) << StatusErrors().serialize();
  // The sidecar's status says what was left out, with the value and why.
  web::json::value aside = env_->Get(0, "/v1/status").json().at("postgres").at("parameters").at("setAside");
  ASSERT_EQ(aside.size(), 2u) << aside.serialize();
  EXPECT_EQ(aside.at(0).at("name").as_string(), "maintenance_work_mem") << aside.serialize();
  EXPECT_EQ(aside.at(0).at("value").as_string(), "lots") << aside.serialize();
  EXPECT_EQ(aside.at(1).at("name").as_string(), "shared_buffers") << aside.serialize();
  EXPECT_NE(aside.at(1).at("reason").as_string().find("would not start"), std::string::npos) << aside.serialize();
  ASSERT_TRUE(env_->cluster().StopNode(0).ok());
  Status started = env_->cluster().StartNode(0);
  ASSERT_TRUE(started.ok()) << started.message();
  EXPECT_EQ(Sql("SHOW work_mem"), "4321kB");
  EXPECT_NE(Sql("SHOW maintenance_work_mem"), "lots");
  // A pushed spec whose parameters take: what the start left out is no longer shown.
  ClusterSpec fixed = env_->ctx(0).spec;
  fixed.postgres.parameters["maintenance_work_mem"] = "96MB";
  NodeSpecPushReply r = Push(fixed, 1);
  EXPECT_EQ(r.outcome, SpecPushOutcome::kApplied) << r.reason;
  EXPECT_EQ(Sql("SHOW maintenance_work_mem"), "96MB");
  aside = env_->Get(0, "/v1/status").json().at("postgres").at("parameters").at("setAside");
  EXPECT_EQ(aside.size(), 0u) << aside.serialize();
}

// PostgreSQL's own reading of a configuration file, without a server: what
// it refuses is named with its words; what it takes passes (units, enum
// spellings pg_settings does not list, an extension's placeholder).
TEST_F(SpecParametersIT, PostgresReadsTheSettingsWithoutAServer) {
  const LocalNode node = LocalNode::From(env_->ctx(0).spec, env_->ctx(0).nodeName, env_->ctx(0).stateDir);
  auto none = CheckParametersWithPostgres(node, {{"work_mem", "64MB"},
                                                 {"log_min_messages", "debug"},
                                                 {"synchronous_commit", "yes"},
                                                 {"auto_explain.log_min_duration", "250ms"},
                                                 {"TimeZone", "Europe/Helsinki"},
                                                 {"shared_buffers", "256MB"}});
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->empty()) << DescribeProblems(*none);
  auto some = CheckParametersWithPostgres(node, {{"work_mem", "lots"},
                                                 {"shared_bufers", "1GB"},
                                                 {"TimeZone", "Mars/Olympus"},
                                                 {"jit", "maybe"},
                                                 {"max_connections", "100"}});
  ASSERT_TRUE(some.ok()) << some.error();
  ASSERT_EQ(some->size(), 4u) << DescribeProblems(*some);
  const char* expected[][2] = {{"TimeZone", "invalid value for parameter \"TimeZone\": \"Mars/Olympus\""},
                               {"jit", "parameter \"jit\" requires a Boolean value"},
                               {"shared_bufers", "unrecognized configuration parameter \"shared_bufers\""},
                               {"work_mem", "invalid value for parameter \"work_mem\": \"lots\""}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*some)[i].name, expected[i][0]);
    EXPECT_NE((*some)[i].reason.find(expected[i][1]), std::string::npos) << (*some)[i].reason;
  }
  LocalNode nowhere = node;
  nowhere.binDir = "/nonexistent/pgvigil/bin";
  EXPECT_FALSE(CheckParametersWithPostgres(nowhere, {{"work_mem", "64MB"}}).ok());
}

}  // namespace
}  // namespace pgvigil::testing
