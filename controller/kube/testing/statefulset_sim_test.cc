// The minimal StatefulSet controller (workloads/controllers/statefulset docs):
// pods and PVCs from the templates, Parallel vs OrderedReady, OnDelete,
// scale-down and PVC retention, status and its revisions, DELETE with
// preconditions, and garbage collection of the pods.
#include "controller/kube/testing/fake_store_fixture.h"

namespace pgvigil::kube::fake {
namespace {

using web::json::value;

value Sts(int replicas, const std::string& policy, const std::string& image) {
  return J(R"({"metadata":{"name":"demo"},"spec":{"replicas":)" + std::to_string(replicas) +
           R"(,"serviceName":"demo-hl","podManagementPolicy":")" + policy +
           R"(","updateStrategy":{"type":"OnDelete"},"selector":{"matchLabels":{"pgvigil.io/cluster":"demo"}},
              "persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain","whenScaled":"Delete"},
              "template":{"metadata":{"labels":{"pgvigil.io/cluster":"demo"}},
                          "spec":{"containers":[{"name":"pgvigil","image":")" + image + R"("}]}},
              "volumeClaimTemplates":[{"metadata":{"name":"pgdata"},"spec":{"resources":{"requests":{"storage":"1Gi"}}}}]}})");
}

class StatefulSetTest : public StoreTest {
 protected:
  const ResourceType& Sets() { return T("apps", "statefulsets"); }
  const ResourceType& Claims() { return T("", "persistentvolumeclaims"); }
  std::string Names(const ResourceType& t) {
    std::string out;
    for (const auto& o : store_.Objects(t, "db")) out += StringField(o, "metadata.name") + " ";
    return out;
  }
  void MarkReady(const std::string& pod) {
    Reply p = store_.Get(Pods(), "db", pod);
    value next = p.body;
    next["status"] = J(R"({"phase":"Running","conditions":[{"type":"Ready","status":"True"}]})");
    ASSERT_EQ(store_.Update(Pods(), "db", pod, next, true).code, 200);
  }
};

TEST_F(StatefulSetTest, ParallelCreatesEveryPodAndClaim) {
  ASSERT_EQ(store_.Create(Sets(), "db", Sts(3, "Parallel", "pg:1")).code, 201);
  EXPECT_EQ(Names(Pods()), "demo-0 demo-1 demo-2 ");
  EXPECT_EQ(Names(Claims()), "pgdata-demo-0 pgdata-demo-1 pgdata-demo-2 ");
  value pod = store_.Get(Pods(), "db", "demo-1").body;
  EXPECT_EQ(Field(pod, "metadata.labels").at("pgvigil.io/cluster").as_string(), "demo");
  EXPECT_EQ(Field(pod, "metadata.labels").at("statefulset.kubernetes.io/pod-name").as_string(), "demo-1");
  EXPECT_EQ(Field(pod, "metadata.labels").at("apps.kubernetes.io/pod-index").as_string(), "1");
  EXPECT_EQ(StringField(pod, "spec.hostname"), "demo-1");
  EXPECT_EQ(StringField(pod, "spec.subdomain"), "demo-hl");
  EXPECT_EQ(StringField(Field(pod, "metadata.ownerReferences").at(0), "kind"), "StatefulSet");
  EXPECT_EQ(StringField(Field(pod, "spec.volumes").at(0), "persistentVolumeClaim.claimName"), "pgdata-demo-1");
  value sts = store_.Get(Sets(), "db", "demo").body;
  EXPECT_EQ(Field(sts, "status.replicas").as_integer(), 3);
  EXPECT_EQ(Field(sts, "status.readyReplicas").as_integer(), 0);
  MarkReady("demo-0");
  MarkReady("demo-2");
  EXPECT_EQ(Field(store_.Get(Sets(), "db", "demo").body, "status.readyReplicas").as_integer(), 2);
}

TEST_F(StatefulSetTest, OrderedReadyWaitsForThePreviousPod) {
  store_.Create(Sets(), "db", Sts(3, "OrderedReady", "pg:1"));
  EXPECT_EQ(Names(Pods()), "demo-0 ");
  MarkReady("demo-0");
  EXPECT_EQ(Names(Pods()), "demo-0 demo-1 ");
}

