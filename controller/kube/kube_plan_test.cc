// Pod labels from the routing state (KUBERNETES.md §5) and the manual fence
// annotation (§6), as tables: the role each instance gets in the states a
// failover and a switchover pass through, the merge patches (only what
// differs, with the pod's resourceVersion, demotions first), a deposed term,
// and the annotation's accepted and refused forms.
#include "controller/kube/kube_plan.h"

#include <gtest/gtest.h>

#include <functional>

#include "controller/kube/render_objects.h"

namespace pgvigil::kube {
namespace {

using plan::ClusterState;
using plan::TransitionKind;
using plan::TransitionStep;
using web::json::value;

const std::vector<std::string> kInstances = {"demo-0", "demo-1", "demo-2"};

ClusterState Steady() {
  ClusterState s;
  s.primary = s.routedPrimary = "demo-0";
  s.timeline = 1;
  s.routedStandbys = {"demo-1", "demo-2"};
  s.routingGeneration = 5;
  return s;
}

std::string Roles(const LabelInputs& in) {
  std::string out;
  for (const auto& i : in.instances) out += i + "=" + ToString(RoleOf(in, i)) + " ";
  return out;
}

TEST(KubePlanLabelsTest, RolesThroughAFailoverAndASwitchover) {
  struct Case {
    const char* name;
    std::function<void(LabelInputs&)> change;
    const char* roles;
  };
  const Case cases[] = {
      {"steady", [](LabelInputs&) {}, "demo-0=primary demo-1=replica demo-2=replica "},
      {"not bootstrapped", [](LabelInputs& in) { in.state = ClusterState{}; },
       "demo-0=unrouted demo-1=unrouted demo-2=unrouted "},
      {"failover recorded: old primary fenced, nothing routed for writes",
       [](LabelInputs& in) {
         in.state.transition = {TransitionKind::kFailover, "demo-0", "demo-1"};
         in.state.routedPrimary = "";
         in.state.routedStandbys = {"demo-2"};
         plan::AddName(&in.state.fenced, "demo-0");
       },
       "demo-0=fenced demo-1=unrouted demo-2=replica "},
      {"failover recorded before the fence list: the outgoing primary is fenced",
       [](LabelInputs& in) {
         in.state.transition = {TransitionKind::kFailover, "demo-0", "demo-1"};
         in.state.routedPrimary = "";
       },
       "demo-0=fenced demo-1=replica demo-2=replica "},
      {"failover done",
       [](LabelInputs& in) {
         in.state.primary = in.state.routedPrimary = "demo-1";
         in.state.routedStandbys = {"demo-2"};
         in.state.fenced = {"demo-0"};
       },
       "demo-0=fenced demo-1=primary demo-2=replica "},
      {"switchover paused: the old primary still takes writes",
       [](LabelInputs& in) {
         in.state.transition = {TransitionKind::kSwitchover, "demo-0", "demo-1",
                                TransitionStep::kPaused};
       },
       "demo-0=primary demo-1=replica demo-2=replica "},
      {"switchover stopping: the old primary leaves NAME-rw",
       [](LabelInputs& in) {
         in.state.transition = {TransitionKind::kSwitchover, "demo-0", "demo-1",
                                TransitionStep::kStopping};
         in.state.routedPrimary = "";
       },
       "demo-0=fenced demo-1=replica demo-2=replica "},
      {"a standby past delayThreshold is unrouted; at it or unknown, routed",
       [](LabelInputs& in) {
         in.delayThreshold = 1000;
         in.lagBytes = {{"demo-1", 1001}, {"demo-2", 1000}};
       },
       "demo-0=primary demo-1=unrouted demo-2=replica "},
      {"no lag check when delayThreshold is 0",
       [](LabelInputs& in) {
         in.lagBytes = {{"demo-1", 1u << 30}};
       },
       "demo-0=primary demo-1=replica demo-2=replica "},
      {"a standby not routed (catching up, other timeline) is unrouted",
       [](LabelInputs& in) { in.state.routedStandbys = {"demo-2"}; },
       "demo-0=primary demo-1=unrouted demo-2=replica "},
      {"manual fence, even of the primary",
       [](LabelInputs& in) {
         in.manuallyFenced = {"demo-0", "demo-2"};
       },
       "demo-0=fenced demo-1=replica demo-2=fenced "},
      {"a fenced instance never routed, whatever the table says",
       [](LabelInputs& in) { in.state.fenced = {"demo-1"}; },
       "demo-0=primary demo-1=fenced demo-2=replica "},
      {"detached by an operator: not routed",
       [](LabelInputs& in) { in.state.detached = {"demo-2"}; },
       "demo-0=primary demo-1=replica demo-2=unrouted "},
  };
  for (const auto& c : cases) {
    LabelInputs in;
    in.instances = kInstances;
    in.state = Steady();
    c.change(in);
    EXPECT_EQ(Roles(in), c.roles) << c.name;
  }
}

PodMeta Pod(const std::string& name, const std::string& rv,
            std::map<std::string, std::string> labels,
            std::map<std::string, std::string> annotations = {}) {
  return PodMeta{name, rv, std::move(labels), std::move(annotations)};
}

LabelInputs SteadyInputs() {
  LabelInputs in;
  in.instances = kInstances;
  in.state = Steady();
  in.term = 7;
  for (const auto& i : kInstances) in.liveness[i] = Liveness::kLive;
  return in;
}

std::map<std::string, std::string> Stamped() {
  return {{kTermAnnotation, "7"}, {kRoutingGenerationAnnotation, "5"}};
}

TEST(KubePlanLabelsTest, FreshPodsGetEveryLabelAndTheResourceVersion) {
  auto patches =
      PodLabelPatches(SteadyInputs(), {Pod("demo-0", "11", {{kClusterLabel, "demo"}}),
                                       Pod("demo-1", "12", {}), Pod("demo-2", "13", {})});
  ASSERT_TRUE(patches.ok()) << patches.error();
  ASSERT_EQ(patches->size(), 3u);
  EXPECT_EQ((*patches)[0].pod, "demo-0");
  EXPECT_EQ(
      (*patches)[0].patch.serialize(),
      R"({"metadata":{"annotations":{"pgvigil.io/routing-generation":"5","pgvigil.io/term":"7"},)"
      R"("labels":{"pgvigil.io/pool":"true","pgvigil.io/role":"primary"},"resourceVersion":"11"}})");
  EXPECT_EQ((*patches)[1].patch.at("metadata").at("labels").at(kRoleLabel).as_string(), "replica");
  EXPECT_EQ((*patches)[2].patch.at("metadata").at("resourceVersion").as_string(), "13");
  for (const auto& p : *patches) EXPECT_FALSE(p.demotes) << p.pod;
}

TEST(KubePlanLabelsTest, PodsAlreadyRightGetNoPatch) {
  auto patches = PodLabelPatches(
      SteadyInputs(),
      {Pod("demo-0", "1", {{kRoleLabel, "primary"}, {kPoolLabel, "true"}}, Stamped()),
       Pod("demo-1", "2", {{kRoleLabel, "replica"}, {kPoolLabel, "true"}}, Stamped()),
       Pod("demo-2", "3", {{kRoleLabel, "replica"}, {kPoolLabel, "true"}}, Stamped())});
  ASSERT_TRUE(patches.ok());
  EXPECT_TRUE(patches->empty());
}

// pool=true follows the majority's view of the sidecar; unknown changes nothing.
TEST(KubePlanLabelsTest, PoolLabelFollowsMajorityLiveness) {
  LabelInputs in = SteadyInputs();
  in.liveness = {{"demo-0", Liveness::kNotLive},
                 {"demo-1", Liveness::kUnknown}};  // demo-2: absent = unknown
  auto patches = PodLabelPatches(
      in, {Pod("demo-0", "1", {{kRoleLabel, "primary"}, {kPoolLabel, "true"}}, Stamped()),
           Pod("demo-1", "2", {{kRoleLabel, "replica"}, {kPoolLabel, "true"}}, Stamped()),
           Pod("demo-2", "3", {{kRoleLabel, "replica"}}, Stamped())});
  ASSERT_TRUE(patches.ok());
  ASSERT_EQ(patches->size(), 1u);
  EXPECT_EQ((*patches)[0].patch.serialize(),
            R"({"metadata":{"labels":{"pgvigil.io/pool":null},"resourceVersion":"1"}})");
  EXPECT_TRUE((*patches)[0].demotes);
}

// The failover order of §5: the old primary leaves NAME-rw before the new one
// joins it, whatever order the pods come in.
TEST(KubePlanLabelsTest, DemotionsComeFirst) {
  LabelInputs in = SteadyInputs();
  in.state.primary = in.state.routedPrimary = "demo-2";
  in.state.routedStandbys = {"demo-1"};
  in.state.fenced = {"demo-0"};
  in.state.routingGeneration = 8;
  auto patches = PodLabelPatches(
      in, {Pod("demo-2", "3", {{kRoleLabel, "replica"}, {kPoolLabel, "true"}}, Stamped()),
           Pod("demo-1", "2", {{kRoleLabel, "replica"}, {kPoolLabel, "true"}}, Stamped()),
           Pod("demo-0", "1", {{kRoleLabel, "primary"}, {kPoolLabel, "true"}}, Stamped())});
  ASSERT_TRUE(patches.ok());
  std::string order;
  for (const auto& p : *patches)
    order += p.pod + ":" + ToString(p.role) + (p.demotes ? "(demotes) " : " ");
  EXPECT_EQ(order, "demo-0:fenced(demotes) demo-2:primary demo-1:replica ");
  // demo-1 only gets the new routing generation.
  EXPECT_EQ(
      (*patches)[2].patch.serialize(),
      R"({"metadata":{"annotations":{"pgvigil.io/routing-generation":"8"},"resourceVersion":"2"}})");
}

TEST(KubePlanLabelsTest, ANewerTermOnAPodMeansDeposed) {
  auto patches =
      PodLabelPatches(SteadyInputs(), {Pod("demo-0", "1", {}, {{kTermAnnotation, "7"}}),
                                       Pod("demo-1", "2", {}, {{kTermAnnotation, "8"}})});
  ASSERT_FALSE(patches.ok());
  EXPECT_NE(patches.error().find("deposed: pod demo-1 carries pgvigil.io/term 8"),
            std::string::npos)
      << patches.error();
  // An older or unreadable term is simply overwritten.
  auto older = PodLabelPatches(SteadyInputs(), {Pod("demo-0", "1", {}, {{kTermAnnotation, "6"}}),
                                                Pod("demo-1", "2", {}, {{kTermAnnotation, "x"}})});
  ASSERT_TRUE(older.ok());
  EXPECT_EQ((*older)[1].patch.at("metadata").at("annotations").at(kTermAnnotation).as_string(),
            "7");
}

TEST(KubePlanLabelsTest, EveryPatchIsConditional) {
  auto patches = PodLabelPatches(SteadyInputs(), {Pod("demo-0", "1", {}), Pod("demo-1", "", {})});
  ASSERT_FALSE(patches.ok());
  EXPECT_EQ(patches.error(), "pod demo-1 has no metadata.resourceVersion: re-read it");
}

TEST(KubePlanLabelsTest, PodsOfOtherInstancesAreLeftAlone) {
  auto patches = PodLabelPatches(SteadyInputs(), {Pod("demo-3", "9", {})});
  ASSERT_TRUE(patches.ok());
  EXPECT_TRUE(patches->empty());
}

TEST(KubePlanLabelsTest, LivenessFromTheWatchdogLeader) {
  plan::WatchdogView view;
  auto all = [&] {
    std::string out;
    for (const auto& [n, l] : LivenessFromWatchdog(view, kInstances))
      out += n + (l == Liveness::kLive ? "=live " : l == Liveness::kNotLive ? "=down " : "=? ");
    return out;
  };
  EXPECT_EQ(all(), "demo-0=? demo-1=? demo-2=? ");  // never observed
  view.observedAt = 100;
  view.leader = "demo-1";
  view.quorum = true;
  view.writeLeasesKnown = true;
  view.writeLeaseOver = {"demo-2"};
  EXPECT_EQ(all(), "demo-0=live demo-1=live demo-2=down ");
  view.quorum = false;  // no majority: nobody can say
  EXPECT_EQ(all(), "demo-0=? demo-1=? demo-2=? ");
  view.quorum = true;
  view.writeLeasesKnown = false;
  EXPECT_EQ(all(), "demo-0=? demo-1=? demo-2=? ");
}

TEST(KubePlanFenceTest, AnnotationForms) {
  struct Case {
    const char* text;
    bool all;
    std::vector<std::string> names;
  };
  const Case cases[] = {
      {"", false, {}},
      {"  \n", false, {}},
      {"[]", false, {}},
      {R"(["demo-1"])", false, {"demo-1"}},
      {R"([ "demo-2", "demo-0", "demo-2" ])", false, {"demo-0", "demo-2"}},
      {R"(["*"])", true, {}},
      {R"(["demo-1", "*"])", true, {}},
  };
  for (const auto& c : cases) {
    auto f = ParseFencedInstances(c.text, kInstances);
    ASSERT_TRUE(f.ok()) << c.text << ": " << f.error();
    EXPECT_EQ(f->all, c.all) << c.text;
    EXPECT_EQ(f->names, c.names) << c.text;
  }
}

TEST(KubePlanFenceTest, BadAnnotationsAreClearErrors) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"demo-1", "annotation pgvigil.io/fenced-instances: not JSON: "},
      {R"(["demo-1")", "annotation pgvigil.io/fenced-instances: not JSON: "},
      {R"({"demo-1": true})",
       "annotation pgvigil.io/fenced-instances: not a list (expected a JSON list of "
       "instance names such as [\"demo-2\"], or [\"*\"] for all)"},
      {R"(["demo-1", 2])", "annotation pgvigil.io/fenced-instances: item 1 is not a string"},
      {R"(["demo-7"])",
       "annotation pgvigil.io/fenced-instances: 'demo-7' is not an instance of this cluster "
       "(demo-0, demo-1, demo-2)"},
      {R"("*")", "annotation pgvigil.io/fenced-instances: not a list"},
  };
  for (const auto& c : cases) {
    auto f = ParseFencedInstances(c.text, kInstances);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_EQ(f.error().rfind(c.error, 0), 0u) << c.text << " gave: " << f.error();
  }
}

