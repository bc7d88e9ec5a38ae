// The Kubernetes actuator against kube-fake (the API-server test double,
// controller/kube/testing: a stand-in, not Kubernetes) over HTTPS: owned
// objects applied with ownerReferences and the term stamp (the double's
// StatefulSet emulation then makes the pods), pod labels following the
// ClusterState, a label patch refused for a stale resourceVersion (409) done
// again after a re-read, the fenced label landing before the Actuator goes on
// to promote (and no promote when it cannot land), and a deposed controller
// (a newer term on a pod) writing nothing more. The promote guard's cases
// (§6 (ii) and (i)) talk to RoutingStandIn: a STAND-IN for the sidecars' GET
// /v1/proxy/routing, /v1/watchdog and /v1/status (an HTTP listener on
// loopback answering fixed documents), because real sidecars need the
// PostgreSQL cluster those cases do not run. The register mirror's case runs
// three real sidecars (watchdog on) over the test's PostgreSQL cluster.
#include <algorithm>
#include <atomic>

#include <gtest/gtest.h>

#include <cpprest/http_listener.h>

#include "controller/act/actuator.h"
#include "controller/act/state_codec.h"
#include "common/agent_refusal.h"
#include "common/files.h"
#include "common/node_operation.h"
#include "common/node_spec_push.h"
#include "common/spec_parser.h"
#include "common/watchdog_detail.h"
#include "common/watchdog_register.h"
#include "controller/testing/child_process.h"
#include "common/testing/pg_cluster.h"
#include "controller/kube/kube_actuator.h"
#include "controller/kube/kube_fake_env.h"
#include "controller/kube/kube_test_util.h"
#include "controller/kube/register_mirror.h"
#include "controller/kube/render_json.h"
#include "controller/kube/render_objects.h"
#include "sidecar/agent/parameter_check.h"

namespace pgvigil::kube {
namespace {

using web::json::value;

class KubeActuatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.ok()) << env_.error();
    client_ = env_.Client();
    // The example manifest's PostgresCluster (demo, 3 instances).
    value cr = YamlToJson(testing_util::FindDocument("manifests/examples/k8s-cluster.yaml", "PostgresCluster"));
    cr["metadata"]["namespace"] = value::string("db");
    auto r = client_->Create(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db"), cr);
    ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->Describe() : r.error());
    uid_ = r->body.at("metadata").at("uid").as_string();
    ResourceLoad load = ConvertClusterResourceText(r->body.serialize(), "db/demo");
    ASSERT_TRUE(load.ok()) << load.ErrorText();
    resource_ = *load.resource;
    act_ = std::make_unique<KubeActuator>(client_.get(), "db", "demo", [this](uint64_t t) { deposedBy_ = t; });
    act_->SetResource(resource_, uid_);
    ASSERT_EQ(act_->status()->MakeTermDurable(5).code, TermOutcome::Code::kDurable);
  }
  value Get(const std::string& path) {
    auto r = client_->Get(path);
    EXPECT_TRUE(r.ok() && r->ok()) << path;
    return r.ok() ? r->body : value::null();
  }
  value Pod(const std::string& name) { return Get(ResourcePath("", "v1", "pods", "db", name)); }
  static std::string Field(const value& obj, const char* section, const char* key) {
    if (!obj.has_object_field("metadata") || !obj.at("metadata").has_object_field(section)) return "";
    const value& m = obj.at("metadata").at(section);
    return m.has_string_field(key) ? m.at(key).as_string() : "";
  }
  std::string Role(const std::string& pod) { return Field(Pod(pod), "labels", kRoleLabel); }
  std::string Rv(const std::string& path) { return Get(path).at("metadata").at("resourceVersion").as_string(); }
  static plan::ClusterState Routed(const std::string& primary, std::vector<std::string> standbys) {
    plan::ClusterState s;
    s.version = 1;
    s.primary = s.routedPrimary = primary;
    s.routingGeneration = 1;
    s.routedStandbys = std::move(standbys);
    return s;
  }
  // The notes of the Events with this reason, each followed by "\n"; every
  // one of them must be a Warning.
  std::string WarningNotes(const std::string& reason) {
    auto events = client_->List(ResourcePath("events.k8s.io", "v1", "events", "db"));
    EXPECT_TRUE(events.ok()) << (events.ok() ? "" : events.error());
    std::string notes;
    if (!events.ok()) return notes;
    for (const auto& e : events->items)
      if (e.at("reason").as_string() == reason) {
        EXPECT_EQ(e.at("type").as_string(), "Warning") << reason;
        notes += e.at("note").as_string() + "\n";
      }
    return notes;
  }
  // Applied objects and the pods the double's StatefulSet makes from them.
  void ApplyAndWaitForPods() {
    Status a = act_->ApplyOwnedObjects(5);
    ASSERT_TRUE(a.ok()) << a.message();
    for (int i = 0; i < 3; ++i) ASSERT_FALSE(Pod("demo-" + std::to_string(i)).is_null());
  }

  testing_util::KubeFakeEnv env_;
  std::unique_ptr<KubeClient> client_;
  std::string uid_;
  ClusterResource resource_;
  std::unique_ptr<KubeActuator> act_;
  uint64_t deposedBy_ = 0;
};

TEST_F(KubeActuatorTest, OwnedObjectsAreAppliedWithOwnerReferencesAndTheTermStamp) {
  ApplyAndWaitForPods();
  RenderOptions o;
  o.uid = uid_;
  const auto objects = RenderOwnedObjects(resource_, o);
  ASSERT_EQ(objects.size(), 7u);
  for (const RenderedObject& obj : objects) {
    value got = Get(obj.path);
    ASSERT_FALSE(got.is_null()) << obj.kind << " " << obj.name;
    EXPECT_EQ(Field(got, "annotations", kTermAnnotation), "5") << obj.kind << " " << obj.name;
    const value& refs = got.at("metadata").at("ownerReferences");
    ASSERT_EQ(refs.size(), 1u) << obj.kind;
    EXPECT_EQ(refs.at(0).at("uid").as_string(), uid_);
    EXPECT_TRUE(refs.at(0).at("controller").as_bool());
    EXPECT_EQ(got.at("metadata").at("managedFields").at(0).at("manager").as_string(), kFieldManager);
  }
  // The same resource and term are not applied again; a new term is.
  const std::string sts = ResourcePath("apps", "v1", "statefulsets", "db", "demo");
  const std::string rv = Rv(sts);
  ASSERT_TRUE(act_->ApplyOwnedObjects(5).ok());
  EXPECT_EQ(Rv(sts), rv);
  ASSERT_EQ(act_->status()->MakeTermDurable(6).code, TermOutcome::Code::kDurable);
  ASSERT_TRUE(act_->ApplyOwnedObjects(6).ok());
  EXPECT_EQ(Field(Get(sts), "annotations", kTermAnnotation), "6");
  EXPECT_NE(Rv(sts), rv) << "the stamp moves the resourceVersion a deposed writer's CAS relies on";
}

TEST_F(KubeActuatorTest, LabelsFollowTheState) {
  ApplyAndWaitForPods();
  Status l = act_->LabelPods(Routed("demo-0", {"demo-1", "demo-2"}), 5, {});
  ASSERT_TRUE(l.ok()) << l.message();
  EXPECT_EQ(Role("demo-0"), "primary");
  EXPECT_EQ(Role("demo-1"), "replica");
  EXPECT_EQ(Role("demo-2"), "replica");
  EXPECT_EQ(Field(Pod("demo-0"), "annotations", kTermAnnotation), "5");
  // A failover from demo-0 to demo-1 under way: demo-0 is fenced, nobody primary yet.
  plan::ClusterState s = Routed("demo-0", {"demo-2"});
  s.routedPrimary.clear();
  s.routingGeneration = 2;
  s.transition.kind = plan::TransitionKind::kFailover;
  s.transition.from = "demo-0";
  s.transition.to = "demo-1";
  ASSERT_TRUE(act_->LabelPods(s, 5, {"demo-0"}).ok());
  EXPECT_EQ(Role("demo-0"), "fenced");
  EXPECT_EQ(Role("demo-1"), "unrouted");
  // Done: demo-1 primary, demo-0 kept out as fenced.
  plan::ClusterState done = Routed("demo-1", {"demo-2"});
  done.routingGeneration = 3;
  done.fenced = {"demo-0"};
  ASSERT_TRUE(act_->LabelPods(done, 5, {}).ok());
  EXPECT_EQ(Role("demo-0"), "fenced");
  EXPECT_EQ(Role("demo-1"), "primary");
  EXPECT_EQ(Role("demo-2"), "replica");
  EXPECT_EQ(Field(Pod("demo-1"), "annotations", kRoutingGenerationAnnotation), "3");
  // Each role change is an Event on the PostgresCluster.
  auto events = client_->List(ResourcePath("events.k8s.io", "v1", "events", "db"));
  ASSERT_TRUE(events.ok()) << events.error();
  std::string notes;
  for (const auto& e : events->items) {
    if (e.at("reason").as_string() != "PodRoleChanged") continue;
    EXPECT_EQ(e.at("regarding").at("kind").as_string(), "PostgresCluster");
    EXPECT_EQ(e.at("regarding").at("uid").as_string(), uid_);
    notes += e.at("note").as_string() + "\n";
  }
  EXPECT_NE(notes.find("pod demo-0 labelled pgvigil.io/role=fenced"), std::string::npos) << notes;
  EXPECT_NE(notes.find("pod demo-1 labelled pgvigil.io/role=primary"), std::string::npos) << notes;
}

TEST_F(KubeActuatorTest, AStaleResourceVersionIsReadAgainAndPatched) {
  ApplyAndWaitForPods();
  int reads = 0;
  act_->SetAfterPodRead([&] {
    if (reads++ > 0) return;
    // Another writer (the kubelet's status, a user's label) moves demo-0 after our read.
    auto r = client_->MergePatch(ResourcePath("", "v1", "pods", "db", "demo-0"),
                                 value::parse(R"({"metadata":{"labels":{"team":"db"}}})"));
    ASSERT_TRUE(r.ok() && r->ok());
  });
  Status l = act_->LabelPods(Routed("demo-0", {"demo-1", "demo-2"}), 5, {});
  ASSERT_TRUE(l.ok()) << l.message();
  EXPECT_EQ(reads, 2) << "the 409 made it read the pods again";
  EXPECT_EQ(Role("demo-0"), "primary");
  EXPECT_EQ(Field(Pod("demo-0"), "labels", "team"), "db") << "the other writer's change is kept";
}

