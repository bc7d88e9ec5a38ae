// kube-fake over HTTPS: what only the wire shows. Bearer tokens (401), RBAC
// (403), the REST paths and content types, watch streams (chunked JSON lines,
// bookmarks, timeoutSeconds, 410 Gone from an old resourceVersion or a forced
// compaction, selector transitions), client certificates, and the injected
// faults. Everything on 127.0.0.1 with a CA made for the test.
#include "controller/kube/testing/kube_fake.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <thread>

#include "controller/kube/testing/fake_store_fixture.h"
#include "controller/kube/testing/fake_test_client.h"

namespace pgvigil::kube::fake {
namespace {

using web::json::value;

class KubeFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kube-fake-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    FakeOptions o;
    o.crdFile = CrdPath();
    o.pkiDir = dir_;
    o.bookmarkInterval = std::chrono::milliseconds(200);
    auto f = KubeFake::Start(o);
    ASSERT_TRUE(f.ok()) << f.error();
    fake_ = std::move(*f);
    fake_->AllowToken("admin");
  }
  void TearDown() override {
    fake_.reset();
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  FakeClient Client(const std::string& token = "admin") const { return FakeClient(fake_->port(), fake_->pki().caCert, token); }
  HttpResult CreateCluster(const std::string& name) {
    return Client().Call("POST", "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters",
                         ValidCluster(name).serialize());
  }
  std::string dir_;
  std::unique_ptr<KubeFake> fake_;
};

// authentication docs: a request without a valid bearer token is 401.
TEST_F(KubeFakeTest, BearerTokenIsRequired) {
  EXPECT_EQ(Client("").Call("GET", "/api/v1/namespaces/db/pods").status, 401);
  EXPECT_EQ(Client("wrong").Call("GET", "/api/v1/namespaces/db/pods").status, 401);
  EXPECT_EQ(Client().Call("GET", "/api/v1/namespaces/db/pods").status, 200);
  fake_->RevokeToken("admin");
  EXPECT_EQ(Client().Call("GET", "/api/v1/namespaces/db/pods").status, 401) << "a rotated token is refused";
}

TEST_F(KubeFakeTest, ClientCertificateIdentifiesTheCaller) {
  fake_->AllowClientCert("kube-fake-client");
  FakeClient c(fake_->port(), fake_->pki().caCert, "", fake_->pki().clientCert, fake_->pki().clientKey);
  EXPECT_EQ(c.Call("GET", "/api/v1/namespaces/db/pods").status, 200);
}

// RBAC: a verb the caller's roles do not grant is 403 Forbidden.
TEST_F(KubeFakeTest, RbacForbidsVerbsNotGranted) {
  auto rules = ParseRoles(R"(kind: Role
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch, patch]}
- {apiGroups: [pgvigil.io], resources: [postgresclusters/status], verbs: [update]})");
  ASSERT_TRUE(rules.ok());
  fake_->AllowToken("controller", *rules);
  FakeClient c = Client("controller");
  EXPECT_EQ(c.Call("GET", "/api/v1/namespaces/db/pods").status, 200);
  HttpResult denied = c.Call("POST", "/api/v1/namespaces/db/pods", R"({"metadata":{"name":"p"}})");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(StringField(denied.json, "reason"), "Forbidden");
  EXPECT_NE(denied.body.find("cannot create resource \\\"pods\\\""), std::string::npos) << denied.body;
  EXPECT_EQ(c.Call("GET", "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters").status, 403);
  ASSERT_EQ(CreateCluster("demo").status, 201);
  HttpResult got = Client().Call("GET", "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters/demo");
  value st = got.json;
  st["status"] = J(R"({"phase":"Healthy"})");
  EXPECT_EQ(c.Call("PUT", "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters/demo/status", st.serialize()).status, 200);
  EXPECT_EQ(c.Call("PUT", "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters/demo", st.serialize()).status, 403);
}

