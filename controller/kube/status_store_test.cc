// The cluster state in the PostgresCluster status against kube-fake (the
// API-server test double, not Kubernetes): the term made durable by CAS, the
// state written beside other writers' fields, a write after someone else's
// change refused as a conflict (nothing written, nothing retried), a newer
// term deposing an older leader, and spec and generation untouched; every
// field of the state and the summary declared in the CRD's status schema with
// its type, and kept as written.
#include <gtest/gtest.h>

#include <functional>

#include "controller/kube/kube_fake_env.h"
#include "controller/kube/kube_plan.h"
#include "controller/kube/kube_test_util.h"
#include "controller/kube/status_store.h"

namespace pgvigil::kube {
namespace {

using web::json::value;

class StatusStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.ok()) << env_.error();
    client_ = env_.Client();
    value cr = value::parse(R"({"apiVersion":"pgvigil.io/v1alpha1","kind":"PostgresCluster",
      "metadata":{"name":"demo","namespace":"db"},"spec":{"instances":3,"storage":{"size":"1Gi"}}})");
    auto r = client_->Create(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db"), cr);
    ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->Describe() : r.error());
  }
  value Get() {
    auto r = client_->Get(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo"));
    EXPECT_TRUE(r.ok() && r->ok());
    return r.ok() ? r->body : value::null();
  }
  std::string Rv() { return Get().at("metadata").at("resourceVersion").as_string(); }
  static plan::ClusterState State(uint64_t version, const std::string& primary) {
    plan::ClusterState s;
    s.version = version;
    s.primary = s.routedPrimary = primary;
    s.routingGeneration = version;
    s.routedStandbys = {"demo-1", "demo-2"};
    s.fenced = {"demo-9"};
    return s;
  }

  testing_util::KubeFakeEnv env_;
  std::unique_ptr<KubeClient> client_;
};

TEST_F(StatusStoreTest, TheTermIsMadeDurableOnceAndTheStateWrittenUnderIt) {
  StatusStore store(client_.get(), "db", "demo");
  TermOutcome t = store.MakeTermDurable(3);
  ASSERT_EQ(t.code, TermOutcome::Code::kDurable) << t.detail;
  EXPECT_EQ(Get().at("status").at("term").as_number().to_uint64(), 3u);
  const std::string rv = Rv();
  EXPECT_EQ(store.MakeTermDurable(3).code, TermOutcome::Code::kDurable);
  EXPECT_EQ(Rv(), rv) << "an already durable term is not written again";

  auto saved = store.Save(State(1, "demo-0"), 3);
  ASSERT_TRUE(saved.ok()) << saved.error();
  value cr = Get();
  EXPECT_EQ(cr.at("status").at("currentPrimary").as_string(), "demo-0");
  EXPECT_EQ(cr.at("status").at("stateVersion").as_number().to_uint64(), 1u);
  EXPECT_EQ(cr.at("status").at("fenced").at(0).as_string(), "demo-9");
  EXPECT_EQ(cr.at("spec").at("instances").as_integer(), 3);
  EXPECT_EQ(cr.at("metadata").at("generation").as_integer(), 1) << "status writes do not move generation";
  // A second controller (or a restart) reads the same state back.
  StatusStore other(client_.get(), "db", "demo");
  auto loaded = other.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_TRUE(*loaded == State(1, "demo-0"));
  // Consecutive writes: each reply is the base of the next CAS.
  ASSERT_TRUE(store.Save(State(2, "demo-0"), 3).ok());
  ASSERT_TRUE(store.Save(State(3, "demo-1"), 3).ok());
  EXPECT_EQ(Get().at("status").at("stateVersion").as_number().to_uint64(), 3u);
}

TEST_F(StatusStoreTest, AWriteAfterSomeoneElsesChangeIsAConflictAndNothingIsRetried) {
  StatusStore store(client_.get(), "db", "demo");
  ASSERT_EQ(store.MakeTermDurable(4).code, TermOutcome::Code::kDurable);
  ASSERT_TRUE(store.Save(State(1, "demo-0"), 4).ok());
  // Another writer changes the status (the cosmetic merge patch of §7 #5).
  auto p = client_->MergePatch(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo", "status"),
                               value::parse(R"({"status":{"phase":"Degraded"}})"));
  ASSERT_TRUE(p.ok() && p->ok());
  const std::string rv = Rv();
  auto saved = store.Save(State(2, "demo-1"), 4);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error().find("conflict:"), std::string::npos) << saved.error();
  EXPECT_EQ(Rv(), rv) << "a lost CAS writes nothing and is not retried";
  EXPECT_EQ(Get().at("status").at("stateVersion").as_number().to_uint64(), 1u);
  // The store re-read: the next round's write (after re-planning) goes through
  // and keeps the other writer's field.
  ASSERT_TRUE(store.Save(State(2, "demo-1"), 4).ok());
  value status = Get().at("status");
  EXPECT_EQ(status.at("phase").as_string(), "Degraded");
  EXPECT_EQ(status.at("currentPrimary").as_string(), "demo-1");
}