TEST_F(KubeActuatorTest, TheManualFenceLabelsDetachesAndRejoins) {
  ApplyAndWaitForPods();
  std::vector<std::string> requests;
  act_->SetNodeRequester([&](const std::string& verb, const std::string& node) {
    requests.push_back(verb + " " + node);
    return Status::Ok();
  });
  auto fence = ParseFencedInstances(R"(["demo-1"])", {"demo-0", "demo-1", "demo-2"});
  ASSERT_TRUE(fence.ok()) << fence.error();
  act_->SetManualFence(*fence);
  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  plan::ClusterState s = Routed("demo-0", {"demo-1", "demo-2"});
  Status b = act_->BeforeActions(s, 5, plan::Observation{}, actuator);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(requests, std::vector<std::string>{"detach demo-1"});
  EXPECT_EQ(Role("demo-1"), "fenced") << "out of NAME-ro and NAME at once";
  EXPECT_EQ(Role("demo-0"), "primary");
  ASSERT_TRUE(act_->BeforeActions(s, 5, plan::Observation{}, actuator).ok());
  EXPECT_EQ(requests.size(), 1u) << "asked once per change, not every round";
  // The planner detached it; then the name is removed from the annotation.
  s.detached = {"demo-1"};
  s.routedStandbys = {"demo-2"};
  act_->SetManualFence(ManualFence{});
  ASSERT_TRUE(act_->BeforeActions(s, 5, plan::Observation{}, actuator).ok());
  EXPECT_EQ(requests.back(), "attach demo-1");
  EXPECT_EQ(Role("demo-1"), "unrouted") << "no longer fenced; routed again once the planner attaches it";
  s.detached.clear();
  s.routedStandbys = {"demo-1", "demo-2"};
  ASSERT_TRUE(act_->BeforeActions(s, 5, plan::Observation{}, actuator).ok());
  EXPECT_EQ(Role("demo-1"), "replica");
  EXPECT_EQ(requests.size(), 2u);
}

// A manually fenced primary: labelled fenced, and every round held (no
// failover, nothing else) while it is fenced; once unfenced, a primary this
// controller did not stop is the planner's again at once. (Stopping and
// restarting it through its sidecar: kube_vigilctl_e2e, with real PostgreSQL.)
TEST_F(KubeActuatorTest, AFencedPrimaryHoldsEveryRoundUntilItIsUnfenced) {
  ApplyAndWaitForPods();
  auto fence = ParseFencedInstances(R"(["demo-0"])", {"demo-0", "demo-1", "demo-2"});
  ASSERT_TRUE(fence.ok()) << fence.error();
  act_->SetManualFence(*fence);
  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  plan::ClusterState s = Routed("demo-0", {"demo-1", "demo-2"});
  plan::Observation obs;
  plan::NodeObservation p;
  p.name = "demo-0";  // its sidecar is not reachable here: nothing is sent to it
  obs.nodes = {p};
  Status b = act_->BeforeActions(s, 5, obs, actuator);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("the primary demo-0 is fenced by pgvigil.io/fenced-instances: no failover"),
            std::string::npos)
      << b.message();
  EXPECT_EQ(Role("demo-0"), "fenced") << "out of NAME-rw";
  EXPECT_FALSE(act_->BeforeActions(s, 5, obs, actuator).ok()) << "held every round";
  act_->SetManualFence(ManualFence{});
  EXPECT_TRUE(act_->BeforeActions(s, 5, obs, actuator).ok()) << "not stopped by this controller: the planner's";
  EXPECT_EQ(Role("demo-0"), "primary");
}

// Leader change with a manually fenced primary: the controller that stops it
// records it first (status.fencedPrimary, by CAS under its term); a new leader
// reads that back and, once the primary is unfenced, starts it again in place
// (without the record it would release it to the planner, which fails a
// stopped primary over), and clears the record once it answers as the primary.
// The sidecar does not exist here: the stop and the start sent to it fail,
// which is beside the point (kube_vigilctl_e2e runs them with real PostgreSQL).
TEST_F(KubeActuatorTest, ANewLeaderStartsAPrimaryFencedByHandInPlaceOnceUnfenced) {
  ApplyAndWaitForPods();
  const std::string cr = ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo");
  auto recorded = [&] {
    value st = Get(cr).at("status");
    return st.has_string_field("fencedPrimary") ? st.at("fencedPrimary").as_string() : std::string("(none)");
  };
  auto fence = ParseFencedInstances(R"(["demo-0"])", {"demo-0", "demo-1", "demo-2"});
  ASSERT_TRUE(fence.ok()) << fence.error();
  act_->SetManualFence(*fence);
  plan::ClusterState s = Routed("demo-0", {"demo-1", "demo-2"});
  ASSERT_TRUE(act_->Save(s, 5).ok());
  auto observed = [](bool running, bool primary) {
    plan::Observation obs;
    plan::NodeObservation p;
    p.name = "demo-0";
    p.sidecarReachable = true;
    p.postgresRunning = running;
    p.pgReachable = primary;
    p.inRecovery = false;
    obs.nodes = {p};
    return obs;
  };
  {
    Actuator actuator(resource_.spec, "", PgCredentials{}, "");
    ASSERT_TRUE(act_->Load().ok());
    Status b = act_->BeforeActions(s, 5, observed(true, true), actuator);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.message().find("names the primary demo-0: stop its PostgreSQL"), std::string::npos) << b.message();
  }
  EXPECT_EQ(recorded(), "demo-0") << "recorded before the stop";
  // The leader goes; a new one acts in term 6 and the primary is unfenced.
  KubeActuator next(client_.get(), "db", "demo", [](uint64_t) {});
  next.SetResource(resource_, uid_);
  ASSERT_EQ(next.status()->MakeTermDurable(6).code, TermOutcome::Code::kDurable);
  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  ASSERT_TRUE(next.Load().ok());
  Status b = next.BeforeActions(s, 6, observed(false, false), actuator);
  ASSERT_FALSE(b.ok()) << "released to the planner, which would fail demo-0 over";
  EXPECT_NE(b.message().find("start its PostgreSQL again in place"), std::string::npos) << b.message();
  EXPECT_EQ(recorded(), "demo-0");
  // It answers as the primary again: released, the record cleared.
  ASSERT_TRUE(next.Load().ok());
  EXPECT_TRUE(next.BeforeActions(s, 6, observed(true, true), actuator).ok());
  EXPECT_EQ(recorded(), "(none)");
}

// The node-loss wait the actuator reports for the status, naming `says`.
// A look at demo-0 .. demo-2 in which every sidecar answers but `silent`'s.
plan::Observation AllAnswerBut(const std::string& silent) {
  plan::Observation look;
  for (const char* n : {"demo-0", "demo-1", "demo-2"}) {
    plan::NodeObservation o;
    o.name = n;
    o.sidecarReachable = n != silent;
    look.nodes.push_back(o);
  }
  return look;
}

void ExpectPodDeletionWait(KubeActuator& act, const std::string& says) {
  auto wait = act.NodeLossWait();
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->reason, "WaitingForPodDeletion");
  EXPECT_NE(wait->message.find(says), std::string::npos) << wait->message;
}

// Capacity after node loss (node_loss.h) under RecreateAfterFence: demo-2 is
// fenced and its sidecar silent; its pod is force-deleted only once the
// silence reaches nodeLossGracePeriod (the clock is the test's), by a DELETE
// whose uid precondition is the pod read this round, and the double's
// StatefulSet recreates it (a new uid, whose silence is timed afresh). A pod
// recreated between the read and the DELETE is not deleted (409).
TEST_F(KubeActuatorTest, RecreateAfterFenceForceDeletesAFencedSilentPodAfterTheGracePeriod) {
  resource_.nodeLossPolicy = NodeLossPolicy::kRecreateAfterFence;
  resource_.nodeLossGracePeriod = std::chrono::seconds(10);
  // The sidecars do not exist: loopback, where nothing listens, answers at once.
  for (auto& n : resource_.spec.nodes) n.host = "127.0.0.1";
  act_->SetResource(resource_, uid_);
  ApplyAndWaitForPods();
  auto clock = std::chrono::steady_clock::now();
  act_->SetClock([&clock] { return clock; });
  std::vector<std::string> recorded;
  act_->SetDecisionRecorder([&](const std::string& action, const std::string& node, const std::string&) {
    recorded.push_back(action + " " + node);
  });
  auto uid = [&](const std::string& pod) {
    value p = Pod(pod);
    return p.is_null() ? std::string() : p.at("metadata").at("uid").as_string();
  };
  plan::ClusterState s = Routed("demo-0", {"demo-1"});
  s.fenced = {"demo-2"};
  // demo-0 and demo-1 answer (their sidecars do not exist here: the term POST
  // to them fails, which is beside the point), demo-2 is silent.
  plan::Observation look = AllAnswerBut("demo-2");
  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  const std::string first = uid("demo-2");
  ASSERT_FALSE(first.empty());
  auto round = [&] { (void)act_->BeforeActions(s, 5, look, actuator); };
  round();
  clock += std::chrono::seconds(9);
  round();
  EXPECT_EQ(uid("demo-2"), first) << "silent 9 s of a 10 s grace period: kept";
  EXPECT_FALSE(act_->NodeLossWait()) << "not lost yet";
  // A pod recreated between this round's read and its DELETE: the uid
  // precondition fails (409), nothing is deleted.
  clock += std::chrono::seconds(1);
  std::string recreated;
  bool once = true;
  act_->SetAfterPodRead([&] {
    if (!once) return;
    once = false;
    auto d = client_->Delete(ResourcePath("", "v1", "pods", "db", "demo-2"),
                             value::parse(R"({"gracePeriodSeconds":0})"));
    ASSERT_TRUE(d.ok() && d->ok());
    recreated = uid("demo-2");
  });
  round();
  act_->SetAfterPodRead(nullptr);
  ASSERT_FALSE(recreated.empty()) << "the double's StatefulSet recreates a deleted pod";
  ASSERT_NE(recreated, first);
  EXPECT_EQ(uid("demo-2"), recreated) << "the DELETE carried the old uid: 409, the new pod stays";
  EXPECT_EQ(recorded, std::vector<std::string>{"force-delete-pod demo-2"});
  // The new pod's silence is timed from now: kept for the grace period, then deleted.
  round();
  clock += std::chrono::seconds(9);
  round();
  EXPECT_EQ(uid("demo-2"), recreated);
  clock += std::chrono::seconds(1);
  round();
  const std::string third = uid("demo-2");
  EXPECT_NE(third, recreated) << "deleted (gracePeriodSeconds 0) and recreated by the StatefulSet";
  EXPECT_FALSE(third.empty());
  EXPECT_EQ(recorded.size(), 2u);
  // A lost instance that is not fenced (a standby) is waited for, not deleted;
  // its silence is timed only once its sidecar answered and fell silent.
  s.fenced.clear();
  round();
  clock += std::chrono::seconds(30);
  round();
  EXPECT_FALSE(act_->NodeLossWait()) << "never answered: not lost by silence (it may be pending)";
  look.nodes[2].sidecarReachable = true;
  round();
  look.nodes[2].sidecarReachable = false;
  round();
  clock += std::chrono::seconds(10);
  round();
  EXPECT_EQ(uid("demo-2"), third);
  ExpectPodDeletionWait(*act_, "not in status.fenced, so not force-deleted; waiting for Kubernetes to delete pod "
                               "demo-2");
  EXPECT_EQ(recorded.back(), "wait-for-pod-deletion demo-2");
}