TEST_F(StatefulSetTest, OnDeleteReplacesOnlyDeletedPods) {
  store_.Create(Sets(), "db", Sts(2, "Parallel", "pg:1"));
  auto hash = [&](const std::string& pod) {
    return Field(store_.Get(Pods(), "db", pod).body, "metadata.labels").at("controller-revision-hash").as_string();
  };
  std::string old_hash = hash("demo-0");
  std::string old_uid = StringField(store_.Get(Pods(), "db", "demo-1").body, "metadata.uid");
  Reply cur = store_.Get(Sets(), "db", "demo");
  value next = cur.body;
  next["spec"]["template"]["spec"]["containers"][0]["image"] = value::string("pg:2");
  ASSERT_EQ(store_.Update(Sets(), "db", "demo", next, false).code, 200);
  EXPECT_EQ(hash("demo-0"), old_hash);
  EXPECT_EQ(hash("demo-1"), old_hash) << "OnDelete: a new template reaches no running pod";
  ASSERT_EQ(store_.Delete(Pods(), "db", "demo-1", value::null()).code, 200);
  Reply again = store_.Get(Pods(), "db", "demo-1");
  ASSERT_EQ(again.code, 200) << "the deleted pod is recreated";
  EXPECT_NE(StringField(again.body, "metadata.uid"), old_uid);
  EXPECT_NE(hash("demo-1"), old_hash);
  EXPECT_EQ(StringField(Field(again.body, "spec.containers").at(0), "image"), "pg:2");
  value sts = store_.Get(Sets(), "db", "demo").body;
  EXPECT_EQ(Field(sts, "status.updatedReplicas").as_integer(), 1);
  EXPECT_NE(StringField(sts, "status.currentRevision"), StringField(sts, "status.updateRevision"));
}

// StatefulSetStatus.updateRevision names the revision made from the current
// pod template (a ControllerRevision NAME-<hash>): a change of replicas keeps
// it, a template change makes a new one, and a template changed back gets the
// old name again (the equal ControllerRevision is reused, not duplicated).
TEST_F(StatefulSetTest, UpdateRevisionNamesThePodTemplate) {
  store_.Create(Sets(), "db", Sts(2, "Parallel", "pg:1"));
  auto update = [&] { return StringField(store_.Get(Sets(), "db", "demo").body, "status.updateRevision"); };
  const std::string first = update();
  EXPECT_EQ(first.rfind("demo-", 0), 0u) << first;
  EXPECT_EQ(Field(store_.Get(Pods(), "db", "demo-0").body, "metadata.labels").at("controller-revision-hash").as_string(),
            first) << "a pod carries the revision it was made from";
  ASSERT_EQ(store_.Patch(Sets(), "db", "demo", PatchType::kMerge, R"({"spec":{"replicas":3}})", false, {}).code, 200);
  EXPECT_EQ(update(), first) << "replicas are not part of the template";
  value next = store_.Get(Sets(), "db", "demo").body;
  next["spec"]["template"]["spec"]["containers"][0]["image"] = value::string("pg:2");
  ASSERT_EQ(store_.Update(Sets(), "db", "demo", next, false).code, 200);
  const std::string second = update();
  EXPECT_NE(second, first);
  next = store_.Get(Sets(), "db", "demo").body;
  next["spec"]["template"]["spec"]["containers"][0]["image"] = value::string("pg:1");
  ASSERT_EQ(store_.Update(Sets(), "db", "demo", next, false).code, 200);
  EXPECT_EQ(update(), first) << "the template changed back: the first revision again";
}

