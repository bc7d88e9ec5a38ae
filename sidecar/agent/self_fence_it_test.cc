// Self-fencing end to end in one process: a real PostgreSQL 15 primary, three
// real watchdog members over loopback UDP, and the SelfFence of member 0 (the
// primary's host). When members 1 and 2 go away, member 0's write lease runs
// out and its PostgreSQL must be stopped before the dead time has passed (the
// earliest the others could promote), and /v1/status-style JSON says why.
#include "sidecar/agent/self_fence.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/files.h"
#include "common/testing/pg_cluster.h"
#include "sidecar/component.h"
#include "sidecar/watchdog/watchdog_api.h"
#include "sidecar/watchdog/watchdog_component.h"

namespace pgvigil {
namespace {

using namespace std::chrono_literals;
using testing::PgTestCluster;

// Parameter: Kubernetes mode (immediate stop at once, and the fence reported to
// the agent, which then refuses to run PostgreSQL until a newer term).
class SelfFenceIT : public ::testing::TestWithParam<bool> {};

TEST_P(SelfFenceIT, AnIsolatedPrimaryIsStoppedBeforeTheDeadTime) {
  PgTestCluster::Options o;
  o.nodes = 3;
  o.standbys = false;
  auto cluster = PgTestCluster::Create(o);
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  PgTestCluster& pg = **cluster;
  ClusterSpec spec = pg.MakeSpec(testing::FreePort() + 100);
  const std::string key = pg.dir() + "/watchdog.key";
  ASSERT_TRUE(WriteFileAtomic(key, "self-fence-test-key\n", 0600).ok());  // private, or refused
  spec.watchdog.enabled = true;
  spec.watchdog.authKeyFile = key;
  spec.watchdog.heartbeatInterval = Millis(200);
  spec.watchdog.deadTime = Millis(1000);
  spec.vip.address.clear();

  std::unique_ptr<SidecarContext> ctx[3];
  std::unique_ptr<Component> wd[3];
  for (int i = 0; i < 3; ++i) {
    ctx[i] = std::make_unique<SidecarContext>();
    ctx[i]->spec = spec;
    ctx[i]->nodeName = spec.nodes[i].name;
    ctx[i]->stateDir = pg.dir() + "/wd-" + spec.nodes[i].name;
    wd[i] = MakeWatchdogComponent(*ctx[i]);
    Status s = wd[i]->Start();
    ASSERT_TRUE(s.ok()) << s.message();
  }
  SelfFence::Options fo;
  fo.dataDir = pg.nodes()[0].dataDir;
  fo.escalateAfter = spec.watchdog.heartbeatInterval / 4;
  fo.immediate = GetParam();
  std::atomic<int> reported{0};
  fo.onFenced = [&reported] { ++reported; };
  SelfFence fence(fo, ctx[0]->watchdog, *ctx[0]->metrics);
  fence.Start();

  // With contact: the primary keeps running (well past the start grace).
  std::this_thread::sleep_for(2500ms);
  EXPECT_TRUE(pg.IsRunning(0));
  EXPECT_TRUE(fence.Json().at("leaseHeld").as_bool());
  EXPECT_FALSE(fence.Json().at("fenced").as_bool());

  // Member 0 alone: its PostgreSQL must be down before the dead time.
  wd[1].reset();
  wd[2].reset();
  const auto cut = std::chrono::steady_clock::now();
  auto end = cut + 5s;
  while (pg.IsRunning(0) && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - cut);
  ASSERT_FALSE(pg.IsRunning(0)) << "the isolated primary still runs 5 s after losing its peers";
  std::printf("isolated primary stopped %lld ms after its peers went away (dead time %lld ms)\n",
              static_cast<long long>(took.count()),
              static_cast<long long>(spec.watchdog.deadTime.count()));
  EXPECT_LT(took, spec.watchdog.deadTime + 150ms);
  end = std::chrono::steady_clock::now() + 6s;  // Fence() returns once the postmaster is gone
  while (!fence.Json().at("fenced").as_bool() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(5ms);
  web::json::value j = fence.Json();
  EXPECT_TRUE(j.at("fenced").as_bool());
  EXPECT_FALSE(j.at("leaseHeld").as_bool());
  EXPECT_EQ(j.at("fences").as_integer(), 1);
  EXPECT_NE(j.at("lastFence").at("reason").as_string().find("write lease"), std::string::npos);
  if (GetParam()) {
    EXPECT_EQ(j.at("lastFence").at("signal").as_string(), "SIGQUIT");
  }
  EXPECT_EQ(reported.load(), 1);

  // Started again by hand while still alone: fenced again.
  (void)pg.StartNode(0);  // may fail: the fencer stops it while pg_ctl waits for it
  end = std::chrono::steady_clock::now() + 5s;
  while (pg.IsRunning(0) && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(pg.IsRunning(0));
  end = std::chrono::steady_clock::now() + 6s;
  while (fence.Json().at("fences").as_integer() < 2 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(fence.Json().at("fences").as_integer(), 2);
  EXPECT_EQ(reported.load(), 2);
  fence.Stop();
}

INSTANTIATE_TEST_SUITE_P(VmAndKubernetes, SelfFenceIT, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "Kubernetes" : "Vm";
                         });

}  // namespace
}  // namespace pgvigil