// Under Wait (the default) a lost instance's pod is never deleted: the wait
// names it; a node.kubernetes.io/out-of-service taint on its node makes it
// lost at once, with no grace period.
TEST_F(KubeActuatorTest, WaitNamesTheLostPodAndAnOutOfServiceNodeMakesItLostAtOnce) {
  ApplyAndWaitForPods();
  ASSERT_EQ(resource_.nodeLossPolicy, NodeLossPolicy::kWait);
  auto clock = std::chrono::steady_clock::now();
  act_->SetClock([&clock] { return clock; });
  value node = value::parse(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"node-b"},"spec":{}})");
  auto made = client_->Create(ResourcePath("", "v1", "nodes", ""), node);
  ASSERT_TRUE(made.ok() && made->ok()) << (made.ok() ? made->Describe() : made.error());
  auto bound = client_->MergePatch(ResourcePath("", "v1", "pods", "db", "demo-1"),
                                   value::parse(R"({"spec":{"nodeName":"node-b"}})"));
  ASSERT_TRUE(bound.ok() && bound->ok()) << (bound.ok() ? bound->Describe() : bound.error());
  const std::string uid = Pod("demo-1").at("metadata").at("uid").as_string();
  plan::ClusterState s = Routed("demo-0", {"demo-2"});
  plan::Observation obs;
  for (const char* n : {"demo-0", "demo-1", "demo-2"}) {
    plan::NodeObservation o;
    o.name = n;
    obs.nodes.push_back(o);
  }
  obs.nodes[0].sidecarReachable = obs.nodes[2].sidecarReachable = true;
  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  (void)act_->BeforeActions(s, 5, obs, actuator);
  EXPECT_FALSE(act_->NodeLossWait()) << "silent for less than the grace period, node not tainted";
  auto tainted = client_->MergePatch(
      ResourcePath("", "v1", "nodes", "", "node-b"),
      value::parse(R"({"spec":{"taints":[{"key":"node.kubernetes.io/out-of-service","value":"nodeshutdown",
                                            "effect":"NoExecute"}]}})"));
  ASSERT_TRUE(tainted.ok() && tainted->ok()) << (tainted.ok() ? tainted->Describe() : tainted.error());
  (void)act_->BeforeActions(s, 5, obs, actuator);
  ExpectPodDeletionWait(*act_, "demo-1 is lost (node node-b carries the node.kubernetes.io/out-of-service taint): "
                               "waiting for Kubernetes to delete pod demo-1");
  clock += std::chrono::minutes(10);
  (void)act_->BeforeActions(s, 5, obs, actuator);
  EXPECT_EQ(Pod("demo-1").at("metadata").at("uid").as_string(), uid) << "Wait never deletes the pod";
  // Its sidecar answers again: no longer lost.
  obs.nodes[1].sidecarReachable = true;
  (void)act_->BeforeActions(s, 5, obs, actuator);
  EXPECT_FALSE(act_->NodeLossWait());
}

// Node loss under Wait with a pod that does not go (#2): kube-fake holds
// demo-1's deletion (its kubelet, on the lost node, never confirms), so the
// eviction leaves it Terminating. The controller waits, and once
// podDeletionTimeout (10m by default; the clock is the test's) has passed
// since its first decision about that pod it reports it stuck (the wait
// timedOut, its reason saying what the user can do, a Warning Event
// PodDeletionTimedOut, a recorded decision), still without deleting it; once
// the kubelet confirms, the StatefulSet's new pod is not lost and the wait ends.
TEST_F(KubeActuatorTest, APodThatStaysTerminatingIsReportedStuckAfterPodDeletionTimeoutAndStillWaitedFor) {
  ApplyAndWaitForPods();
  ASSERT_EQ(resource_.podDeletionTimeout, std::chrono::minutes(10));
  auto clock = std::chrono::steady_clock::now();
  act_->SetClock([&clock] { return clock; });
  std::vector<std::string> recorded;
  act_->SetDecisionRecorder([&](const std::string& action, const std::string& node, const std::string&) {
    recorded.push_back(action + " " + node);
  });
  value node = value::parse(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"node-b"},"spec":{"taints":[
      {"key":"node.kubernetes.io/out-of-service","value":"nodeshutdown","effect":"NoExecute"}]}})");
  auto made = client_->Create(ResourcePath("", "v1", "nodes", ""), node);
  ASSERT_TRUE(made.ok() && made->ok()) << (made.ok() ? made->Describe() : made.error());
  auto bound = client_->MergePatch(ResourcePath("", "v1", "pods", "db", "demo-1"),
                                   value::parse(R"({"spec":{"nodeName":"node-b"}})"));
  ASSERT_TRUE(bound.ok() && bound->ok());
  const std::string uid = Pod("demo-1").at("metadata").at("uid").as_string();
  // The eviction of the lost node's pod: Terminating, and it stays.
  env_.fake().WithStore([](fake::ObjectStore& s) {
    s.HoldPodDeletion("db", "demo-1");
    return 0;
  });
  auto evicted = client_->Delete(ResourcePath("", "v1", "pods", "db", "demo-1"));
  ASSERT_TRUE(evicted.ok() && evicted->ok());
  ASSERT_TRUE(Pod("demo-1").at("metadata").has_field("deletionTimestamp"));

  plan::ClusterState s = Routed("demo-0", {"demo-2"});
  plan::Observation obs = AllAnswerBut("demo-1");
  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  (void)act_->BeforeActions(s, 5, obs, actuator);
  ExpectPodDeletionWait(*act_, "waiting for Kubernetes to delete pod demo-1");
  EXPECT_FALSE(act_->NodeLossWait()->timedOut);
  clock += std::chrono::minutes(9);
  (void)act_->BeforeActions(s, 5, obs, actuator);
  EXPECT_FALSE(act_->NodeLossWait()->timedOut);
  clock += std::chrono::minutes(1);
  (void)act_->BeforeActions(s, 5, obs, actuator);
  ASSERT_TRUE(act_->NodeLossWait());
  EXPECT_TRUE(act_->NodeLossWait()->timedOut);
  ExpectPodDeletionWait(*act_, "STUCK: pod demo-1 still exists podDeletionTimeout (600s) after the first decision "
                               "about it and is terminating");
  (void)act_->BeforeActions(s, 5, obs, actuator);  // reported once
  EXPECT_EQ(Pod("demo-1").at("metadata").at("uid").as_string(), uid) << "the stuck pod is not force-deleted";
  EXPECT_EQ(recorded, (std::vector<std::string>{"wait-for-pod-deletion demo-1", "pod-deletion-timed-out demo-1"}));
  const std::string stuck = WarningNotes("PodDeletionTimedOut");
  EXPECT_EQ(std::count(stuck.begin(), stuck.end(), '\n'), 1) << stuck;
  EXPECT_NE(stuck.find("demo-1"), std::string::npos) << stuck;

  // The kubelet confirms: the StatefulSet's new pod (no node yet, never
  // answered) is not lost; the wait ends.
  ASSERT_TRUE(env_.fake().WithStore([](fake::ObjectStore& st) { return st.ReleasePod("db", "demo-1"); }));
  ASSERT_FALSE(Pod("demo-1").is_null());
  EXPECT_NE(Pod("demo-1").at("metadata").at("uid").as_string(), uid);
  (void)act_->BeforeActions(s, 5, obs, actuator);
  EXPECT_FALSE(act_->NodeLossWait());
}

// The Actuator's failover steps: the state write recording the transition
// away from demo-0, then promote on demo-1 (whose sidecar does not exist here:
// the promote fails, which is beside the point).
std::vector<plan::Action> FailoverSteps(const plan::ClusterState& s) {
  plan::Action write;
  write.kind = plan::ActionKind::kWriteState;
  write.state = s;
  write.reason = "record the failover";
  plan::Action promote;
  promote.kind = plan::ActionKind::kPromote;
  promote.node = "demo-1";
  promote.reason = "promote demo-1";
  return {write, promote};
}

plan::ClusterState FailingOver() {
  plan::ClusterState s;
  s.version = 2;
  s.primary = "demo-0";
  s.routingGeneration = 2;
  s.routedStandbys = {"demo-2"};
  s.transition.kind = plan::TransitionKind::kFailover;
  s.transition.from = "demo-0";
  s.transition.to = "demo-1";
  return s;
}

TEST_F(KubeActuatorTest, TheFencedLabelLandsBeforeAPromote) {
  ApplyAndWaitForPods();
  ASSERT_TRUE(act_->Save(Routed("demo-0", {"demo-1", "demo-2"}), 5).ok());
  Status labelled = act_->LabelPods(Routed("demo-0", {"demo-1", "demo-2"}), 5, {});
  ASSERT_TRUE(labelled.ok()) << labelled.message();
  ASSERT_EQ(Role("demo-0"), "primary");
  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  std::string roleWhenWritten;
  actuator.SetStateWriter([&](const plan::ClusterState& s, uint64_t term) {
    auto r = act_->Save(s, term);
    roleWhenWritten = Role("demo-0");  // what demo-0 carries when the write completes
    return r;
  });
  auto results = actuator.Run(FailoverSteps(FailingOver()), 5, plan::Observation{}, [] { return true; });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok) << results[0].detail;
  EXPECT_EQ(results[1].action.kind, plan::ActionKind::kPromote);
  EXPECT_EQ(roleWhenWritten, "fenced") << "the write completed before demo-0 was out of NAME-rw";
}