TEST_F(StatusStoreTest, ANewerTermDeposesTheOlderLeader) {
  StatusStore old_leader(client_.get(), "db", "demo"), new_leader(client_.get(), "db", "demo");
  ASSERT_EQ(old_leader.MakeTermDurable(5).code, TermOutcome::Code::kDurable);
  ASSERT_TRUE(old_leader.Save(State(1, "demo-0"), 5).ok());
  // The Lease was taken over: the new leader makes epoch 6 durable.
  ASSERT_EQ(new_leader.MakeTermDurable(6).code, TermOutcome::Code::kDurable);
  // The old leader's write, based on its older read, fails; it learns why.
  auto saved = old_leader.Save(State(2, "demo-2"), 5);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error().find("deposed: status.term 6"), std::string::npos) << saved.error();
  EXPECT_EQ(old_leader.highestTerm(), 6u);
  EXPECT_EQ(Get().at("status").at("currentPrimary").as_string(), "demo-0");
  // Trying to make its term durable again says deposed, without writing.
  const std::string rv = Rv();
  TermOutcome t = old_leader.MakeTermDurable(5);
  EXPECT_EQ(t.code, TermOutcome::Code::kDeposed);
  EXPECT_EQ(t.statusTerm, 6u);
  EXPECT_EQ(Rv(), rv);
  // Nor may a leader write under a term that is not yet durable.
  auto early = new_leader.Save(State(2, "demo-0"), 7);
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().find("not durable"), std::string::npos) << early.error();
  // The new leader finishes from the recorded state.
  auto loaded = new_leader.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(*loaded == State(1, "demo-0"));
  ASSERT_TRUE(new_leader.Save(State(2, "demo-1"), 6).ok());
}

TEST_F(StatusStoreTest, AStatusOfAnotherFormatIsRefusedNotHalfRead) {
  auto p = client_->MergePatch(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo", "status"),
                               value::parse(R"({"status":{"term":2,"stateFormat":9,"currentPrimary":"demo-0"}})"));
  ASSERT_TRUE(p.ok() && p->ok()) << (p.ok() ? p->Describe() : p.error());
  StatusStore store(client_.get(), "db", "demo");
  auto loaded = store.Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error(), "status.stateFormat: 9 is not the supported 1");
  ASSERT_EQ(store.MakeTermDurable(2).code, TermOutcome::Code::kDurable);
  auto saved = store.Save(State(1, "demo-0"), 2);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error().find("unreadable"), std::string::npos) << saved.error();
}

TEST_F(StatusStoreTest, TheSummaryRidesOnStateWritesAndIsFlushedOnlyWhenItChanged) {
  StatusStore store(client_.get(), "db", "demo");
  ASSERT_EQ(store.MakeTermDurable(2).code, TermOutcome::Code::kDurable);
  store.SetSummary([](value* s) { (*s)["phase"] = value::string("Creating"); }, "creating");
  ASSERT_TRUE(store.Save(State(1, "demo-0"), 2).ok());  // one write carries both
  value status = Get().at("status");
  EXPECT_EQ(status.at("phase").as_string(), "Creating");
  EXPECT_EQ(status.at("stateVersion").as_number().to_uint64(), 1u);
  const std::string rv = Rv();
  auto same = store.FlushSummary(2);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, "summary unchanged");
  EXPECT_EQ(Rv(), rv);
  store.SetSummary([](value* s) { (*s)["phase"] = value::string("Healthy"); }, "healthy");
  ASSERT_TRUE(store.FlushSummary(2).ok());
  status = Get().at("status");
  EXPECT_EQ(status.at("phase").as_string(), "Healthy");
  EXPECT_EQ(status.at("stateVersion").as_number().to_uint64(), 1u) << "the state as it was";
  // Not under a term that is not durable.
  store.SetSummary([](value* s) { (*s)["phase"] = value::string("Degraded"); }, "degraded");
  EXPECT_FALSE(store.FlushSummary(3).ok());
  EXPECT_EQ(Get().at("status").at("phase").as_string(), "Healthy");
}

