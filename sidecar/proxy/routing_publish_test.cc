// The proxy recomputes routing every 100 ms; a snapshot is published only when
// it differs from the one in effect (SameRouting, ProxyShared::PublishRouting).
#include <gtest/gtest.h>

#include <thread>

#include "sidecar/proxy/proxy_shared.h"
#include "sidecar/proxy/routing.h"

namespace pgvigil::proxy {
namespace {

BackendHealth Checked(const std::string& node, BackendRole role, uint64_t lsn) {
  BackendHealth h;
  h.node = node;
  h.up = true;
  h.role = role;
  h.lsn = lsn;
  h.lastCheck = std::chrono::system_clock::now();  // moves on every check
  return h;
}

RoutingInputs TwoNodes(uint64_t standbyLsn) {
  RoutingInputs in;
  in.table.generation = 3;
  in.table.nodes = {{"n0", "127.0.0.1", 5432, 0, true}, {"n1", "127.0.0.1", 5433, 1, true}};
  in.health = {Checked("n0", BackendRole::kPrimary, 900), Checked("n1", BackendRole::kStandby, standbyLsn)};
  return in;
}

TEST(RoutingPublishTest, AnotherCheckWithNothingChangedIsTheSameRouting) {
  EffectiveRouting a = ComputeRouting(TwoNodes(800));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a later lastCheck, as every 100 ms
  EffectiveRouting b = ComputeRouting(TwoNodes(800));
  EXPECT_TRUE(SameRouting(a, b));
}

TEST(RoutingPublishTest, EveryFieldASessionReadsMakesItDiffer) {
  const EffectiveRouting base = ComputeRouting(TwoNodes(800));
  auto differs = [&](auto change) {
    EffectiveRouting o = base;
    change(o);
    return !SameRouting(base, o) && !SameRouting(o, base);
  };
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.generation++; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.primary = -1; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.noPrimaryReason = "x"; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.intendedPrimary = "n1"; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.writesFenced = !o.writesFenced; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes.pop_back(); }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].node.weight = 2; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].node.port = 1; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].healthKnown = !o.nodes[1].healthKnown; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].healthRole = BackendRole::kPrimary; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].lagBytes++; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].replayLsn++; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].lastChange += std::chrono::seconds(1); }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].up = !o.nodes[1].up; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].lbEligible = !o.nodes[1].lbEligible; }));
  EXPECT_TRUE(differs([](EffectiveRouting& o) { o.nodes[1].why = "lagging"; }));
}

TEST(RoutingPublishTest, TheSameRoutingKeepsTheSnapshotInEffect) {
  ProxyShared shared;
  EXPECT_TRUE(shared.PublishRouting(std::make_shared<EffectiveRouting>(ComputeRouting(TwoNodes(800)))));
  const auto held = shared.Routing();
  const uint64_t version = shared.RoutingVersion();
  // Recomputed with nothing changed: the very same object stays, the version too.
  EXPECT_FALSE(shared.PublishRouting(std::make_shared<EffectiveRouting>(ComputeRouting(TwoNodes(800)))));
  EXPECT_EQ(shared.Routing().get(), held.get());
  EXPECT_EQ(shared.RoutingVersion(), version);
  // The standby replayed more: published.
  EXPECT_TRUE(shared.PublishRouting(std::make_shared<EffectiveRouting>(ComputeRouting(TwoNodes(850)))));
  EXPECT_NE(shared.Routing().get(), held.get());
  EXPECT_EQ(shared.Routing()->nodes[1].replayLsn, 850u);
  EXPECT_EQ(shared.RoutingVersion(), version + 1);
}

}  // namespace
}  // namespace pgvigil::proxy
