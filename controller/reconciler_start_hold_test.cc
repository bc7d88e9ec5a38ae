// A whole reconcile round, from the acting hook to the plan: while the mode's
// hook holds a node's start as the primary (ActingHook::StartHolds, which the
// Kubernetes actuator fills for a self-fenced primary), the Reconciler plans
// no start of it and the round's summary (GET /v1/status) gives the hook's
// reason; once the hook lets go, the start is planned and run.
//
// Real parts on loopback: PostgreSQL 15 (common/testing/pg_cluster.h; node0
// initialised as a primary, then stopped, so its data directory is a
// primary's and nothing is writable: the bootstrap would start it) and node0's
// agent in this process (sidecar/agent/agent_test_env.h). The Reconciler acts
// alone (StandaloneLeadership, FileStateStore); the hook is the project's own
// interface, implemented here.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/files.h"
#include "controller/reconciler.h"
#include "controller/vm_leadership.h"
#include "sidecar/agent/agent_test_env.h"

namespace pgvigil {
namespace {

using testing::AgentTestEnv;
using testing::PgTestCluster;

const char* kHoldWhy = "held by the test's hook: waiting for the watchdog to count node0 live";

// Holds node0's start while `holding`; records the rounds it saw and the
// actions that ran.
class StartHoldingHook : public ActingHook {
 public:
  std::atomic<bool> holding{true};
  std::atomic<int> rounds{0};

  Status BeforeActions(const plan::ClusterState&, uint64_t, const plan::Observation&, Actuator&) override {
    ++rounds;
    return Status::Ok();
  }
  std::map<std::string, std::string> StartHolds() const override {
    if (!holding) return {};
    return {{"node0", kHoldWhy}};
  }
  void AfterActions(const plan::ClusterState&, uint64_t, const plan::Observation&, Actuator&) override {}
  void Decided(const std::string& action, const std::string& node, const std::string&, bool ok,
               const std::string& detail) override {
    std::lock_guard<std::mutex> lock(mu_);
    decided_.push_back(action + " " + node + (ok ? "" : " FAILED: " + detail));
  }
  std::vector<std::string> Decided() const {
    std::lock_guard<std::mutex> lock(mu_);
    return decided_;
  }
  bool Ran(const std::string& what) const {
    for (const auto& d : Decided())
      if (d.rfind(what, 0) == 0) return true;
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> decided_;
};

// The first actions that ran, for a failure message.
std::string First(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 8; ++i) out += (out.empty() ? "" : " | ") + v[i];
  return out + (v.size() > 8 ? " | ..." : "");
}

TEST(ReconcilerStartHold, AHeldStartIsNotPlannedAndTheSummarySaysWhyUntilTheHookLetsGo) {
  PgTestCluster::Options options;
  options.nodes = 1;
  options.standbys = false;
  auto env = AgentTestEnv::Create(options, {0});
  ASSERT_TRUE(env.ok()) << env.error();
  AgentTestEnv& e = **env;
  ASSERT_TRUE(e.cluster().StopNode(0).ok());
  ASSERT_FALSE(e.cluster().IsRunning(0));

  const ClusterSpec spec = e.ctx(0).spec;
  ReconcilerOptions ro;
  ro.token = e.token();
  ro.pg.user = "postgres";
  ro.pg.password = e.cluster().superPassword();
  ro.period = std::chrono::milliseconds(200);
  ro.busyPeriod = std::chrono::milliseconds(200);
  const std::string stateDir = e.cluster().dir() + "/controller";
  std::filesystem::create_directories(stateDir);
  StartHoldingHook hook;
  Reconciler r(spec, ro, std::make_unique<StandaloneLeadership>(7, ""), std::make_unique<FileStateStore>(stateDir),
               &hook);
  ASSERT_TRUE(r.Start().ok());

  // Held: rounds go by, each saying why node0 is not started; nothing starts it.
  const std::string held = "not starting node0: " + std::string(kHoldWhy);
  auto summary_holds = [&] { return r.GetStatus().summary.find(held) != std::string::npos; };
  ASSERT_TRUE(AgentTestEnv::WaitFor(
      [&] { return hook.Ran("start node0") || (hook.rounds >= 5 && summary_holds()); }, 30000))
      << "rounds " << hook.rounds << ", summary: " << r.GetStatus().summary;
  ASSERT_FALSE(hook.Ran("start node0")) << "started while held: " << First(hook.Decided());
  EXPECT_TRUE(summary_holds()) << r.GetStatus().summary;
  EXPECT_TRUE(r.GetStatus().acting);
  EXPECT_FALSE(e.cluster().IsRunning(0));

  // Let go: the next round plans the start and it runs.
  hook.holding = false;
  EXPECT_TRUE(AgentTestEnv::WaitFor([&] { return hook.Ran("start node0"); }, 30000))
      << "summary: " << r.GetStatus().summary << "; actions: " << First(hook.Decided());
  EXPECT_TRUE(AgentTestEnv::WaitFor([&] { return e.cluster().IsRunning(0); }, 30000));
  EXPECT_TRUE(AgentTestEnv::WaitFor([&] { return !summary_holds(); }, 10000)) << r.GetStatus().summary;
  r.Stop();
}

}  // namespace
}  // namespace pgvigil