// StatefulSetStatus: updatedReplicas counts the pods made from updateRevision,
// currentReplicas those from currentRevision. Under OnDelete the StatefulSet
// controller never completes a rollout (it moves currentRevision to
// updateRevision only for RollingUpdate), so currentRevision keeps naming the
// first revision even once every pod was replaced; a pod made by a scale-up
// under OnDelete comes from the update revision.
TEST_F(StatefulSetTest, RevisionCountersUnderOnDelete) {
  store_.Create(Sets(), "db", Sts(3, "Parallel", "pg:1"));
  value sts = store_.Get(Sets(), "db", "demo").body;
  const std::string first = StringField(sts, "status.currentRevision");
  EXPECT_EQ(first, StringField(sts, "status.updateRevision"));
  EXPECT_EQ(Field(sts, "status.currentReplicas").as_integer(), 3);
  EXPECT_EQ(Field(sts, "status.updatedReplicas").as_integer(), 3);
  value next = sts;
  next["spec"]["template"]["spec"]["containers"][0]["image"] = value::string("pg:2");
  ASSERT_EQ(store_.Update(Sets(), "db", "demo", next, false).code, 200);
  sts = store_.Get(Sets(), "db", "demo").body;
  const std::string second = StringField(sts, "status.updateRevision");
  EXPECT_NE(second, first);
  EXPECT_EQ(StringField(sts, "status.currentRevision"), first);
  EXPECT_EQ(Field(sts, "status.currentReplicas").as_integer(), 3);
  EXPECT_EQ(Field(sts, "status.updatedReplicas").as_integer(), 0) << "OnDelete: no pod changed by itself";
  ASSERT_EQ(store_.Delete(Pods(), "db", "demo-2", value::null()).code, 200);
  sts = store_.Get(Sets(), "db", "demo").body;
  EXPECT_EQ(Field(sts, "status.currentReplicas").as_integer(), 2);
  EXPECT_EQ(Field(sts, "status.updatedReplicas").as_integer(), 1);
  ASSERT_EQ(store_.Patch(Sets(), "db", "demo", PatchType::kMerge, R"({"spec":{"replicas":4}})", false, {}).code, 200);
  EXPECT_EQ(Field(store_.Get(Pods(), "db", "demo-3").body, "metadata.labels").at("controller-revision-hash").as_string(),
            second);
  ASSERT_EQ(store_.Delete(Pods(), "db", "demo-1", value::null()).code, 200);
  ASSERT_EQ(store_.Delete(Pods(), "db", "demo-0", value::null()).code, 200);
  sts = store_.Get(Sets(), "db", "demo").body;
  EXPECT_EQ(Field(sts, "status.updatedReplicas").as_integer(), 4);
  EXPECT_EQ(Field(sts, "status.currentReplicas").as_integer(), 0);
  EXPECT_EQ(StringField(sts, "status.currentRevision"), first) << "OnDelete: the rollout is never completed";
}

// A pod DELETE with DeleteOptions.preconditions (the rollout's): a uid or
// resourceVersion that no longer matches is 409 Conflict and the pod stays;
// the pod as read is deleted and the StatefulSet makes a new one (new uid).
TEST_F(StatefulSetTest, PodDeleteWithPreconditions) {
  store_.Create(Sets(), "db", Sts(1, "Parallel", "pg:1"));
  value pod = store_.Get(Pods(), "db", "demo-0").body;
  value pre = value::object();
  pre["preconditions"]["uid"] = Field(pod, "metadata.uid");
  pre["preconditions"]["resourceVersion"] = Field(pod, "metadata.resourceVersion");
  MarkReady("demo-0");  // the pod changed since the read
  Reply stale = store_.Delete(Pods(), "db", "demo-0", pre);
  EXPECT_EQ(stale.code, 409);
  EXPECT_EQ(StringField(store_.Get(Pods(), "db", "demo-0").body, "metadata.uid"), StringField(pod, "metadata.uid"));
  value now = store_.Get(Pods(), "db", "demo-0").body;
  pre["preconditions"]["resourceVersion"] = Field(now, "metadata.resourceVersion");
  ASSERT_EQ(store_.Delete(Pods(), "db", "demo-0", pre).code, 200);
  value again = store_.Get(Pods(), "db", "demo-0").body;
  EXPECT_NE(StringField(again, "metadata.uid"), StringField(pod, "metadata.uid"));
  EXPECT_EQ(store_.Delete(Pods(), "db", "demo-0", pre).code, 409) << "the old uid: the new pod is not deleted";
}

TEST_F(StatefulSetTest, ScaleDownRemovesTheHighestOrdinalsAndTheirClaims) {
  store_.Create(Sets(), "db", Sts(3, "Parallel", "pg:1"));
  ASSERT_EQ(store_.Patch(Sets(), "db", "demo", PatchType::kMerge, R"({"spec":{"replicas":1}})", false, {}).code, 200);
  EXPECT_EQ(Names(Pods()), "demo-0 ");
  EXPECT_EQ(Names(Claims()), "pgdata-demo-0 ") << "whenScaled: Delete";
  // Deleting the StatefulSet collects its pods; whenDeleted: Retain keeps the claim.
  ASSERT_EQ(store_.Delete(Sets(), "db", "demo", value::null()).code, 200);
  EXPECT_EQ(Names(Pods()), "");
  EXPECT_EQ(Names(Claims()), "pgdata-demo-0 ");
}

}  // namespace
}  // namespace pgvigil::kube::fake
