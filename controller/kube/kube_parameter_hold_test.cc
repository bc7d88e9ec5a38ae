// A custom resource whose postgres.parameters PostgreSQL would refuse changes
// nothing in the running cluster (KUBERNETES.md §3, parameter_gate.h), also
// when the same generation changes spec.instances, and also across a
// controller restart (spec_in_force.h): the KubeController (in
// this process) against kube-fake (the API-server test double, not
// Kubernetes), over a real PostgreSQL 15 cluster (node 0 primary, two
// streaming standbys) with a real pgvigil-sidecar per instance. The
// instances' DNS names do not resolve here, so the controller's seam
// `adjustResource` points demo-0..2 at those sidecars (their own spec: the
// test's ports and files) and keeps the resource's parameters and membership.
#include "common/files.h"
#include "common/spec_parser.h"
#include "common/testing/pg_cluster.h"
#include "controller/kube/kube_inprocess_fixture.h"
#include "controller/testing/child_process.h"

namespace pgvigil::kube {
namespace {

using std::chrono::milliseconds;
using web::json::value;

constexpr const char* kToken = "hold-test-token";

class KubeParameterHoldTest : public KubeInProcessTest {
 protected:
  void SetUp() override {
    auto c = testing::PgTestCluster::Create();
    ASSERT_TRUE(c.ok()) << c.error();
    pg_ = std::move(c.value());
    // The standbys stream under the instance names (application_name), as the
    // controller matches pg_stat_replication rows to instances.
    for (int i = 1; i < 3; ++i) {
      auto conninfo = pg_->Query(i, "SHOW primary_conninfo");
      ASSERT_TRUE(conninfo.ok()) << conninfo.error();
      std::string ci = *conninfo;
      const std::string from = "application_name=node" + std::to_string(i);
      ASSERT_NE(ci.find(from), std::string::npos) << ci;
      ci.replace(ci.find(from), from.size(), "application_name=demo-" + std::to_string(i));
      std::string quoted;
      for (char ch : ci) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
      auto set = pg_->Query(i, "ALTER SYSTEM SET primary_conninfo = '" + quoted + "'");
      ASSERT_TRUE(set.ok()) << set.error();
      auto reload = pg_->Query(i, "SELECT pg_reload_conf()");
      ASSERT_TRUE(reload.ok()) << reload.error();
    }
    ASSERT_TRUE(WaitFor(
        [&] {
          auto r = pg_->Query(0, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND "
                                 "application_name IN ('demo-1', 'demo-2')");
          return r.ok() && *r == "2";
        },
        milliseconds(30000)));
    // Every port free at the start: ctest runs this binary's tests side by
    // side, and a fixed port block had one test's controller reach the other
    // test's sidecars (their PostgreSQL ports differ, so routing was refused).
    spec_ = pg_->MakeSpecOnFreePorts();
    spec_.primary = "";
    for (size_t i = 0; i < spec_.nodes.size(); ++i) spec_.nodes[i].name = "demo-" + std::to_string(i);
    spec_.api.tokenFile = pg_->dir() + "/secrets/api.token";
    ASSERT_TRUE(WriteFileAtomic(spec_.api.tokenFile, std::string(kToken) + "\n", 0600).ok());
    spec_.proxy.auth.passwordFile = pg_->dir() + "/secrets/pool_passwd";
    ASSERT_TRUE(
        WriteFileAtomic(spec_.proxy.auth.passwordFile, "postgres:TEXT" + pg_->superPassword() + "\n", 0600).ok());
    const std::string spec_path = pg_->dir() + "/cluster.yaml";
    ASSERT_TRUE(WriteFileAtomic(spec_path, SpecToYaml(spec_), 0644).ok());
    for (const auto& n : spec_.nodes) {
      std::string err;
      sidecars_.push_back(std::make_unique<testing::ChildProcess>());
      ASSERT_TRUE(sidecars_.back()->Start({PGVIGIL_SIDECAR_BIN, "-f", spec_path, "--node", n.name, "--state-dir",
                                           pg_->dir() + "/state-" + n.name, "--no-watchdog", "--log-level", "debug"},
                                          pg_->dir() + "/sidecar-" + n.name + ".log", &err))
          << err;
    }
    CreateCluster(pg_->superPassword(), kToken);
    // demo-0..2 are this test's sidecars, with their own spec; the resource's
    // parameters and membership (demo-3 and up stay unresolvable) are kept.
    const ClusterSpec vm = spec_;
    StartController([vm](ClusterResource* r) {
      ClusterSpec s = vm;
      s.postgres.parameters = r->spec.postgres.parameters;
      s.nodes.clear();
      for (size_t i = 0; i < r->spec.nodes.size(); ++i)
        s.nodes.push_back(i < vm.nodes.size() ? vm.nodes[i] : r->spec.nodes[i]);
      r->spec = s;
    });
  }
  void TearDown() override {
    KubeInProcessTest::TearDown();
    for (auto& sc : sidecars_) {
      if (HasFailure()) std::cerr << "--- " << sc->logPath() << ":\n" << sc->LogTail(30);
      sc->Stop();
    }
  }
  // status.scale.step ("steady", "wait", "add-instance", ...); "" when absent.
  static std::string ScaleStep(const value& s) {
    if (!s.has_object_field("scale") || !s.at("scale").has_string_field("step")) return "";
    return s.at("scale").at("step").as_string();
  }
  // demo-0 the routed primary, two streaming standbys, generation 1 accepted, the scale steady at 3.
  bool WaitSettled() {
    return WaitFor(
        [&] {
          value s = Status();
          return Int(s, "acceptedGeneration") == 1 && Int(s, "readyInstances") == 3 && ScaleStep(s) == "steady" &&
                 Int(s.at("scale"), "members") == 3 && StatefulSetReplicas() == 3;
        },
        milliseconds(60000));
  }
  // Generation 2: instances 3 -> 4 and postgres.parameters {name: value}
  // refused (by a sidecar's check or the converter); SpecValid=False, `reason`, names it.
  void RefuseGenerationTwo(const std::string& name = "work_mem", const std::string& setting = "-5",
                           const std::string& reason = "ParametersInvalid") {
    const int64_t bad =
        Patch(R"({"spec":{"instances":4,"postgres":{"parameters":{")" + name + R"(":")" + setting + R"("}}}})");
    ASSERT_EQ(bad, 2);
    ASSERT_TRUE(WaitFor(
        [&] {
          value c = Condition("SpecValid");
          return c.is_object() && c.at("status").as_string() == "False" && Int(Status(), "observedGeneration") == 2;
        },
        milliseconds(20000)))
        << Status().serialize();
    value cond = Condition("SpecValid");
    EXPECT_EQ(cond.at("reason").as_string(), reason);
    EXPECT_NE(cond.at("message").as_string().find("spec.postgres.parameters." + name), std::string::npos)
        << cond.at("message").as_string();
  }
  // Generation 3 fixes the value: accepted, and the scale proceeds (demo-3 joins).
  void FixInGenerationThree() {
    const int64_t fixed = Patch(R"({"spec":{"postgres":{"parameters":{"work_mem":"8MB"}}}})");
    ASSERT_EQ(fixed, 3);
    EXPECT_TRUE(WaitFor([&] { return Int(Status(), "acceptedGeneration") == 3; }, milliseconds(20000)))
        << Status().serialize();
    EXPECT_TRUE(WaitFor([&] { return StatefulSetReplicas() == 4; }, milliseconds(20000))) << Status().serialize();
    value valid = Condition("SpecValid");
    ASSERT_TRUE(valid.is_object());
    EXPECT_EQ(valid.at("status").as_string(), "True") << valid.serialize();
  }
  // Nothing of generation 2 (4 instances) in use: checked over a few rounds.
  void ExpectGenerationOneHeld() {
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(milliseconds(1000));
      value s = Status();
      EXPECT_EQ(Int(s, "acceptedGeneration"), 1) << s.serialize();
      ASSERT_TRUE(s.has_object_field("scale")) << s.serialize();
      EXPECT_EQ(Int(s.at("scale"), "members"), 3) << s.serialize();
      EXPECT_EQ(Int(s.at("scale"), "replicas"), 3) << s.serialize();
      EXPECT_EQ(ScaleStep(s), "steady") << "a scale step for the refused generation: " << s.serialize();
      EXPECT_EQ(StatefulSetReplicas(), 3);
      value cond = Condition("SpecValid");
      ASSERT_TRUE(cond.is_object()) << s.serialize();
      EXPECT_EQ(cond.at("status").as_string(), "False") << cond.serialize();
      EXPECT_EQ(cond.at("reason").as_string(), "ParametersInvalid") << cond.serialize();
    }
    auto pod = client_->Get(ResourcePath("", "v1", "pods", "db", "demo-3"));
    ASSERT_TRUE(pod.ok());
    EXPECT_EQ(pod->code, 404) << "a pod for the refused generation's fourth instance";
  }
  int StatefulSetReplicas() {
    auto r = client_->Get(ResourcePath("apps", "v1", "statefulsets", "db", "demo"));
    if (!r.ok() || !r->ok()) return -1;
    return Int(r->body.at("spec"), "replicas");
  }