TEST_F(KubeFakeTest, RestPathsDiscoveryAndContentTypes) {
  FakeClient c = Client();
  EXPECT_EQ(c.Call("GET", "/apis/pgvigil.io/v1alpha1").status, 200) << "the CRD is installed";
  EXPECT_EQ(c.Call("GET", "/apis/pgvigil.io/v1").status, 404);
  EXPECT_EQ(c.Call("GET", "/apis/nothing.io/v1/things").status, 404);
  ASSERT_EQ(CreateCluster("demo").status, 201);
  EXPECT_EQ(CreateCluster("demo").status, 409);
  std::string path = "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters/demo";
  EXPECT_EQ(c.Call("PATCH", path, R"({"spec":{"instances":5}})", "application/strategic-merge-patch+json").status, 415);
  EXPECT_EQ(c.Call("PATCH", path, R"({"spec":{"instances":5}})", "text/plain").status, 415);
  HttpResult merged = c.Call("PATCH", path, R"({"spec":{"instances":5}})", "application/merge-patch+json");
  EXPECT_EQ(merged.status, 200);
  EXPECT_EQ(Field(merged.json, "spec.instances").as_integer(), 5);
  HttpResult failed = c.Call("PATCH", path, R"([{"op":"test","path":"/spec/instances","value":3}])",
                             "application/json-patch+json");
  EXPECT_EQ(failed.status, 422);
  HttpResult invalid = c.Call("PATCH", path, R"({"spec":{"instances":0}})", "application/merge-patch+json");
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(c.Call("GET", "/api/v1/namespaces/db/pods/nope").status, 404);
  EXPECT_EQ(c.Call("GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dnode-1").status, 200);
  HttpResult del = c.Call("DELETE", path, R"({"preconditions":{"uid":"other"}})");
  EXPECT_EQ(del.status, 409);
}

// CRD docs "Scale subresource" (what `kubectl scale pgvc/demo --replicas=N` sends):
// an autoscaling/v1 Scale from specReplicasPath .spec.instances, statusReplicasPath
// .status.instances and labelSelectorPath .status.selector; PUT and PATCH change
// only the spec path, checked by the schema, with the resourceVersion as precondition.
TEST_F(KubeFakeTest, ScaleSubresourceReadsAndWritesTheInstances) {
  FakeClient c = Client();
  const std::string path = "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters/demo";
  HttpResult discovery = c.Call("GET", "/apis/pgvigil.io/v1alpha1");
  EXPECT_NE(discovery.body.find("postgresclusters/scale"), std::string::npos) << discovery.body;
  EXPECT_EQ(c.Call("GET", path + "/scale").status, 404) << "no cluster yet";
  ASSERT_EQ(CreateCluster("demo").status, 201);
  HttpResult scale = c.Call("GET", path + "/scale");
  ASSERT_EQ(scale.status, 200) << scale.body;
  EXPECT_EQ(StringField(scale.json, "kind"), "Scale");
  EXPECT_EQ(StringField(scale.json, "apiVersion"), "autoscaling/v1");
  EXPECT_EQ(Field(scale.json, "spec.replicas").as_integer(), 3);
  EXPECT_EQ(Field(scale.json, "status.replicas").as_integer(), 0) << "status.instances not written yet";
  EXPECT_FALSE(Field(scale.json, "status").has_field("selector"));

  // The controller's status gives status.replicas and the selector.
  HttpResult cur = c.Call("GET", path);
  value st = cur.json;
  st["status"] = J(R"({"instances":3,"selector":"pgvigil.io/cluster=demo"})");
  ASSERT_EQ(c.Call("PUT", path + "/status", st.serialize()).status, 200);
  scale = c.Call("GET", path + "/scale");
  EXPECT_EQ(Field(scale.json, "status.replicas").as_integer(), 3);
  EXPECT_EQ(StringField(scale.json, "status.selector"), "pgvigil.io/cluster=demo");
  const int64_t generation = Field(c.Call("GET", path).json, "metadata.generation").as_number().to_int64();

  // PUT with a stale resourceVersion: 409, nothing changes.
  value put = scale.json;
  put["spec"]["replicas"] = value::number(5);
  put["metadata"]["resourceVersion"] = value::string("1");
  EXPECT_EQ(c.Call("PUT", path + "/scale", put.serialize()).status, 409);
  EXPECT_EQ(Field(c.Call("GET", path).json, "spec.instances").as_integer(), 3);
  // With the current one: spec.instances is 5, generation moves, the status stays.
  put["metadata"]["resourceVersion"] = scale.json.at("metadata").at("resourceVersion");
  HttpResult scaled = c.Call("PUT", path + "/scale", put.serialize());
  ASSERT_EQ(scaled.status, 200) << scaled.body;
  EXPECT_EQ(Field(scaled.json, "spec.replicas").as_integer(), 5);
  HttpResult after = c.Call("GET", path);
  EXPECT_EQ(Field(after.json, "spec.instances").as_integer(), 5);
  EXPECT_EQ(Field(after.json, "metadata.generation").as_number().to_int64(), generation + 1);
  EXPECT_EQ(Field(after.json, "status.instances").as_integer(), 3) << "the scale subresource never writes status";
  EXPECT_EQ(Field(after.json, "spec.storage.size").as_string(), "1Gi") << "the rest of the spec is kept";

  // PATCH (merge, as kubectl scale sends it; strategic merge is accepted: Scale is built in).
  HttpResult patched = c.Call("PATCH", path + "/scale", R"({"spec":{"replicas":3}})", "application/merge-patch+json");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Field(c.Call("GET", path).json, "spec.instances").as_integer(), 3);
  EXPECT_EQ(c.Call("PATCH", path + "/scale", R"({"spec":{"replicas":4}})", "application/strategic-merge-patch+json").status,
            200);
  EXPECT_EQ(c.Call("PATCH", path + "/scale", R"([{"op":"replace","path":"/spec/replicas","value":5}])",
                   "application/json-patch+json").status,
            200);
  EXPECT_EQ(Field(c.Call("GET", path).json, "spec.instances").as_integer(), 5);

  // Out of the schema's range (instances: 1..9) or negative: 422, nothing changes.
  HttpResult too_many = c.Call("PATCH", path + "/scale", R"({"spec":{"replicas":10}})", "application/merge-patch+json");
  EXPECT_EQ(too_many.status, 422) << too_many.body;
  EXPECT_EQ(c.Call("PATCH", path + "/scale", R"({"spec":{"replicas":-1}})", "application/merge-patch+json").status, 422);
  EXPECT_EQ(c.Call("PATCH", path + "/scale", R"({"spec":{"replicas":"x"}})", "application/merge-patch+json").status, 422);
  EXPECT_EQ(Field(c.Call("GET", path).json, "spec.instances").as_integer(), 5);
  EXPECT_EQ(c.Call("DELETE", path + "/scale").status, 405);

  // RBAC: postgresclusters/scale is a resource of its own.
  auto rules = ParseRoles(R"(kind: Role
rules:
- {apiGroups: [pgvigil.io], resources: [postgresclusters], verbs: [get, patch, update]})");
  ASSERT_TRUE(rules.ok());
  fake_->AllowToken("editor", *rules);
  EXPECT_EQ(Client("editor").Call("GET", path + "/scale").status, 403);
  EXPECT_EQ(Client("editor").Call("PATCH", path + "/scale", R"({"spec":{"replicas":3}})",
                                  "application/merge-patch+json").status,
            403);
}

