// kube-fake's storage semantics, each as the Kubernetes API documents it
// (kubernetes.io/docs/reference/using-api/api-concepts/ and
// .../concepts/overview/working-with-objects/). Pure: no network.
#include "controller/kube/testing/fake_store_fixture.h"

#include <chrono>
#include <ctime>

namespace pgvigil::kube::fake {
namespace {

using web::json::value;

// api-concepts "Resource versions": one counter across kinds, an opaque string
// (compared for equality by clients), a new one on every write.
TEST_F(StoreTest, ResourceVersionIsGlobalIncreasingAndAString) {
  Reply a = store_.Create(ConfigMaps(), "db", J(R"({"metadata":{"name":"a"},"data":{"k":"1"}})"));
  Reply b = store_.Create(Pods(), "db", J(R"({"metadata":{"name":"b"},"spec":{}})"));
  ASSERT_EQ(a.code, 201);
  ASSERT_EQ(b.code, 201);
  ASSERT_TRUE(Field(a.body, "metadata.resourceVersion").is_string());
  EXPECT_LT(std::stoull(Rv(a)), std::stoull(Rv(b)));
  value next = a.body;
  next["data"]["k"] = value::string("2");
  Reply c = store_.Update(ConfigMaps(), "db", "a", next, false);
  ASSERT_EQ(c.code, 200);
  EXPECT_LT(std::stoull(Rv(b)), std::stoull(Rv(c)));
  EXPECT_EQ(store_.revision(), std::stoull(Rv(c)));
  // object-meta: uid unique and kept, creationTimestamp RFC 3339 UTC.
  EXPECT_FALSE(StringField(a.body, "metadata.uid").empty());
  EXPECT_NE(StringField(a.body, "metadata.uid"), StringField(b.body, "metadata.uid"));
  EXPECT_EQ(StringField(c.body, "metadata.uid"), StringField(a.body, "metadata.uid"));
  std::string ts = StringField(a.body, "metadata.creationTimestamp");
  EXPECT_EQ(ts.size(), 20u);
  EXPECT_EQ(ts.back(), 'Z');
}

// api-concepts: POST of an existing name is 409 with reason AlreadyExists.
TEST_F(StoreTest, CreatingAnExistingNameIsAlreadyExists) {
  ASSERT_EQ(store_.Create(Clusters(), "db", Cluster("demo")).code, 201);
  Reply again = store_.Create(Clusters(), "db", Cluster("demo"));
  EXPECT_EQ(again.code, 409);
  EXPECT_EQ(Reason(again), "AlreadyExists");
  EXPECT_EQ(StringField(again.body, "kind"), "Status");
  EXPECT_EQ(StringField(again.body, "details.name"), "demo");
  // Another namespace is another object.
  EXPECT_EQ(store_.Create(Clusters(), "other", Cluster("demo")).code, 201);
}

// api-concepts "Concurrency control": an update carrying a resourceVersion that
// is not the current one is 409 Conflict and changes nothing.
TEST_F(StoreTest, UpdateWithAStaleResourceVersionIsConflict) {
  Reply made = store_.Create(ConfigMaps(), "db", J(R"({"metadata":{"name":"c"},"data":{"v":"1"}})"));
  value first = made.body, second = made.body;
  first["data"]["v"] = value::string("2");
  ASSERT_EQ(store_.Update(ConfigMaps(), "db", "c", first, false).code, 200);
  second["data"]["v"] = value::string("3");
  Reply stale = store_.Update(ConfigMaps(), "db", "c", second, false);
  EXPECT_EQ(stale.code, 409);
  EXPECT_EQ(Reason(stale), "Conflict");
  EXPECT_NE(StringField(stale.body, "message").find("the object has been modified"), std::string::npos);
  EXPECT_EQ(StringField(store_.Get(ConfigMaps(), "db", "c").body, "data.v"), "2");
}

// Custom resources: an update must name the version it replaces.
TEST_F(StoreTest, CustomResourceUpdateWithoutResourceVersionIsInvalid) {
  Reply made = store_.Create(Clusters(), "db", Cluster("demo"));
  value next = made.body;
  next["metadata"].erase("resourceVersion");
  Reply r = store_.Update(Clusters(), "db", "demo", next, false);
  EXPECT_EQ(r.code, 422);
  EXPECT_NE(StringField(r.body, "message").find("must be specified for an update"), std::string::npos);
}

// A write that changes nothing does not move the resourceVersion (no event).
TEST_F(StoreTest, NoOpUpdateKeepsTheResourceVersion) {
  Reply made = store_.Create(ConfigMaps(), "db", J(R"({"metadata":{"name":"c"},"data":{"v":"1"}})"));
  uint64_t before = store_.revision();
  Reply same = store_.Update(ConfigMaps(), "db", "c", made.body, false);
  EXPECT_EQ(same.code, 200);
  EXPECT_EQ(Rv(same), Rv(made));
  EXPECT_EQ(store_.revision(), before);
}

// CRD docs "Status subresource": PUT/PATCH of the resource ignores status,
// PUT of /status ignores everything but status; generation moves only with
// spec changes (metadata and status changes leave it).
TEST_F(StoreTest, StatusSubresourceSeparationAndGeneration) {
  value with_status = Cluster("demo");
  with_status["status"] = J(R"({"phase":"Healthy"})");
  Reply made = store_.Create(Clusters(), "db", with_status);
  ASSERT_EQ(made.code, 201);
  EXPECT_FALSE(made.body.has_field("status")) << "status is not set by create";
  EXPECT_EQ(Field(made.body, "metadata.generation").as_integer(), 1);

  value labels = made.body;
  labels["metadata"]["labels"] = J(R"({"a":"b"})");
  labels["status"] = J(R"({"phase":"Ignored"})");
  Reply l = store_.Update(Clusters(), "db", "demo", labels, false);
  ASSERT_EQ(l.code, 200);
  EXPECT_EQ(Field(l.body, "metadata.generation").as_integer(), 1);
  EXPECT_FALSE(l.body.has_field("status"));

  value st = l.body;
  st["status"] = J(R"({"phase":"Healthy","term":3})");
  st["spec"]["instances"] = value::number(5);  // ignored on /status
  Reply s = store_.Update(Clusters(), "db", "demo", st, true);
  ASSERT_EQ(s.code, 200);
  EXPECT_EQ(StringField(s.body, "status.phase"), "Healthy");
  EXPECT_EQ(Field(s.body, "spec.instances").as_integer(), 3);
  EXPECT_EQ(Field(s.body, "metadata.generation").as_integer(), 1);

  value spec = s.body;
  spec["spec"]["instances"] = value::number(5);
  Reply g = store_.Update(Clusters(), "db", "demo", spec, false);
  ASSERT_EQ(g.code, 200);
  EXPECT_EQ(Field(g.body, "metadata.generation").as_integer(), 2);
  EXPECT_EQ(StringField(g.body, "status.phase"), "Healthy") << "status survives a spec update";
}

// api-concepts "Retrieving large results sets in chunks" and labels/field
// selectors (working-with-objects/labels, field-selectors).
TEST_F(StoreTest, ListSelectorsLimitAndContinue) {
  const char* pods[][2] = {{"p0", "primary"}, {"p1", "replica"}, {"p2", "replica"}, {"p3", "fenced"}, {"p4", ""}};
  for (auto& p : pods) {
    value pod = J(std::string(R"({"metadata":{"name":")") + p[0] + R"(","labels":{"app":"pg"}},"spec":{}})");
    if (*p[1]) pod["metadata"]["labels"]["role"] = value::string(p[1]);
    ASSERT_EQ(store_.Create(Pods(), "db", pod).code, 201);
  }
  store_.Create(Pods(), "other", J(R"({"metadata":{"name":"x","labels":{"role":"primary"}},"spec":{}})"));
  auto names = [&](const ListOptions& o, const std::string& ns = "db") {
    Reply r = store_.List(Pods(), ns, o);
    std::string out;
    for (const auto& i : r.body.at("items").as_array()) out += StringField(i, "metadata.name") + " ";
    return out;
  };
  EXPECT_EQ(names({"role=replica", "", 0, ""}), "p1 p2 ");
  EXPECT_EQ(names({"role==primary", "", 0, ""}), "p0 ");
  EXPECT_EQ(names({"role!=replica", "", 0, ""}), "p0 p3 p4 ");
  EXPECT_EQ(names({"role in (primary,fenced)", "", 0, ""}), "p0 p3 ");
  EXPECT_EQ(names({"role notin (primary, fenced)", "", 0, ""}), "p1 p2 p4 ");
  EXPECT_EQ(names({"role", "", 0, ""}), "p0 p1 p2 p3 ");
  EXPECT_EQ(names({"!role", "", 0, ""}), "p4 ");
  EXPECT_EQ(names({"app=pg,role=replica", "", 0, ""}), "p1 p2 ");
  EXPECT_EQ(names({"", "metadata.name=p3", 0, ""}), "p3 ");
  EXPECT_EQ(names({"role=primary", "", 0, ""}, ""), "p0 x ") << "all namespaces, in key order";
  EXPECT_EQ(store_.List(Pods(), "db", {"role in (", "", 0, ""}).code, 400);
  EXPECT_EQ(store_.List(Pods(), "db", {"", "spec.nodeName=a", 0, ""}).code, 400);

  Reply page1 = store_.List(Pods(), "db", {"", "", 2, ""});
  ASSERT_EQ(page1.body.at("items").size(), 2u);
  std::string token = StringField(page1.body, "metadata.continue");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(Field(page1.body, "metadata.remainingItemCount").as_integer(), 3);
  store_.Create(Pods(), "db", J(R"({"metadata":{"name":"p9"},"spec":{}})"));
  Reply page2 = store_.List(Pods(), "db", {"", "", 2, token});
  EXPECT_EQ(StringField(page2.body, "metadata.resourceVersion"), StringField(page1.body, "metadata.resourceVersion"))
      << "every page reports the first page's resourceVersion";
  EXPECT_EQ(StringField(page2.body.at("items").at(0), "metadata.name"), "p2");
  store_.Compact();
  Reply expired = store_.List(Pods(), "db", {"", "", 2, StringField(page2.body, "metadata.continue")});
  EXPECT_EQ(expired.code, 410);
  EXPECT_EQ(Reason(expired), "Expired");
}

// api-concepts "Efficient detection of changes": the history a watch resumes
// from is bounded; a resourceVersion older than it is 410 Gone.
TEST(StoreHistoryTest, BoundedHistoryForgetsOldVersions) {
  ObjectStore store(3);
  for (const auto& t : BuiltinTypes()) store.AddType(t);
  const ResourceType& cm = *store.FindType("", "v1", "configmaps");
  for (int i = 0; i < 5; ++i) store.Create(cm, "db", J(R"({"metadata":{"name":"c)" + std::to_string(i) + R"("}})"));
  EXPECT_FALSE(store.EventsAfter(1).has_value());
  auto recent = store.EventsAfter(3);
  ASSERT_TRUE(recent.has_value());
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].type, "ADDED");
  EXPECT_EQ(StringField((*recent)[1].object, "metadata.name"), "c4");
  store.Compact();
  EXPECT_FALSE(store.EventsAfter(4).has_value());
  EXPECT_TRUE(store.EventsAfter(5).has_value()) << "watching from now stays possible";
}

// DeleteOptions.preconditions: uid and resourceVersion must match (409).
TEST_F(StoreTest, DeletePreconditions) {
  Reply made = store_.Create(Pods(), "db", J(R"({"metadata":{"name":"p"},"spec":{}})"));
  Reply bad_uid = store_.Delete(Pods(), "db", "p", J(R"({"preconditions":{"uid":"nope"}})"));
  EXPECT_EQ(bad_uid.code, 409);
  EXPECT_NE(StringField(bad_uid.body, "message").find("Precondition failed: UID"), std::string::npos);
  Reply bad_rv = store_.Delete(Pods(), "db", "p", J(R"({"preconditions":{"resourceVersion":"999"}})"));
  EXPECT_EQ(bad_rv.code, 409);
  value pre = value::object();
  pre["preconditions"]["uid"] = Field(made.body, "metadata.uid");
  pre["preconditions"]["resourceVersion"] = Field(made.body, "metadata.resourceVersion");
  EXPECT_EQ(store_.Delete(Pods(), "db", "p", pre).code, 200);
  EXPECT_EQ(store_.Get(Pods(), "db", "p").code, 404);
  auto events = store_.EventsAfter(std::stoull(Rv(made)));
  ASSERT_TRUE(events && !events->empty());
  EXPECT_EQ(events->back().type, "DELETED");
}

// working-with-objects/finalizers: DELETE of an object with finalizers sets
// deletionTimestamp; it goes once the last finalizer is removed.
TEST_F(StoreTest, FinalizersHoldDeletion) {
  store_.Create(ConfigMaps(), "db", J(R"({"metadata":{"name":"f","finalizers":["pgvigil.io/keep"]}})"));
  Reply d = store_.Delete(ConfigMaps(), "db", "f", value::null());
  EXPECT_EQ(d.code, 200);
  Reply held = store_.Get(ConfigMaps(), "db", "f");
  ASSERT_EQ(held.code, 200);
  EXPECT_FALSE(StringField(held.body, "metadata.deletionTimestamp").empty());
  value next = held.body;
  next["metadata"]["finalizers"] = value::array();
  EXPECT_EQ(store_.Update(ConfigMaps(), "db", "f", next, false).code, 200);
  EXPECT_EQ(store_.Get(ConfigMaps(), "db", "f").code, 404);
}

// concepts/workloads/pods/pod-lifecycle "Termination of Pods": a DELETE with a
// grace period marks the pod Terminating (deletionTimestamp = now + grace,
// deletionGracePeriodSeconds; grace from the request, else the pod's
// terminationGracePeriodSeconds) and the pod stays until its kubelet confirms
// (here: ReleasePod); a second graceful DELETE changes nothing; updates do not
// remove it; gracePeriodSeconds 0 (force) removes it at once; preconditions
// still apply. A pod not held goes at once, as before.
TEST_F(StoreTest, AHeldPodStaysTerminatingUntilItsKubeletConfirms) {
  Reply made = store_.Create(Pods(), "db", J(R"({"metadata":{"name":"p"},"spec":{"terminationGracePeriodSeconds":60}})"));
  store_.HoldPodDeletion("db", "p");
  EXPECT_EQ(store_.Delete(Pods(), "db", "p", J(R"({"preconditions":{"uid":"nope"}})")).code, 409);
  const auto before = std::chrono::system_clock::now();
  Reply d = store_.Delete(Pods(), "db", "p", value::null());
  ASSERT_EQ(d.code, 200);
  Reply held = store_.Get(Pods(), "db", "p");
  ASSERT_EQ(held.code, 200);
  EXPECT_EQ(Field(held.body, "metadata.deletionGracePeriodSeconds").as_number().to_int64(), 60);
  const std::string ts = StringField(held.body, "metadata.deletionTimestamp");
  ASSERT_FALSE(ts.empty());
  std::tm tm{};
  ASSERT_NE(strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << ts;
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  EXPECT_GE(at - before, std::chrono::seconds(59)) << ts;
  EXPECT_LE(at - before, std::chrono::seconds(61)) << ts;
  auto events = store_.EventsAfter(std::stoull(Rv(made)));
  ASSERT_TRUE(events && !events->empty());
  EXPECT_EQ(events->back().type, "MODIFIED");
  // Again: unchanged. A label update: still there.
  Reply again = store_.Delete(Pods(), "db", "p", J(R"({"gracePeriodSeconds":5})"));
  EXPECT_EQ(again.code, 200);
  EXPECT_EQ(Rv(again), Rv(held));
  value labelled = held.body;
  labelled["metadata"]["labels"]["x"] = value::string("y");
  EXPECT_EQ(store_.Update(Pods(), "db", "p", labelled, false).code, 200);
  EXPECT_EQ(store_.Get(Pods(), "db", "p").code, 200);
  // The kubelet confirms: gone.
  EXPECT_TRUE(store_.ReleasePod("db", "p"));
  EXPECT_EQ(store_.Get(Pods(), "db", "p").code, 404);
  EXPECT_EQ(store_.EventsAfter(std::stoull(Rv(held)))->back().type, "DELETED");
  EXPECT_FALSE(store_.ReleasePod("db", "p"));

  // Held, then force-deleted (gracePeriodSeconds 0): gone at once, also while Terminating.
  store_.Create(Pods(), "db", J(R"({"metadata":{"name":"q"},"spec":{}})"));
  store_.HoldPodDeletion("db", "q");
  Reply q = store_.Delete(Pods(), "db", "q", J(R"({"gracePeriodSeconds":30})"));
  EXPECT_EQ(Field(q.body, "metadata.deletionGracePeriodSeconds").as_number().to_int64(), 30);
  EXPECT_EQ(store_.Get(Pods(), "db", "q").code, 200);
  EXPECT_EQ(store_.Delete(Pods(), "db", "q", J(R"({"gracePeriodSeconds":0})")).code, 200);
  EXPECT_EQ(store_.Get(Pods(), "db", "q").code, 404);
  // Not held: gone at once (the double's kubelet confirms instantly).
  store_.Create(Pods(), "db", J(R"({"metadata":{"name":"r"},"spec":{}})"));
  EXPECT_EQ(store_.Delete(Pods(), "db", "r", value::null()).code, 200);
  EXPECT_EQ(store_.Get(Pods(), "db", "r").code, 404);
}

// working-with-objects/owners-dependents + garbage-collection: dependents whose
// owners are all gone are deleted (background); Orphan keeps them, ownerless.
TEST_F(StoreTest, OwnerReferencesGarbageCollection) {
  Reply owner = store_.Create(Clusters(), "db", Cluster("demo"));
  Reply other = store_.Create(Clusters(), "db", Cluster("keep"));
  auto ref = [](const Reply& o) {
    value r = value::object();
    r["apiVersion"] = value::string("pgvigil.io/v1alpha1");
    r["kind"] = value::string("PostgresCluster");
    r["name"] = Field(o.body, "metadata.name");
    r["uid"] = Field(o.body, "metadata.uid");
    return r;
  };
  value only = J(R"({"metadata":{"name":"only"}})"), both = J(R"({"metadata":{"name":"both"}})");
  only["metadata"]["ownerReferences"] = value::array({ref(owner)});
  both["metadata"]["ownerReferences"] = value::array({ref(owner), ref(other)});
  store_.Create(ConfigMaps(), "db", only);
  store_.Create(ConfigMaps(), "db", both);
  ASSERT_EQ(store_.Delete(Clusters(), "db", "demo", value::null()).code, 200);
  EXPECT_EQ(store_.Get(ConfigMaps(), "db", "only").code, 404);
  Reply kept = store_.Get(ConfigMaps(), "db", "both");
  ASSERT_EQ(kept.code, 200) << "another owner still exists";

  value orphan = J(R"({"metadata":{"name":"orphan"}})");
  orphan["metadata"]["ownerReferences"] = value::array({ref(other)});
  store_.Create(ConfigMaps(), "db", orphan);
  ASSERT_EQ(store_.Delete(Clusters(), "db", "keep", J(R"({"propagationPolicy":"Orphan"})")).code, 200);
  Reply o = store_.Get(ConfigMaps(), "db", "orphan");
  ASSERT_EQ(o.code, 200);
  EXPECT_EQ(Field(o.body, "metadata.ownerReferences").size(), 0u);
}

// CRD docs "Validation" and "Pruning": the openAPIV3Schema is enforced (422
// Invalid with causes) and unknown fields are dropped unless preserved.
TEST_F(StoreTest, CustomResourceSchemaValidationAndPruning) {
  value bad = Cluster("bad");
  bad["spec"]["instances"] = value::number(0);
  bad["spec"]["nodeLossPolicy"] = value::string("Never");
  bad["spec"]["storage"].erase("size");
  Reply r = store_.Create(Clusters(), "db", bad);
  ASSERT_EQ(r.code, 422);
  EXPECT_EQ(Reason(r), "Invalid");
  std::string fields;
  const value causes = Field(r.body, "details.causes");
  for (const auto& c : causes.as_array()) fields += StringField(c, "field") + " ";
  EXPECT_NE(fields.find("spec.instances "), std::string::npos) << fields;
  EXPECT_NE(fields.find("spec.nodeLossPolicy "), std::string::npos) << fields;
  EXPECT_NE(fields.find("spec.storage.size "), std::string::npos) << fields;
  EXPECT_NE(StringField(r.body, "message").find("should be greater than or equal to 1"), std::string::npos);

  value typed = Cluster("typed");
  typed["spec"]["instances"] = value::string("three");
  EXPECT_EQ(store_.Create(Clusters(), "db", typed).code, 422);

  value extra = Cluster("extra");
  extra["spec"]["bogus"] = value::number(1);
  extra["spec"]["vip"] = J(R"({"address":"10.0.0.1/24","anything":{"x":1}})");
  extra["spec"]["storage"]["size"] = value::number(1073741824);  // int-or-string
  Reply ok = store_.Create(Clusters(), "db", extra);
  ASSERT_EQ(ok.code, 201) << ok.body.serialize();
  EXPECT_FALSE(Field(ok.body, "spec").has_field("bogus")) << "unknown fields are pruned";
  EXPECT_EQ(Field(ok.body, "spec.vip.anything.x").as_integer(), 1) << "preserve-unknown-fields keeps them";
}

}  // namespace
}  // namespace pgvigil::kube::fake