  std::unique_ptr<testing::PgTestCluster> pg_;
  ClusterSpec spec_;
  std::vector<std::unique_ptr<testing::ChildProcess>> sidecars_;
};

TEST_F(KubeParameterHoldTest, AGenerationWithARefusedParameterScalesNothingUntilItIsFixed) {
  // Settled: demo-0 the routed primary, two streaming standbys, the scale steady at 3.
  ASSERT_TRUE(WaitSettled()) << Status().serialize();
  // Generation 2: one more instance, and a work_mem PostgreSQL refuses.
  ASSERT_NO_FATAL_FAILURE(RefuseGenerationTwo());
  // Held: nothing of generation 2 moves, also a few rounds later.
  ExpectGenerationOneHeld();
  // Generation 3 fixes the value: accepted, and the scale proceeds (demo-3 joins).
  FixInGenerationThree();
}

// The same refusal, then the controller process restarts (a new KubeController
// and elector against the same kube-fake state): the new process starts on the
// spec NAME-config records (generation 1) and puts generation 2 through the
// parameter gate again, rather than taking it as its first spec
// (spec_in_force.h); the fixed generation 3 is then accepted.
TEST_F(KubeParameterHoldTest, AHeldGenerationStaysHeldWhenTheControllerRestarts) {
  ASSERT_TRUE(WaitSettled()) << Status().serialize();
  ASSERT_NO_FATAL_FAILURE(RefuseGenerationTwo());
  const int64_t term = Int(Status(), "term");

  RestartController();
  // The new process acts (a newer term is durable), judges generation 2 itself
  // and writes its own summary (its scale step); meanwhile the status never
  // shows generation 2 accepted or SpecValid=True.
  bool flipped = false;
  auto watch = [&](const value& s) {
    value c = Condition("SpecValid");
    if (Int(s, "acceptedGeneration") != 1 || (c.is_object() && c.at("status").as_string() != "False")) {
      flipped = true;
      ADD_FAILURE() << "while the new process judges generation 2: " << s.serialize();
    }
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        value s = Status();
        watch(s);
        return flipped || (Int(s, "term") > term && ScaleStep(s) == "steady" &&
                           LogHas("generation 2: postgres.parameters refused"));
      },
      milliseconds(20000)))
      << Status().serialize();
  ASSERT_FALSE(flipped);
  EXPECT_TRUE(LogHas("spec in force restore")) << "not started on the spec NAME-config records";
  ExpectGenerationOneHeld();
  FixInGenerationThree();
}