// api-concepts "Efficient detection of changes" and "Watch bookmarks".
TEST_F(KubeFakeTest, WatchStreamsEventsAsJsonLinesWithBookmarks) {
  HttpResult made = CreateCluster("demo");
  std::string rv = StringField(made.json, "metadata.resourceVersion");
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Client().Call("PATCH", "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters/demo",
                  R"({"metadata":{"labels":{"a":"b"}}})", "application/merge-patch+json");
    Client().Call("DELETE", "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters/demo");
  });
  WatchResult w = Client().Watch("/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters?watch=1&resourceVersion=" +
                                     rv + "&allowWatchBookmarks=true&timeoutSeconds=2",
                                 100, std::chrono::seconds(5));
  writer.join();
  ASSERT_TRUE(w.opened);
  std::vector<std::string> types;
  for (const auto& e : w.events) types.push_back(StringField(e, "type"));
  ASSERT_GE(types.size(), 3u);
  EXPECT_EQ(types[0], "MODIFIED");
  EXPECT_EQ(types[1], "DELETED");
  EXPECT_EQ(types[2], "BOOKMARK");
  value bookmark = w.events[2].at("object");
  EXPECT_FALSE(StringField(bookmark, "metadata.resourceVersion").empty());
  EXPECT_FALSE(bookmark.has_field("spec")) << "a bookmark carries only the resourceVersion";
  EXPECT_TRUE(w.clean) << "timeoutSeconds ends the stream with the final chunk";
}