// What issue 11 asks of the status (phase, currentPrimary, targetPrimary,
// instancesStatus, conditions) and every state field: declared in the CRD's
// status schema with the type written (so neither pruning nor the schema's
// 422 depends on x-kubernetes-preserve-unknown-fields), taken by kube-fake's
// schema check, and read back as written.
TEST_F(StatusStoreTest, EveryStatusFieldIsDeclaredInTheCrdAndKeptAsWritten) {
  StatusStore store(client_.get(), "db", "demo");
  ASSERT_EQ(store.MakeTermDurable(4).code, TermOutcome::Code::kDurable);
  plan::ClusterState s = State(7, "demo-0");
  s.timeline = 3;
  s.routedWeights = {1, 2};
  s.synchronousStandbys = {"demo-1"};
  s.synchronousCount = 1;
  s.syncShrinkLsn = 0x5000000;
  s.detached = {"demo-2"};
  s.switchoverBackoffUntil = 123456;
  s.transition.kind = plan::TransitionKind::kFailover;
  s.transition.from = "demo-0";
  s.transition.to = "demo-1";
  s.transition.step = plan::TransitionStep::kFencing;
  s.transition.startedAt = 99;
  s.transition.stopLsn = 0x4000000;
  store.SetSummary(
      [](value* st) {
        StatusInputs in;
        in.generation = 2;
        in.instances = 3;
        in.readyInstances = 1;
        in.now = "2026-12-05T23:00:00Z";
        StatusSummary sum = SummarizeStatus(in);
        (*st)["phase"] = value::string(sum.phase);
        (*st)["phaseReason"] = value::string(sum.phaseReason);
        (*st)["conditions"] = sum.ConditionsJson();
        (*st)["observedGeneration"] = value::number(2);
        (*st)["acceptedGeneration"] = value::number(2);
        (*st)["instances"] = value::number(3);
        (*st)["readyInstances"] = value::number(1);
        (*st)["selector"] = value::string("pgvigil.io/cluster=demo");
        (*st)["instancesStatus"] = InstancesStatusJson({"demo-0", "demo-1", "demo-2"}, {"demo-1"}, {"demo-0"});
      },
      "full");
  auto saved = store.Save(s, 4);
  ASSERT_TRUE(saved.ok()) << saved.error();
  const value status = Get().at("status");
  EXPECT_EQ(status.at("targetPrimary").as_string(), "demo-1");
  EXPECT_EQ(status.at("instancesStatus").at("rebuilding").at(0).as_string(), "demo-0");
  EXPECT_EQ(status.at("transition").at("step").as_string(), "Fencing");

  const YAML::Node schema = testing_util::CrdSchema()["properties"]["status"]["properties"];
  auto type_of = [](const value& v) -> std::string {
    if (v.is_string()) return "string";
    if (v.is_integer()) return "integer";
    if (v.is_array()) return "array";
    if (v.is_object()) return "object";
    if (v.is_boolean()) return "boolean";
    return "number";
  };
  std::function<void(const value&, const YAML::Node&, const std::string&)> declared =
      [&](const value& obj, const YAML::Node& props, const std::string& path) {
        for (const auto& [k, v] : obj.as_object()) {
          const std::string field = path + "." + k;
          YAML::Node p = props[k];
          ASSERT_TRUE(p) << field << " is not in the CRD's status schema";
          EXPECT_EQ(p["type"].Scalar(), type_of(v)) << field;
          if (v.is_object() && p["properties"]) declared(v, p["properties"], field);
        }
      };
  declared(status, schema, "status");
  for (const char* f : {"phase", "currentPrimary", "targetPrimary", "instancesStatus", "conditions", "term",
                        "stateVersion", "transition", "fenced", "routedStandbys"})
    EXPECT_TRUE(status.has_field(f)) << f;
  // Read back equal by a second store.
  StatusStore other(client_.get(), "db", "demo");
  auto loaded = other.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_TRUE(*loaded == s);
}

TEST_F(StatusStoreTest, AMissingClusterIsAnErrorNamingIt) {
  StatusStore store(client_.get(), "db", "nosuch");
  auto loaded = store.Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find("PostgresCluster db/nosuch"), std::string::npos) << loaded.error();
  EXPECT_EQ(store.MakeTermDurable(1).code, TermOutcome::Code::kFailed);
}

}  // namespace
}  // namespace pgvigil::kube