TEST_F(KubeActuatorTest, APromoteIsWithheldWhileNoMajorityRoutesWithoutTheOldPrimary) {
  ApplyAndWaitForPods();
  ASSERT_TRUE(act_->Save(Routed("demo-0", {"demo-1", "demo-2"}), 5).ok());
  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  actuator.SetStateWriter([&](const plan::ClusterState& s, uint64_t term) { return act_->Save(s, term); });
  // No sidecar answers here (none runs): nobody has accepted routing without demo-0.
  Status b = act_->BeforeActions(Routed("demo-0", {"demo-1", "demo-2"}), 5, plan::Observation{}, actuator);
  ASSERT_TRUE(b.ok()) << b.message();
  auto results = actuator.Run(FailoverSteps(FailingOver()), 5, plan::Observation{}, [] { return true; });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok) << results[0].detail;
  EXPECT_FALSE(results[1].ok);
  EXPECT_NE(results[1].detail.find("promote withheld: routing without demo-0 accepted by 0 of 3 sidecars"),
            std::string::npos)
      << results[1].detail;
  EXPECT_EQ(Role("demo-0"), "fenced");
}

// Stand-in for one sidecar's routing table, and (when `watchdog` is set) its
// GET /v1/watchdog and GET /v1/status (see the header).
class RoutingStandIn {
 public:
  RoutingStandIn(int port, std::string primary, value watchdog = value::null(), value status = value::null())
      : listener_("http://127.0.0.1:" + std::to_string(port)), primary_(std::move(primary)),
        watchdog_(std::move(watchdog)), status_(std::move(status)) {
    listener_.support(web::http::methods::GET, [this](web::http::http_request req) {
      const std::string path = req.request_uri().path();
      if (path == "/v1/watchdog" && !watchdog_.is_null()) {
        req.reply(200, watchdog_);
        return;
      }
      if (path == "/v1/status" && !status_.is_null()) {
        req.reply(200, status_);
        return;
      }
      if (path != "/v1/proxy/routing") {
        req.reply(404);
        return;
      }
      req.reply(200, ToJson(RoutingTable{2, primary_, {}}));
    });
    listener_.open().wait();
  }
  ~RoutingStandIn() { listener_.close().wait(); }

 private:
  web::http::experimental::listener::http_listener listener_;
  std::string primary_;
  value watchdog_, status_;
};

// A watchdog member's GET /v1/watchdog (common/watchdog_detail.h): `state`,
// the leader demo-1 with quorum, demo-0 seen down by `down` members, and the
// member's writeLeaseOver for demo-0.
value WatchdogBody(const char* state, int down, bool leaseOver) {
  WatchdogDetail d;
  d.state = state;
  d.leader = "demo-1";
  d.term = 3;
  d.quorum = true;
  const char* names[] = {"demo-0", "demo-1", "demo-2"};
  for (int i = 0; i < 3; ++i) {
    WatchdogMember m;
    m.name = names[i];
    m.state = i == 0 ? "LOST" : i == 1 ? "LEADER" : "STANDBY";
    if (i != 1) m.contact = WatchdogPeerContact{i == 0 && leaseOver, std::nullopt, ""};
    d.members.push_back(m);
  }
  WatchdogBackend b;
  b.node = "demo-0";
  b.down = down;
  b.up = 2 - down;
  d.backends.push_back(b);
  return ToJson(d);
}

TEST_F(KubeActuatorTest, APromoteGoesOnceAMajorityRoutesWithoutTheOldPrimary) {
  ApplyAndWaitForPods();
  // The members' REST APIs on loopback: demo-1 and demo-2 route without demo-0,
  // demo-0 (cut off) still names itself.
  ClusterResource local = resource_;
  std::vector<std::unique_ptr<RoutingStandIn>> sidecars;
  const char* primaries[] = {"demo-0", "", ""};
  plan::Observation obs;
  for (size_t i = 0; i < local.spec.nodes.size(); ++i) {
    local.spec.nodes[i].host = "127.0.0.1";
    local.spec.nodes[i].apiPort = pgvigil::testing::FreePort();
    // demo-1 leads the watchdog: both live members see demo-0 down, its lease is over (§6 (i)).
    sidecars.push_back(std::make_unique<RoutingStandIn>(
        local.spec.nodes[i].apiPort, primaries[i],
        i == 1 ? WatchdogBody("LEADER", 2, true) : i == 2 ? WatchdogBody("STANDBY", 2, true) : value::null()));
    plan::NodeObservation o;
    o.name = local.spec.nodes[i].name;
    o.sidecarReachable = true;
    obs.nodes.push_back(o);
  }
  act_->SetResource(local, uid_);
  ASSERT_TRUE(act_->Save(Routed("demo-0", {"demo-1", "demo-2"}), 5).ok());
  ASSERT_TRUE(act_->Save(FailingOver(), 5).ok());
  Actuator actuator(local.spec, "", PgCredentials{}, "");
  plan::Action promote = FailoverSteps(FailingOver())[1];
  Status g = act_->CheckPromote(promote, obs, actuator);
  EXPECT_TRUE(g.ok()) << g.message();
  // Only demo-1 has it: 1 of 3 is no majority.
  obs.nodes[2].sidecarReachable = false;
  g = act_->CheckPromote(promote, obs, actuator);
  EXPECT_FALSE(g.ok());
  EXPECT_NE(g.message().find("accepted by 1 of 3"), std::string::npos) << g.message();
}

// §6 (i): routing without demo-0 is accepted by every member, but the
// watchdog leader's view does not (yet) show demo-0 down with its lease over.
TEST_F(KubeActuatorTest, APromoteIsHeldBackUntilAMajorityReportsTheOldPrimaryDownWithItsLeaseOver) {
  ApplyAndWaitForPods();
  struct Case {
    const char* name;
    int down;
    bool leaseOver;
    bool oldAnswers;  // demo-0's sidecar answers, PostgreSQL stopped
    bool allow;
    const char* says;
  } cases[] = {
      {"one member sees it down", 1, true, false, false, "seen down by 1 of 3 members"},
      {"lease not over, sidecar silent", 2, false, false, false, "its write lease may still run"},
      {"lease not over, its sidecar reports PostgreSQL stopped", 2, false, true, true, ""},
      {"lease over", 2, true, false, true, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ClusterResource local = resource_;
    std::vector<std::unique_ptr<RoutingStandIn>> sidecars;
    plan::Observation obs;
    value stopped = value::parse(R"({"postgres": {"running": false}})");
    for (size_t i = 0; i < local.spec.nodes.size(); ++i) {
      local.spec.nodes[i].host = "127.0.0.1";
      local.spec.nodes[i].apiPort = pgvigil::testing::FreePort();
      value wd = i == 1 ? WatchdogBody("LEADER", c.down, c.leaseOver) : value::null();
      sidecars.push_back(std::make_unique<RoutingStandIn>(local.spec.nodes[i].apiPort, "", wd,
                                                          i == 0 ? stopped : value::null()));
      plan::NodeObservation o;
      o.name = local.spec.nodes[i].name;
      o.sidecarReachable = i != 0 || c.oldAnswers;
      obs.nodes.push_back(o);
    }
    act_->SetResource(local, uid_);
    ASSERT_TRUE(act_->Save(Routed("demo-0", {"demo-1", "demo-2"}), 5).ok());
    ASSERT_TRUE(act_->Save(FailingOver(), 5).ok());
    Actuator actuator(local.spec, "", PgCredentials{}, "");
    Status g = act_->CheckPromote(FailoverSteps(FailingOver())[1], obs, actuator);
    EXPECT_EQ(g.ok(), c.allow) << g.message();
    if (!c.allow) {
      EXPECT_NE(g.message().find(c.says), std::string::npos) << g.message();
    }
  }
}

// demo-0, the recorded primary (`state`, made not routed), fenced its
// PostgreSQL itself in term 5 and only its sidecar answers (demo-1 and demo-2
// are away); the instances' sidecar ports are free local ones.
struct SelfFencedPrimaryRig {
  ClusterResource local;
  plan::ClusterState state;
  std::vector<int> ports;
  plan::Observation obs;
  std::vector<std::unique_ptr<RoutingStandIn>> sidecars;

  SelfFencedPrimaryRig(ClusterResource resource, plan::ClusterState routed)
      : local(std::move(resource)), state(std::move(routed)) {
    for (auto& n : local.spec.nodes) {
      n.host = "127.0.0.1";
      n.apiPort = pgvigil::testing::FreePort();
      ports.push_back(n.apiPort);
      plan::NodeObservation o;
      o.name = n.name;
      obs.nodes.push_back(o);
    }
    state.routedPrimary = "";
    obs.nodes[0].sidecarReachable = true;
    obs.nodes[0].selfFencedInTerm = 5;
    obs.nodes[0].dataDirectoryRole = plan::DataDirectoryRole::kPrimary;
    sidecars.push_back(std::make_unique<RoutingStandIn>(ports[0], ""));
  }
  // The majority is back: demo-1 leads with quorum and demo-0's lease runs.
  void MajorityBack() {
    sidecars.push_back(std::make_unique<RoutingStandIn>(ports[1], "", WatchdogBody("LEADER", 0, false)));
    obs.nodes[1].sidecarReachable = true;
  }
};

// A primary its own sidecar fenced in this term (its write lease ran out) while
// a majority of the watchdog members is away: no new term is asked for it and
// the planner's start is withheld (started, it would fence itself again: start,
// fence, term raise about once a second), the status shows the wait; once the
// watchdog leader counts it live, both go ahead.
TEST_F(KubeActuatorTest, ASelfFencedPrimaryWaitsForTheWatchdogToCountItLive) {
  ApplyAndWaitForPods();
  SelfFencedPrimaryRig rig(resource_, Routed("demo-0", {}));
  const plan::ClusterState& state = rig.state;
  const plan::Observation& obs = rig.obs;
  act_->SetResource(rig.local, uid_);
  std::vector<uint64_t> raised;
  act_->SetTermRaiser([&](uint64_t above, const std::string&) { raised.push_back(above); });
  ASSERT_TRUE(act_->Save(state, 5).ok());
  Actuator actuator(rig.local.spec, "", PgCredentials{}, "");
  actuator.SetStateWriter([&](const plan::ClusterState& s, uint64_t term) { return act_->Save(s, term); });
  plan::Action start;
  start.kind = plan::ActionKind::kStart;
  start.node = "demo-0";
  start.reason = "start it again as the primary";

  Status b = act_->BeforeActions(state, 5, obs, actuator);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_TRUE(raised.empty()) << "a new term was asked for while no watchdog leader counts demo-0 live";
  auto results = actuator.Run({start}, 5, obs, [] { return true; });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok);
  EXPECT_NE(results[0].detail.find("start withheld: waiting for the watchdog"), std::string::npos)
      << results[0].detail;
  auto wait = act_->SelfFenceWait();
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(wait->reason, "NoConsensus");
  EXPECT_NE(wait->message.find("demo-0 fenced its PostgreSQL itself in term 5"), std::string::npos) << wait->message;

  rig.MajorityBack();
  b = act_->BeforeActions(state, 5, obs, actuator);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(raised, std::vector<uint64_t>{5});
  EXPECT_FALSE(act_->SelfFenceWait().has_value());
  results = actuator.Run({start}, 5, obs, [] { return true; });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].detail.find("withheld"), std::string::npos) << results[0].detail;
}