// A generation the converter refuses (a fixed setting, with instances 3 -> 4)
// when the controller restarts: the new process runs the cluster on the spec
// NAME-config records (a Reconciler, acting), rather than leaving it without
// one until the resource is fixed; nothing of generation 2 is used.
TEST_F(KubeParameterHoldTest, ARefusedGenerationLeavesTheClusterRunningOnItsSpecAfterARestart) {
  ASSERT_TRUE(WaitSettled()) << Status().serialize();
  ASSERT_NO_FATAL_FAILURE(RefuseGenerationTwo("port", "5433", "Invalid"));
  const int64_t term = Int(Status(), "term");

  RestartController();
  EXPECT_TRUE(WaitFor(
      [&] {
        auto st = controller_->ClusterStatusOf("db/demo");
        return st && st->acting && Int(Status(), "term") > term;
      },
      milliseconds(20000)))
      << "the restarted controller runs no acting Reconciler for db/demo: " << Status().serialize();
  EXPECT_TRUE(LogHas("spec in force restore")) << "not started on the spec NAME-config records";
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(1000));
    value s = Status();
    EXPECT_EQ(Int(s, "acceptedGeneration"), 1) << s.serialize();
    EXPECT_EQ(Int(s.at("scale"), "members"), 3) << s.serialize();
    EXPECT_EQ(StatefulSetReplicas(), 3);
    value cond = Condition("SpecValid");
    ASSERT_TRUE(cond.is_object()) << s.serialize();
    EXPECT_EQ(cond.at("reason").as_string(), "Invalid") << cond.serialize();
  }

  // Generation 3 drops the fixed setting: accepted at once (its parameters are
  // those in force), and the scale proceeds.
  ASSERT_EQ(Patch(R"({"spec":{"postgres":{"parameters":null}}})"), 3);
  EXPECT_TRUE(WaitFor([&] { return Int(Status(), "acceptedGeneration") == 3; }, milliseconds(20000)))
      << Status().serialize();
  EXPECT_TRUE(WaitFor([&] { return StatefulSetReplicas() == 4; }, milliseconds(20000))) << Status().serialize();
}

}  // namespace
}  // namespace pgvigil::kube