TEST_F(KubeFakeTest, WatchWithoutVersionStartsWithTheCurrentObjectsAndFollowsSelectors) {
  FakeClient c = Client();
  c.Call("POST", "/api/v1/namespaces/db/pods", R"({"metadata":{"name":"a","labels":{"role":"primary"}},"spec":{}})");
  c.Call("POST", "/api/v1/namespaces/db/pods", R"({"metadata":{"name":"b","labels":{"role":"replica"}},"spec":{}})");
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Client().Call("PATCH", "/api/v1/namespaces/db/pods/a", R"({"metadata":{"labels":{"role":"fenced"}}})",
                  "application/merge-patch+json");
    Client().Call("PATCH", "/api/v1/namespaces/db/pods/b", R"({"metadata":{"labels":{"role":"primary"}}})",
                  "application/merge-patch+json");
  });
  WatchResult w = c.Watch("/api/v1/namespaces/db/pods?watch=true&labelSelector=role%3Dprimary&timeoutSeconds=2", 3);
  writer.join();
  ASSERT_EQ(w.events.size(), 3u);
  EXPECT_EQ(StringField(w.events[0], "type"), "ADDED");
  EXPECT_EQ(StringField(w.events[0], "object.metadata.name"), "a");
  EXPECT_EQ(StringField(w.events[1], "type"), "DELETED") << "a left the selection";
  EXPECT_EQ(StringField(w.events[2], "type"), "ADDED") << "b entered it";
  EXPECT_EQ(StringField(w.events[2], "object.metadata.name"), "b");
}

// api-concepts "410 Gone responses": a watch from a forgotten version gets an
// ERROR event with a Status of code 410; a forced compaction ends open watches so.
TEST_F(KubeFakeTest, WatchFromACompactedVersionIsGone) {
  HttpResult made = CreateCluster("demo");
  std::string rv = StringField(made.json, "metadata.resourceVersion");
  CreateCluster("other");
  fake_->Compact();
  WatchResult w = Client().Watch("/apis/pgvigil.io/v1alpha1/postgresclusters?watch=1&resourceVersion=" + rv, 1);
  ASSERT_EQ(w.events.size(), 1u);
  EXPECT_EQ(StringField(w.events[0], "type"), "ERROR");
  EXPECT_EQ(Field(w.events[0], "object.code").as_integer(), 410);
  EXPECT_EQ(StringField(w.events[0], "object.reason"), "Expired");

  std::string now = std::to_string(fake_->WithStore([](ObjectStore& s) { return s.revision(); }));
  std::thread compactor([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    fake_->Compact();
  });
  WatchResult open = Client().Watch("/apis/pgvigil.io/v1alpha1/postgresclusters?watch=1&resourceVersion=" + now, 5);
  compactor.join();
  ASSERT_EQ(open.events.size(), 1u);
  EXPECT_EQ(Field(open.events[0], "object.code").as_integer(), 410);
  EXPECT_TRUE(open.clean);
}

TEST_F(KubeFakeTest, DroppedWatchesEndWithoutTheFinalChunk) {
  std::thread dropper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    fake_->DropWatches();
  });
  WatchResult w = Client().Watch("/api/v1/namespaces/db/pods?watch=1&resourceVersion=0", 5, std::chrono::seconds(5));
  dropper.join();
  EXPECT_TRUE(w.opened);
  EXPECT_FALSE(w.clean);
}

TEST_F(KubeFakeTest, ThrottlingAndUnavailabilityCarryRetryAfter) {
  fake_->FailNext(2, 429, 3);
  HttpResult a = Client().Call("GET", "/api/v1/namespaces/db/pods");
  EXPECT_EQ(a.status, 429);
  EXPECT_EQ(a.headers["Retry-After"], "3");
  EXPECT_EQ(StringField(a.json, "reason"), "TooManyRequests");
  EXPECT_EQ(Client().Call("GET", "/api/v1/namespaces/db/pods").status, 429);
  EXPECT_EQ(Client().Call("GET", "/api/v1/namespaces/db/pods").status, 200);
  fake_->FailNext(1, 503, 1);
  HttpResult u = Client().Call("GET", "/api/v1/namespaces/db/pods");
  EXPECT_EQ(u.status, 503);
  EXPECT_EQ(u.headers["Retry-After"], "1");
}

TEST_F(KubeFakeTest, LatencyDelaysEveryAnswer) {
  fake_->SetLatency(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Client().Call("GET", "/api/v1/namespaces/db/pods").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST_F(KubeFakeTest, DownRefusesConnectionsUntilUpOnTheSamePort) {
  fake_->SetDown(true);
  HttpResult down = Client().Call("GET", "/api/v1/namespaces/db/pods");
  EXPECT_EQ(down.status, 0);
  EXPECT_FALSE(down.error.empty());
  fake_->SetDown(false);
  EXPECT_EQ(Client().Call("GET", "/api/v1/namespaces/db/pods").status, 200);
}

}  // namespace
}  // namespace pgvigil::kube::fake