// The same hold, round after round: the planner is told (StartHolds, so it
// plans no start to withhold) and the hold is decided, logged and recorded
// once, not each round; its end is recorded once too.
TEST_F(KubeActuatorTest, ASelfFencedPrimarysHoldIsRecordedOnceAndKeepsItsStartUnplanned) {
  ApplyAndWaitForPods();
  SelfFencedPrimaryRig rig(resource_, Routed("demo-0", {}));
  act_->SetResource(rig.local, uid_);
  act_->SetTermRaiser([](uint64_t, const std::string&) {});
  std::vector<std::string> recorded;
  act_->SetDecisionRecorder([&](const std::string& action, const std::string& node, const std::string&) {
    if (action.rfind("self-fence", 0) == 0) recorded.push_back(action + " " + node);
  });
  ASSERT_TRUE(act_->Save(rig.state, 5).ok());
  Actuator actuator(rig.local.spec, "", PgCredentials{}, "");

  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Status b = act_->BeforeActions(rig.state, 5, rig.obs, actuator);
    ASSERT_TRUE(b.ok()) << b.message();
    const auto holds = act_->StartHolds();
    ASSERT_EQ(holds.count("demo-0"), 1u);
    EXPECT_NE(holds.at("demo-0").find("waiting for the watchdog"), std::string::npos) << holds.at("demo-0");
    EXPECT_EQ(holds.size(), 1u);
  }
  EXPECT_EQ(recorded, std::vector<std::string>{"self-fence-hold demo-0"});

  // The majority is back: the hold ends, recorded once.
  rig.MajorityBack();
  for (int round = 0; round < 2; ++round) {
    Status b = act_->BeforeActions(rig.state, 5, rig.obs, actuator);
    ASSERT_TRUE(b.ok()) << b.message();
    EXPECT_TRUE(act_->StartHolds().empty());
  }
  EXPECT_EQ(recorded, (std::vector<std::string>{"self-fence-hold demo-0", "self-fence-released demo-0"}));
}

// An action that ended while this controller no longer acts (paused past its
// renew deadline, the Lease taken over) is not reported: no Event is posted,
// since a controller that does not lead writes nothing to the API.
TEST_F(KubeActuatorTest, NoEventWhileThisControllerDoesNotAct) {
  uint64_t acting = 5;
  act_->SetActingTerm([&acting] { return acting; });
  ApplyAndWaitForPods();
  ASSERT_TRUE(act_->LabelPods(Routed("demo-0", {"demo-1", "demo-2"}), 5, {}).ok());  // acting under term 5
  auto count = [this](const std::string& reason) {
    auto events = client_->List(ResourcePath("events.k8s.io", "v1", "events", "db"));
    EXPECT_TRUE(events.ok());
    int n = 0;
    for (const auto& e : events->items) n += e.at("reason").as_string() == reason;
    return n;
  };
  act_->Decided("promote", "demo-1", "failover: demo-1 has the most WAL", true, "");
  EXPECT_EQ(count("Promote"), 1);
  acting = 0;  // the renew deadline passed
  act_->Decided("promote", "demo-2", "failover: demo-2 has the most WAL", true, "");
  acting = 6;  // another term acts now (this process leads again, later)
  act_->Decided("promote", "demo-0", "failover: demo-0 has the most WAL", true, "");
  EXPECT_EQ(count("Promote"), 1);
}

TEST_F(KubeActuatorTest, ADeposedControllerWritesNothingMoreAndSendsNoPromote) {
  ApplyAndWaitForPods();
  ASSERT_TRUE(act_->Save(Routed("demo-0", {"demo-1", "demo-2"}), 5).ok());
  ASSERT_TRUE(act_->LabelPods(Routed("demo-0", {"demo-1", "demo-2"}), 5, {}).ok());
  // A newer controller stamped demo-2 with its term.
  auto r = client_->MergePatch(ResourcePath("", "v1", "pods", "db", "demo-2"),
                               value::parse(R"({"metadata":{"annotations":{"pgvigil.io/term":"9"}}})"));
  ASSERT_TRUE(r.ok() && r->ok());
  std::map<std::string, std::string> before;
  for (const char* p : {"demo-0", "demo-1", "demo-2"})
    before[p] = Rv(ResourcePath("", "v1", "pods", "db", p));
  const std::string sts = ResourcePath("apps", "v1", "statefulsets", "db", "demo");
  before["sts"] = Rv(sts);

  Actuator actuator(resource_.spec, "", PgCredentials{}, "");
  actuator.SetStateWriter([&](const plan::ClusterState& s, uint64_t term) { return act_->Save(s, term); });
  auto results = actuator.Run(FailoverSteps(FailingOver()), 5, plan::Observation{}, [] { return true; });
  ASSERT_EQ(results.size(), 1u) << "no promote after a state write whose fence label could not land";
  EXPECT_FALSE(results[0].ok);
  EXPECT_NE(results[0].detail.find("deposed"), std::string::npos) << results[0].detail;
  EXPECT_EQ(deposedBy_, 9u) << "the elector is told";
  // From now on: no apply (a newer term's stamp), no label, no state.
  Status b = act_->BeforeActions(Routed("demo-1", {"demo-2"}), 5, plan::Observation{}, actuator);
  EXPECT_FALSE(b.ok());
  EXPECT_FALSE(act_->Save(Routed("demo-1", {}), 5).ok());
  for (const char* p : {"demo-0", "demo-1", "demo-2"})
    EXPECT_EQ(Rv(ResourcePath("", "v1", "pods", "db", p)), before[p]) << p << " was written after deposition";
  EXPECT_EQ(Rv(sts), before["sts"]);
  EXPECT_EQ(Role("demo-0"), "primary");
}

// The fence label a state asks for agrees with the role labels: a switchover
// still routing to its old primary (catch-up, pause) keeps it `primary`, so no
// fenced label may be asked then (it would block every action: the label
// patches never make it fenced); once routing leaves it, it must be fenced.
TEST(KubeActuatorFencedInstances, TheOutgoingPrimaryOnceRoutingLeavesIt) {
  plan::ClusterState s;
  s.primary = s.routedPrimary = "demo-0";
  s.routedStandbys = {"demo-1", "demo-2"};
  s.fenced = {"demo-2"};
  EXPECT_EQ(FencedInstances(s), (std::set<std::string>{"demo-2"}));
  s.transition.kind = plan::TransitionKind::kSwitchover;
  s.transition.from = "demo-0";
  s.transition.to = "demo-1";
  EXPECT_EQ(FencedInstances(s), (std::set<std::string>{"demo-2"}));
  LabelInputs in;
  in.instances = {"demo-0", "demo-1", "demo-2"};
  in.state = s;
  EXPECT_EQ(RoleOf(in, "demo-0"), PodRole::kPrimary);
  s.routedPrimary.clear();
  EXPECT_EQ(FencedInstances(s), (std::set<std::string>{"demo-0", "demo-2"}));
  in.state = s;
  EXPECT_EQ(RoleOf(in, "demo-0"), PodRole::kFenced);
}

// A node operation's answers read the tolerant way of common/json_fields.h: a
// sidecar whose GET /v1/node/operations/ID has a "state" of another type (a
// bug, a proxy in between) is polled again, never an exception out of the
// actuator; the 202 answer is a NodeOperationStarted (common/node_operation.h).
TEST_F(KubeActuatorTest, AnOperationStateOfAnotherTypeIsPolledAgain) {
  const int port = pgvigil::testing::FreePort();
  web::http::experimental::listener::http_listener sidecar("http://127.0.0.1:" + std::to_string(port));
  std::atomic<int> polls{0};
  sidecar.support(web::http::methods::POST, [](web::http::http_request req) {
    NodeOperationStarted s;
    s.id = "op-1";
    s.operation.id = "op-1";
    s.operation.type = "promote";
    s.operation.state = "running";
    req.reply(202, ToJson(s));
  });
  sidecar.support(web::http::methods::GET, [&](web::http::http_request req) {
    if (req.request_uri().path() != "/v1/node/operations/op-1") {
      req.reply(404);
      return;
    }
    value v = value::object();
    v["id"] = value::string("op-1");
    v["state"] = ++polls < 3 ? value::number(3) : value::string("succeeded");
    req.reply(200, v);
  });
  sidecar.open().wait();
  ClusterSpec spec = resource_.spec;
  spec.api.tls = TlsSpec{};
  spec.nodes[1].host = "127.0.0.1";
  spec.nodes[1].apiPort = port;
  Actuator actuator(spec, "", PgCredentials{}, "");
  plan::Action promote;
  promote.kind = plan::ActionKind::kPromote;
  promote.node = spec.nodes[1].name;
  promote.mustSucceed = true;
  auto results = actuator.Run({promote}, 5, plan::Observation{}, [] { return true; });
  sidecar.close().wait();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].ok) << results[0].detail;
  EXPECT_EQ(results[0].detail, "operation op-1 succeeded");
  EXPECT_GE(polls.load(), 3);
}