TEST(KubePlanFenceTest, ChangesAgainstTheDetachedList) {
  ClusterState s = Steady();
  s.detached = {"demo-0"};
  auto one = ParseFencedInstances(R"(["demo-1"])", kInstances);
  ASSERT_TRUE(one.ok());
  FenceChange c = ManualFenceChange(*one, s, kInstances);
  EXPECT_EQ(c.fence, std::vector<std::string>{"demo-1"});
  EXPECT_EQ(c.unfence, std::vector<std::string>{"demo-0"});
  auto all = ParseFencedInstances(R"(["*"])", kInstances);
  ASSERT_TRUE(all.ok());
  c = ManualFenceChange(*all, s, kInstances);
  EXPECT_EQ(c.fence, (std::vector<std::string>{"demo-1", "demo-2"}));
  EXPECT_TRUE(c.unfence.empty());
  EXPECT_EQ(all->Expand(kInstances), kInstances);
  s.detached = {"demo-1"};
  EXPECT_TRUE(ManualFenceChange(*one, s, kInstances).empty());
  EXPECT_EQ(ManualFenceChange(ManualFence{}, s, kInstances).unfence,
            std::vector<std::string>{"demo-1"});
  // A scale-down's leaving instance, and one no longer a member, stay detached.
  EXPECT_TRUE(ManualFenceChange(ManualFence{}, s, kInstances, "demo-1").empty());
  s.detached = {"demo-1", "demo-3"};
  EXPECT_EQ(ManualFenceChange(ManualFence{}, s, kInstances).unfence, std::vector<std::string>{"demo-1"});
}

}  // namespace
}  // namespace pgvigil::kube