// §4.1's register mirror, with real sidecars (three, watchdog on, over the
// test's PostgreSQL cluster; the resource's instances pointed at them): after
// a state write (status CAS) the same document is in the watchdog register,
// which is what the proxies' write fence reads (GET /v1/watchdog/register on
// every sidecar). With the sidecars gone, a state write still returns at once:
// the mirror is best effort and never in the way.
TEST_F(KubeActuatorTest, AStateWriteIsMirroredToTheWatchdogRegister) {
  auto pg = testing::PgTestCluster::Create();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const std::string dir = (*pg)->dir();
  ClusterSpec spec = (*pg)->MakeSpecOnFreePorts();
  spec.proxy.enabled = false;
  spec.watchdog.enabled = true;
  spec.watchdog.authKeyFile = dir + "/watchdog.key";
  ASSERT_TRUE(WriteFileAtomic(spec.watchdog.authKeyFile, "mirror-test-key\n", 0600).ok());
  spec.api.tokenFile = dir + "/api.token";
  ASSERT_TRUE(WriteFileAtomic(spec.api.tokenFile, "mirror-test-token\n", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/cluster.yaml", SpecToYaml(spec), 0644).ok());
  std::vector<std::unique_ptr<testing::ChildProcess>> sidecars;
  for (const auto& n : spec.nodes) {
    std::string err;
    sidecars.push_back(std::make_unique<testing::ChildProcess>());
    ASSERT_TRUE(sidecars.back()->Start({PGVIGIL_SIDECAR_BIN, "-f", dir + "/cluster.yaml", "--node", n.name,
                                        "--state-dir", dir + "/state-" + n.name, "--log-level", "debug"},
                                       dir + "/sidecar-" + n.name + ".log", &err))
        << err;
  }
  std::vector<std::unique_ptr<RestClient>> apis;
  for (const auto& n : spec.nodes) apis.push_back(std::make_unique<RestClient>(spec.ApiUrl(n), ""));
  auto wait_for = [](const std::function<bool()>& pred, int ms) {
    for (int i = 0; i < ms / 100 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return pred();
  };
  ASSERT_TRUE(wait_for([&] {
    for (auto& a : apis) {
      auto r = a->Get("/v1/watchdog");
      if (r.ok() && r->status == 200 && r->body.has_string_field("state") &&
          r->body.at("state").as_string() == "LEADER" && r->body.has_boolean_field("quorum") &&
          r->body.at("quorum").as_bool())
        return true;
    }
    return false;
  }, 30000)) << sidecars[0]->LogTail(30);
  // The controller's view of the instances: demo-i is the sidecar of node i.
  for (size_t i = 0; i < resource_.spec.nodes.size(); ++i) {
    resource_.spec.nodes[i].host = "127.0.0.1";
    resource_.spec.nodes[i].apiPort = spec.nodes[i].apiPort;
  }
  resource_.spec.api.tls = TlsSpec{};
  act_->SetResource(resource_, uid_);
  act_->SetSidecarToken("mirror-test-token");

  plan::ClusterState s = Routed("demo-0", {"demo-1", "demo-2"});
  s.routingGeneration = 4;
  s.fenced = {"demo-2"};
  auto saved = act_->Save(s, 5);
  ASSERT_TRUE(saved.ok()) << saved.error();
  const value doc = EncodeClusterState(s);
  for (size_t i = 0; i < apis.size(); ++i)
    EXPECT_TRUE(wait_for([&] {
      auto r = apis[i]->Get("/v1/watchdog/register");
      return r.ok() && r->status == 200 && r->body.has_field("doc") &&
             r->body.at("doc").serialize() == doc.serialize();
    }, 10000))
        << "sidecar " << i << ": " << [&] {
             auto r = apis[i]->Get("/v1/watchdog/register");
             return r.ok() ? r->body.serialize() : r.error();
           }() << "\nwanted " << doc.serialize();
  // The register's routing generation and fence are what the proxies compare.
  auto reg = apis[0]->Get("/v1/watchdog/register");
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(reg->body.at("doc").at("rg").as_integer(), 4);
  EXPECT_EQ(reg->body.at("doc").at("fe").serialize(), R"(["demo-2"])");

  // What real sidecars serve is the contract of common/watchdog_register.h to
  // the byte: each GET reads without a note and is written again unchanged; a
  // PUT written with the type is taken by the leader, whose answer is the type too.
  int leaders = 0;
  for (size_t i = 0; i < apis.size(); ++i) {
    auto r = apis[i]->Get("/v1/watchdog/register");
    ASSERT_TRUE(r.ok()) << r.error();
    std::vector<std::string> notes;
    auto v = WatchdogRegisterValueFromJson(r->body, &notes);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_TRUE(notes.empty()) << notes.front();
    EXPECT_EQ(ToJson(*v).serialize(), r->text) << "sidecar " << i;
    EXPECT_EQ(v->doc.serialize(), doc.serialize());
    // The controller's state document in it is common/cluster_state_doc.h's, to
    // the byte, for both readers (the controller's and the proxies' fence).
    auto strict = ClusterStateDocFromJsonStrict(v->doc);
    ASSERT_TRUE(strict.ok()) << strict.error();
    const ClusterStateDoc tolerant = ClusterStateDocFromJson(v->doc, &notes);
    EXPECT_TRUE(notes.empty()) << notes.front();
    EXPECT_TRUE(*strict == tolerant);
    EXPECT_TRUE(*strict == ToClusterStateDoc(s));
    EXPECT_EQ(tolerant.routingGeneration, 4u);
    EXPECT_EQ(tolerant.fenced, std::vector<std::string>{"demo-2"});
    WatchdogRegisterValue again = *v;
    again.doc = ToJson(*strict);
    EXPECT_EQ(ToJson(again).serialize(), r->text) << "sidecar " << i;
    RestClient writer(spec.ApiUrl(spec.nodes[i]), "mirror-test-token");
    auto w = writer.Put("/v1/watchdog/register", ToJson(WatchdogRegisterWrite{5, doc, uint64_t(3000)}));
    ASSERT_TRUE(w.ok()) << w.error();
    if (w->status != 200) {
      EXPECT_EQ(w->status, 409) << w->text;  // not the leader
      continue;
    }
    ++leaders;
    auto written = WatchdogRegisterWrittenFromJson(w->body, &notes);
    ASSERT_TRUE(written.ok()) << written.error();
    EXPECT_TRUE(notes.empty()) << notes.front();
    EXPECT_EQ(ToJson(*written).serialize(), w->text);
    EXPECT_GT(written->version, v->version);
  }
  EXPECT_EQ(leaders, 1);

  // A write under an older term is refused by every sidecar with the one
  // refusal body of common/agent_refusal.h, to the byte, and the register
  // mirror reads that refusal as a newer term in force: it drops the offer
  // (done with, not retried every 100 ms for ever).
  for (size_t i = 0; i < apis.size(); ++i) {
    RestClient writer(spec.ApiUrl(spec.nodes[i]), "mirror-test-token");
    auto w = writer.Put("/v1/watchdog/register", ToJson(WatchdogRegisterWrite{4, doc, uint64_t(3000)}));
    ASSERT_TRUE(w.ok()) << w.error();
    EXPECT_EQ(w->status, 409) << w->text;
    std::vector<std::string> notes;
    const AgentRefusal refused = AgentRefusalFromJson(w->body, &notes);
    EXPECT_TRUE(notes.empty()) << notes.front();
    EXPECT_EQ(refused.reason, refusal::kStaleTerm) << w->text;
    EXPECT_EQ(refused.term, std::optional<uint64_t>(5)) << w->text;
    EXPECT_EQ(ToJson(refused).serialize(), w->text) << "sidecar " << i;
  }
  {
    RegisterMirror mirror("test/stale", std::chrono::milliseconds(100));
    std::vector<std::string> urls;
    for (const auto& n : spec.nodes) urls.push_back(spec.ApiUrl(n));
    mirror.Offer(doc, 4, urls, "mirror-test-token");
    EXPECT_TRUE(wait_for([&] { return mirror.landed() == 1; }, 10000)) << "a stale offer was not dropped";
  }

  // Every sidecar gone: the state write does not wait for the mirror.
  for (auto& sc : sidecars) sc->Stop();
  plan::ClusterState next = *act_->status()->Load();
  next.routingGeneration = 5;
  const auto t0 = std::chrono::steady_clock::now();
  auto again = act_->Save(next, 5);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_LT(took, std::chrono::milliseconds(1000)) << "the state write waited for the register mirror";
}

// Stand-in for one sidecar's PUT /v1/node/spec (see the header): records each
// pushed body and answers as a sidecar taking parameters live would, a
// restart-only max_connections reported pending a restart.
class SpecStandIn {
 public:
  SpecStandIn(const std::string& host, int port) : listener_("http://" + host + ":" + std::to_string(port)) {
    listener_.support(web::http::methods::PUT, [this](web::http::http_request req) {
      if (req.request_uri().path() != "/v1/node/spec") {
        req.reply(404);
        return;
      }
      const std::string body = req.extract_utf8string(true).get();
      SpecPushError e;
      SpecParseOptions o;
      o.checkSecretFiles = false;
      auto push = DecodeSpecPush(body, &e, o);
      if (!push.ok()) {
        req.reply(400, value::string(e.field + ": " + e.reason));
        return;
      }
      NodeSpecPushReply r;
      if (push->check) {  // as a sidecar checks against its pg_settings (rows set by CheckWith)
        std::lock_guard<std::mutex> l(mu_);
        ++checks_;
        r.generation = taken_;
        r.outcome = SpecPushOutcome::kApplied;
        auto problems = CheckParameters(settings_, push->spec.postgres.parameters);
        if (!problems.empty()) {
          r.outcome = SpecPushOutcome::kFailed;
          r.field = "spec.postgres.parameters." + problems.front().name;
          r.reason = "PostgreSQL would refuse " + DescribeProblems(problems);
        }
        req.reply(200, EncodeSpecPushReply(r));
        return;
      }
      r.generation = push->generation;
      r.outcome = SpecPushOutcome::kApplied;
      r.reason = "stand-in";
      if (push->spec.postgres.parameters.count("max_connections")) r.pendingRestart = {"max_connections"};
      {
        std::lock_guard<std::mutex> l(mu_);
        pushes_.push_back(*push);
        auto it = push->spec.postgres.parameters.find(refuseName_);
        if (it != push->spec.postgres.parameters.end() && it->second == refuseValue_) {
          // As a sidecar whose PostgreSQL refused the setting: failed, the
          // generation it held before kept.
          r.outcome = SpecPushOutcome::kFailed;
          r.generation = taken_;
          r.field = "spec.postgres.parameters." + refuseName_;
          r.reason = "PostgreSQL refused " + refuseName_ + ": value '" + refuseValue_ + "'";
        } else {
          taken_ = push->generation;
        }
      }
      req.reply(200, EncodeSpecPushReply(r));
    });
    listener_.open().wait();
  }
  ~SpecStandIn() { listener_.close().wait(); }
  std::vector<NodeSpecPush> pushes() {
    std::lock_guard<std::mutex> l(mu_);
    return pushes_;
  }
  // The pg_settings rows "check" pushes are answered from.
  void CheckWith(SettingTable rows) {
    std::lock_guard<std::mutex> l(mu_);
    settings_ = std::move(rows);
  }
  int checks() {
    std::lock_guard<std::mutex> l(mu_);
    return checks_;
  }
  // Answer `failed` to a push whose parameter `name` is `value` ("": none).
  void Refuse(std::string name, std::string value) {
    std::lock_guard<std::mutex> l(mu_);
    refuseName_ = std::move(name);
    refuseValue_ = std::move(value);
  }

 private:
  web::http::experimental::listener::http_listener listener_;
  std::mutex mu_;
  std::vector<NodeSpecPush> pushes_;
  std::string refuseName_, refuseValue_;
  uint64_t taken_ = 0;
  SettingTable settings_;
  int checks_ = 0;
};

// A SpecStandIn per member of `local` (a loopback host each: the pushed spec
// must validate), each seen reachable in `obs`; plain HTTP.
std::vector<std::unique_ptr<SpecStandIn>> SpecStandIns(ClusterResource* local, plan::Observation* obs) {
  std::vector<std::unique_ptr<SpecStandIn>> sidecars;
  for (size_t i = 0; i < local->spec.nodes.size(); ++i) {
    auto& n = local->spec.nodes[i];
    n.host = "127.0.0." + std::to_string(i + 1);
    n.apiPort = pgvigil::testing::FreePort();
    sidecars.push_back(std::make_unique<SpecStandIn>(n.host, n.apiPort));
    plan::NodeObservation o;
    o.name = n.name;
    o.sidecarReachable = true;
    obs->nodes.push_back(o);
  }
  local->spec.api.tls = TlsSpec{};
  return sidecars;
}

// SpecStandIns that answer "check" pushes from pg_settings rows of work_mem,
// max_connections and shared_buffers.
std::vector<std::unique_ptr<SpecStandIn>> CheckingStandIns(ClusterResource* local, plan::Observation* obs) {
  std::vector<std::unique_ptr<SpecStandIn>> sidecars = SpecStandIns(local, obs);
  for (auto& s : sidecars)
    s->CheckWith(ParseSettingRows("work_mem\tinteger\tkB\t64\t2147483647\t\n"
                                  "max_connections\tinteger\t\t1\t262143\t\n"
                                  "shared_buffers\tinteger\t8kB\t16\t1073741823\t\n"));
  return sidecars;
}

// The actuator's recorded decisions, "action node: reason" each.
void RecordDecisionsInto(KubeActuator* act, std::vector<std::string>* out) {
  act->SetDecisionRecorder([out](const std::string& action, const std::string& node, const std::string& reason) {
    out->push_back(action + " " + node + ": " + reason);
  });
}

// A parameter check's pieces: the resource's members as CheckingStandIns,
// each seen reachable, an Actuator over them, and the decisions `act` records.
struct ParameterRig {
  ParameterRig(const ClusterResource& resource, KubeActuator* act)
      : local(resource), sidecars(CheckingStandIns(&local, &obs)), actuator(local.spec, "", PgCredentials{}, "") {
    RecordDecisionsInto(act, &recorded);
  }
  ClusterResource local;
  plan::Observation obs;
  std::vector<std::unique_ptr<SpecStandIn>> sidecars;
  Actuator actuator;
  std::vector<std::string> recorded;
};

// KUBERNETES.md §3, §4.3: a change of spec.postgres.parameters (nothing else)
// renders NAME-config with the parameters and a newer spec generation, and the
// next acting round pushes that spec to every member, once.
TEST_F(KubeActuatorTest, AParameterChangeRendersTheConfigAndIsPushedToEveryMemberWithANewerGeneration) {
  ClusterResource local = resource_;
  plan::Observation obs;
  std::vector<std::unique_ptr<SpecStandIn>> sidecars = SpecStandIns(&local, &obs);
  Actuator actuator(local.spec, "", PgCredentials{}, "");
  const std::string config = ResourcePath("", "v1", "configmaps", "db", "demo-config");
  auto config_yaml = [&] { return Get(config).at("data").at("cluster.yaml").as_string(); };

  act_->SetResource(local, uid_, "accepted from generation 1");
  ASSERT_TRUE(act_->ApplyOwnedObjects(5).ok());
  act_->SendSpec(5, obs, actuator);
  const uint64_t first = act_->specGeneration();
  EXPECT_EQ(SpecFileGeneration(config_yaml()), first);

  // work_mem changed in the custom resource (generation 2).
  local.spec.postgres.parameters["work_mem"] = "8MB";
  ClusterSpec before = local.spec;
  before.postgres.parameters.erase("work_mem");
  EXPECT_EQ(SpecChangeWhy(&before, local.spec, 5), "the rendered spec changed at spec.postgres.parameters.work_mem");
  EXPECT_EQ(SpecChangeWhy(&local.spec, local.spec, 6), "the same spec again under term 6");
  act_->SetResource(local, uid_, "accepted from generation 2");
  ASSERT_TRUE(act_->ApplyOwnedObjects(5).ok());
  const uint64_t second = act_->specGeneration();
  EXPECT_GT(second, first);
  EXPECT_EQ(SpecFileGeneration(config_yaml()), second);
  SpecParseOptions no_files;
  no_files.checkSecretFiles = false;
  SpecLoad rendered = ParseSpec(config_yaml(), "cluster.yaml", no_files);
  ASSERT_TRUE(rendered.ok()) << rendered.ErrorText();
  EXPECT_EQ(rendered.spec->postgres.parameters.at("work_mem"), "8MB");
  act_->SendSpec(5, obs, actuator);
  act_->SendSpec(5, obs, actuator);  // answered: not again
  for (size_t i = 0; i < sidecars.size(); ++i) {
    auto pushes = sidecars[i]->pushes();
    ASSERT_EQ(pushes.size(), 2u) << "member " << i;
    EXPECT_EQ(pushes[0].generation, first);
    EXPECT_EQ(pushes[1].generation, second);
    EXPECT_EQ(pushes[1].term, 5u);
    EXPECT_EQ(pushes[1].spec.postgres.parameters.at("work_mem"), "8MB");
  }

  // A restart-only parameter: pushed too (the sidecars report it pending a
  // restart; the rollout, kube_rollout.h, replaces their pods one at a time).
  local.spec.postgres.parameters["max_connections"] = "300";
  act_->SetResource(local, uid_, "accepted from generation 3");
  ASSERT_TRUE(act_->ApplyOwnedObjects(5).ok());
  EXPECT_GT(act_->specGeneration(), second);
  act_->SendSpec(5, obs, actuator);
  for (auto& s : sidecars) {
    auto pushes = s->pushes();
    ASSERT_EQ(pushes.size(), 3u);
    EXPECT_EQ(pushes[2].spec.postgres.parameters.at("max_connections"), "300");
  }
}

// A push one sidecar answers `failed` (PostgreSQL refused the setting):
// reported (ParameterFailures for the status, a Warning Event naming the pod
// and the setting, a recorded decision) and sent again with backoff (10 s,
// then 20 s), not before; once the sidecar takes it the failure is cleared
// and it is not sent again.
TEST_F(KubeActuatorTest, AParameterPushAnsweredFailedIsReportedAndSentAgainWithBackoff) {
  ClusterResource local = resource_;
  plan::Observation obs;
  std::vector<std::unique_ptr<SpecStandIn>> sidecars = SpecStandIns(&local, &obs);
  Actuator actuator(local.spec, "", PgCredentials{}, "");
  auto clock = std::chrono::steady_clock::now();
  act_->SetClock([&clock] { return clock; });
  std::vector<std::string> recorded;
  act_->SetDecisionRecorder([&](const std::string& action, const std::string& node, const std::string& reason) {
    recorded.push_back(action + " " + node + ": " + reason);
  });
  sidecars[1]->Refuse("work_mem", "1kB");
  local.spec.postgres.parameters["work_mem"] = "1kB";
  act_->SetResource(local, uid_, "accepted from generation 2");
  ASSERT_TRUE(act_->ApplyOwnedObjects(5).ok());
  auto count = [&](size_t i) { return sidecars[i]->pushes().size(); };

  act_->SendSpec(5, obs, actuator);
  EXPECT_EQ(count(0), 1u);
  EXPECT_EQ(count(1), 1u);
  std::vector<std::string> failures = act_->ParameterFailures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].rfind("demo-1: spec.postgres.parameters.work_mem: PostgreSQL refused work_mem", 0), 0u)
      << failures[0];
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_NE(recorded[0].find("push-spec demo-1: spec.postgres.parameters.work_mem"), std::string::npos)
      << recorded[0];
  const std::string notes = WarningNotes("ParametersFailed");
  EXPECT_NE(notes.find("pod demo-1: spec.postgres.parameters.work_mem not taken"), std::string::npos) << notes;

  // Within the backoff: nothing is sent; the others, answered, not again either.
  act_->SendSpec(5, obs, actuator);
  clock += std::chrono::seconds(9);
  act_->SendSpec(5, obs, actuator);
  EXPECT_EQ(count(0), 1u);
  EXPECT_EQ(count(1), 1u);
  clock += std::chrono::seconds(2);  // 11 s after the failure
  act_->SendSpec(5, obs, actuator);
  EXPECT_EQ(count(1), 2u);
  EXPECT_EQ(act_->ParameterFailures().size(), 1u);
  clock += std::chrono::seconds(11);  // the second wait is 20 s
  act_->SendSpec(5, obs, actuator);
  EXPECT_EQ(count(1), 2u);
  clock += std::chrono::seconds(10);
  act_->SendSpec(5, obs, actuator);
  EXPECT_EQ(count(1), 3u);

  // The sidecar takes it at the next try: cleared, and not sent again.
  sidecars[1]->Refuse("", "");
  clock += std::chrono::seconds(41);
  act_->SendSpec(5, obs, actuator);
  EXPECT_EQ(count(1), 4u);
  EXPECT_TRUE(act_->ParameterFailures().empty());
  clock += std::chrono::seconds(600);
  act_->SendSpec(5, obs, actuator);
  EXPECT_EQ(count(1), 4u);
  EXPECT_EQ(count(0), 1u);
  EXPECT_EQ(count(2), 1u);
}

// A custom resource whose postgres.parameters PostgreSQL would refuse
// (work_mem: -1, below min_val): checked by the primary's sidecar before it
// reaches NAME-config, reported (the status' SpecValid=False
// ParametersInvalid, a Warning Event naming the setting and why, a recorded
// decision), and nothing of it applied: NAME-config, its generation and the
// pushes stay as they were, also when a new term applies the owned objects
// again. A resource that fixes the value is checked, applied and pushed.
TEST_F(KubeActuatorTest, AnInvalidParameterIsReportedAndNameConfigIsNotChanged) {
  ClusterResource local = resource_;
  plan::Observation obs;
  std::vector<std::unique_ptr<SpecStandIn>> sidecars = CheckingStandIns(&local, &obs);
  Actuator actuator(local.spec, "", PgCredentials{}, "");
  const plan::ClusterState state = Routed("demo-1", {"demo-0", "demo-2"});
  std::vector<std::string> recorded;
  RecordDecisionsInto(act_.get(), &recorded);
  const std::string config = ResourcePath("", "v1", "configmaps", "db", "demo-config");
  auto config_params = [&] {
    SpecParseOptions no_files;
    no_files.checkSecretFiles = false;
    SpecLoad l = ParseSpec(Get(config).at("data").at("cluster.yaml").as_string(), "cluster.yaml", no_files);
    EXPECT_TRUE(l.ok()) << l.ErrorText();
    return l.ok() ? l.spec->postgres.parameters : std::map<std::string, std::string>{};
  };
  auto round = [&](uint64_t term) {
    act_->CheckParameters(term, state, obs, actuator);
    ASSERT_TRUE(act_->ApplyOwnedObjects(term).ok());
    act_->SendSpec(term, obs, actuator);
  };
  local.spec.postgres.parameters["work_mem"] = "4MB";
  act_->SetResource(local, uid_, "accepted from generation 2");
  round(5);  // the first apply: nothing applied before to compare with
  const uint64_t generation = act_->specGeneration();
  const std::string rv = Rv(config);

  local.spec.postgres.parameters["work_mem"] = "-1";
  act_->SetResource(local, uid_, "accepted from generation 3");
  round(5);
  EXPECT_EQ(sidecars[1]->checks(), 1);  // the primary's sidecar checked it
  EXPECT_EQ(sidecars[0]->checks() + sidecars[2]->checks(), 0);
  EXPECT_EQ(Rv(config), rv);
  EXPECT_EQ(config_params().at("work_mem"), "4MB");
  EXPECT_EQ(act_->specGeneration(), generation);
  for (auto& s : sidecars) EXPECT_EQ(s->pushes().size(), 1u);
  const std::string refused = act_->ParametersRefused();
  EXPECT_NE(refused.find("spec.postgres.parameters.work_mem: PostgreSQL would refuse work_mem: value '-1': -1 kB is "
                         "outside the valid range 64..2147483647"),
            std::string::npos)
      << refused;
  StatusInputs in;
  in.parametersRefused = refused;
  const StatusSummary summary = SummarizeStatus(in);
  const Condition* valid = summary.Find("SpecValid");
  ASSERT_NE(valid, nullptr);
  EXPECT_EQ(valid->status, "False");
  EXPECT_EQ(valid->reason, "ParametersInvalid");
  EXPECT_NE(valid->message.find("work_mem: value '-1'"), std::string::npos) << valid->message;
  const std::string notes = WarningNotes("ParametersInvalid");
  EXPECT_NE(notes.find("spec.postgres.parameters.work_mem: PostgreSQL would refuse work_mem: value '-1'"),
            std::string::npos)
      << notes;
  ASSERT_FALSE(recorded.empty());
  EXPECT_EQ(recorded.back().rfind("check-parameters demo-1: spec.postgres.parameters.work_mem", 0), 0u)
      << recorded.back();

  // The next round does not ask again; a new term applies the last applied spec again.
  round(5);
  EXPECT_EQ(sidecars[1]->checks(), 1);
  round(6);
  EXPECT_EQ(config_params().at("work_mem"), "4MB");
  EXPECT_EQ(sidecars[1]->checks(), 1);
  for (auto& s : sidecars) EXPECT_EQ(s->pushes().back().spec.postgres.parameters.at("work_mem"), "4MB");

  // Fixed: checked, applied, pushed; the refusal gone.
  local.spec.postgres.parameters["work_mem"] = "8MB";
  act_->SetResource(local, uid_, "accepted from generation 4");
  round(6);
  EXPECT_EQ(sidecars[1]->checks(), 2);
  EXPECT_TRUE(act_->ParametersRefused().empty());
  EXPECT_EQ(config_params().at("work_mem"), "8MB");
  EXPECT_GT(act_->specGeneration(), generation);
  for (auto& s : sidecars) EXPECT_EQ(s->pushes().back().spec.postgres.parameters.at("work_mem"), "8MB");
}

// A generation that changes postgres.parameters (parameter_gate.h): the
// acting round's JudgeCandidate has the primary's sidecar check them against
// the spec in force, before the generation is accepted; refused: a verdict for
// that generation, a Warning Event and a recorded decision, and nothing
// applied (NAME-config, pushes); the same parameters as in force need no
// check; a passing generation, once accepted, is not checked again.
TEST_F(KubeActuatorTest, ACandidateGenerationsParametersAreCheckedBeforeItIsAccepted) {
  ParameterRig rig(resource_, act_.get());
  const plan::ClusterState state = Routed("demo-1", {"demo-0", "demo-2"});
  int woken = 0;
  act_->SetVerdictListener([&] { ++woken; });
  const std::string config = ResourcePath("", "v1", "configmaps", "db", "demo-config");
  rig.local.spec.postgres.parameters["work_mem"] = "4MB";
  act_->SetResource(rig.local, uid_, "accepted from generation 1");
  auto round = [&] {
    act_->JudgeCandidate(5, state, rig.obs, rig.actuator);
    act_->CheckParameters(5, state, rig.obs, rig.actuator);
    ASSERT_TRUE(act_->ApplyOwnedObjects(5).ok());
    act_->SendSpec(5, rig.obs, rig.actuator);
  };
  round();
  const uint64_t generation = act_->specGeneration();
  const std::string rv = Rv(config);
  EXPECT_FALSE(act_->CandidateVerdict(2).has_value());

  // Generation 2: shared_buffers 'lots'. Refused; nothing applied.
  std::map<std::string, std::string> bad = rig.local.spec.postgres.parameters;
  bad["shared_buffers"] = "lots";
  act_->CheckCandidate(2, bad);
  round();
  auto v = act_->CandidateVerdict(2);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->outcome, ParameterVerdict::Outcome::kRefused);
  EXPECT_EQ(v->node, "demo-1");  // the primary's sidecar
  EXPECT_EQ(v->detail.rfind("spec.postgres.parameters.shared_buffers: ", 0), 0u) << v->detail;
  EXPECT_EQ(rig.sidecars[1]->checks(), 1);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(Rv(config), rv);
  EXPECT_EQ(act_->specGeneration(), generation);
  for (auto& s : rig.sidecars) EXPECT_EQ(s->pushes().size(), 1u);
  EXPECT_NE(WarningNotes("ParametersInvalid").find("generation 2: spec.postgres.parameters.shared_buffers"),
            std::string::npos);
  ASSERT_FALSE(rig.recorded.empty());
  EXPECT_EQ(rig.recorded.back().rfind("check-parameters demo-1: spec.postgres.parameters.shared_buffers", 0), 0u)
      << rig.recorded.back();
  round();  // not asked again
  EXPECT_EQ(rig.sidecars[1]->checks(), 1);

  // Generation 3 puts the parameters in force back: passed without asking.
  act_->CheckCandidate(3, rig.local.spec.postgres.parameters);
  round();
  ASSERT_TRUE(act_->CandidateVerdict(3).has_value());
  EXPECT_EQ(act_->CandidateVerdict(3)->outcome, ParameterVerdict::Outcome::kPassed);
  EXPECT_FALSE(act_->CandidateVerdict(2).has_value());
  EXPECT_EQ(rig.sidecars[1]->checks(), 1);

  // Generation 4: work_mem 8MB passes; once accepted it is applied without a second check.
  std::map<std::string, std::string> good = rig.local.spec.postgres.parameters;
  good["work_mem"] = "8MB";
  act_->CheckCandidate(4, good);
  round();
  ASSERT_TRUE(act_->CandidateVerdict(4).has_value());
  EXPECT_EQ(act_->CandidateVerdict(4)->outcome, ParameterVerdict::Outcome::kPassed);
  EXPECT_EQ(rig.sidecars[1]->checks(), 2);
  rig.local.spec.postgres.parameters = good;
  act_->SetResource(rig.local, uid_, "accepted from generation 4");
  round();
  EXPECT_EQ(rig.sidecars[1]->checks(), 2);
  EXPECT_GT(act_->specGeneration(), generation);
  for (auto& s : rig.sidecars) EXPECT_EQ(s->pushes().back().spec.postgres.parameters.at("work_mem"), "8MB");

  // No sidecar reachable: generation 5 is taken unchecked, as before.
  plan::Observation none;
  std::map<std::string, std::string> other = good;
  other["work_mem"] = "16MB";
  act_->CheckCandidate(5, other);
  act_->JudgeCandidate(5, state, none, rig.actuator);
  ASSERT_TRUE(act_->CandidateVerdict(5).has_value());
  EXPECT_EQ(act_->CandidateVerdict(5)->outcome, ParameterVerdict::Outcome::kUnchecked);

  // A candidate that a newer accepted generation replaced before its round is not checked.
  const int checks = rig.sidecars[1]->checks();
  act_->CheckCandidate(6, bad);
  act_->DropCandidatesUpTo(7);
  round();
  EXPECT_FALSE(act_->CandidateVerdict(6).has_value());
  EXPECT_EQ(rig.sidecars[1]->checks(), checks);
}

}  // namespace
}  // namespace pgvigil::kube
