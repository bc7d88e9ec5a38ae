// The Kubernetes client against kube-fake (the API-server test double, not
// Kubernetes): the in-cluster path (environment + service-account directory)
// and a kubeconfig with a client certificate, CRUD with compare-and-swap,
// merge/JSON patch and apply, Lease CAS, Events, a rotated token (401 then
// re-read), back-off on 429/503 honouring Retry-After, and list + watch with
// bookmarks, dropped watches and a relist after 410 Gone.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "controller/kube/kube_client.h"
#include "controller/kube/kube_lease.h"
#include "controller/kube/list_watch.h"
#include "controller/kube/testing/kube_fake.h"

namespace pgvigil::kube {
namespace {

using std::chrono::milliseconds;
using web::json::value;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class KubeClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kube-client-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fake::FakeOptions o;
    o.crdFile = std::string(PGVIGIL_SOURCE_DIR) + "/charts/pgvigil/templates/crds/postgresclusters.yaml";
    o.pkiDir = dir_ + "/pki";  // not dir_: the pod's ca.crt is written there below
    ASSERT_EQ(::mkdir(o.pkiDir.c_str(), 0700), 0);
    o.bookmarkInterval = milliseconds(200);
    auto f = fake::KubeFake::Start(o);
    ASSERT_TRUE(f.ok()) << f.error();
    fake_ = std::move(*f);
    fake_->AllowToken("token-1");
    // A pod's view: environment and the service-account directory.
    std::ofstream(dir_ + "/token") << "token-1\n";
    std::ofstream(dir_ + "/namespace") << "db";
    std::ofstream(dir_ + "/ca.crt") << Slurp(fake_->pki().caCert);
  }
  void TearDown() override {
    fake_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  KubeConfig InCluster() {
    std::string port = std::to_string(fake_->port()), dir = dir_;
    auto env = [port, dir](const std::string& k) -> std::string {
      if (k == "KUBERNETES_SERVICE_HOST") return "127.0.0.1";
      if (k == "KUBERNETES_SERVICE_PORT") return port;
      if (k == "PGVIGIL_KUBE_SA_DIR") return dir;
      return "";
    };
    auto c = InClusterConfig(env);
    EXPECT_TRUE(c.ok()) << c.error();
    return c.ok() ? *c : KubeConfig{};
  }
  ClientOptions Recording() {
    ClientOptions o;
    o.sleep = [this](milliseconds d) { slept_.push_back(d); };
    o.jitter = [] { return 1.0; };
    return o;
  }
  static value Cluster(const std::string& name) {
    return value::parse(R"({"apiVersion":"pgvigil.io/v1alpha1","kind":"PostgresCluster","metadata":{"name":")" + name +
                        R"("},"spec":{"instances":3,"storage":{"size":"1Gi"}}})");
  }
  const std::string kClusters = ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db");
  std::string dir_;
  std::unique_ptr<fake::KubeFake> fake_;
  std::vector<milliseconds> slept_;
};

TEST_F(KubeClientTest, InClusterConfigReachesTheApiAndCrudWorks) {
  KubeClient c(InCluster());
  EXPECT_EQ(c.config().ns, "db");
  auto crd = c.Get("/apis/pgvigil.io/v1alpha1");
  ASSERT_TRUE(crd.ok()) << crd.error();
  EXPECT_EQ(crd->code, 200) << "the CRD is installed";
  auto made = c.Create(kClusters, Cluster("demo"));
  ASSERT_TRUE(made.ok()) << made.error();
  EXPECT_EQ(made->code, 201);
  auto again = c.Create(kClusters, Cluster("demo"));
  EXPECT_EQ(again->code, 409);
  EXPECT_EQ(again->reason(), "AlreadyExists");
  auto bad = c.Create(kClusters, [] { value v = Cluster("bad"); v["spec"]["instances"] = value::number(0); return v; }());
  EXPECT_EQ(bad->code, 422);
  EXPECT_NE(bad->Describe().find("spec.instances"), std::string::npos) << bad->Describe();
}

// The state CAS of KUBERNETES.md §7 #4: a status PUT guarded by resourceVersion.
TEST_F(KubeClientTest, StatusPutIsCompareAndSwap) {
  KubeClient c(InCluster());
  auto made = c.Create(kClusters, Cluster("demo"));
  ASSERT_EQ(made->code, 201);
  std::string status_path = ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo", "status");
  value first = made->body, second = made->body;
  first["status"] = value::parse(R"({"term":7,"phase":"Healthy"})");
  auto ok = c.Replace(status_path, first);
  ASSERT_EQ(ok->code, 200) << ok->Describe();
  second["status"] = value::parse(R"({"term":6})");
  auto lost = c.Replace(status_path, second);
  EXPECT_EQ(lost->code, 409);
  EXPECT_EQ(lost->reason(), "Conflict");
  auto now = c.Get(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo"));
  EXPECT_EQ(now->body.at("status").at("term").as_integer(), 7);
  EXPECT_EQ(now->body.at("metadata").at("generation").as_integer(), 1);
}

TEST_F(KubeClientTest, PatchesAndApply) {
  KubeClient c(InCluster());
  std::string pods = ResourcePath("", "v1", "pods", "db");
  auto pod = c.Create(pods, value::parse(R"({"metadata":{"name":"demo-0","labels":{"pgvigil.io/role":"replica"}},"spec":{}})"));
  ASSERT_EQ(pod->code, 201);
  std::string rv = pod->body.at("metadata").at("resourceVersion").as_string();
  std::string path = pods + "/demo-0";
  value label = value::parse(R"({"metadata":{"labels":{"pgvigil.io/role":"primary"}}})");
  label["metadata"]["resourceVersion"] = value::string(rv);
  EXPECT_EQ(c.MergePatch(path, label)->code, 200);
  EXPECT_EQ(c.MergePatch(path, label)->code, 409) << "the resourceVersion in the patch is a precondition";
  auto failed = c.JsonPatch(path, value::parse(R"([{"op":"test","path":"/metadata/labels/pgvigil.io~1role","value":"replica"},
                                                   {"op":"replace","path":"/metadata/labels/pgvigil.io~1role","value":"fenced"}])"));
  EXPECT_EQ(failed->code, 422);
  std::string cm = ResourcePath("", "v1", "configmaps", "db", "demo-config");
  value config = value::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"demo-config"},"data":{"cluster.yaml":"a"}})");
  EXPECT_EQ(c.Apply(cm, config, "pgvigil-controller")->code, 201);
  config["data"]["cluster.yaml"] = value::string("b");
  auto applied = c.Apply(cm, config, "pgvigil-controller");
  EXPECT_EQ(applied->code, 200);
  EXPECT_EQ(applied->body.at("data").at("cluster.yaml").as_string(), "b");
  value pre = value::parse(R"({"preconditions":{"uid":"not-it"}})");
  EXPECT_EQ(c.Delete(path, pre)->code, 409);
}

// The rollout's pod DELETE (KUBERNETES.md §7 #8): DeleteOptions preconditions
// {uid, resourceVersion}; a pod changed since it was read (its resourceVersion
// moved) is 409 Conflict and stays; the pod as read is deleted.
TEST_F(KubeClientTest, DeleteWithUidAndResourceVersionPreconditions) {
  KubeClient c(InCluster());
  std::string pods = ResourcePath("", "v1", "pods", "db");
  auto pod = c.Create(pods, value::parse(R"({"metadata":{"name":"demo-1"},"spec":{}})"));
  ASSERT_EQ(pod->code, 201);
  const std::string path = pods + "/demo-1";
  const std::string uid = pod->body.at("metadata").at("uid").as_string();
  const std::string rv = pod->body.at("metadata").at("resourceVersion").as_string();
  ASSERT_EQ(c.MergePatch(path, value::parse(R"({"metadata":{"labels":{"x":"y"}}})"))->code, 200);
  auto stale = c.Delete(path, DeleteOptionsFor(uid, rv, 60));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->code, 409);
  EXPECT_EQ(stale->reason(), "Conflict");
  EXPECT_NE(stale->message().find("Precondition failed"), std::string::npos) << stale->message();
  EXPECT_EQ(c.Get(path)->code, 200) << "the pod stays";
  const std::string now = c.Get(path)->body.at("metadata").at("resourceVersion").as_string();
  EXPECT_EQ(c.Delete(path, DeleteOptionsFor("another-uid", now, 60))->code, 409);
  EXPECT_EQ(c.Delete(path, DeleteOptionsFor(uid, now, 60))->code, 200);
  EXPECT_EQ(c.Get(path)->code, 404);
}

TEST_F(KubeClientTest, LeaseCreateGetAndCasUpdate) {
  KubeClient a(InCluster()), b(InCluster());
  auto missing = GetLease(&a, "db", "pgvigil-controller");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->reply.code, 404);
  Lease l;
  l.ns = "db";
  l.name = "pgvigil-controller";
  l.holderIdentity = "a-1";
  l.leaseDurationSeconds = 15;
  l.acquireTime = l.renewTime = FormatMicroTime(std::chrono::system_clock::now());
  l.annotations["pgvigil.io/epoch"] = "1";
  auto made = CreateLease(&a, l);
  ASSERT_EQ(made->reply.code, 201) << made->reply.Describe();
  EXPECT_EQ(CreateLease(&b, l)->reply.code, 409);
  auto read_a = GetLease(&a, "db", "pgvigil-controller");
  auto read_b = GetLease(&b, "db", "pgvigil-controller");
  EXPECT_EQ(read_a->lease.renewTime, l.renewTime);
  EXPECT_TRUE(ParseMicroTime(read_a->lease.renewTime).has_value());
  Lease take = read_b->lease;
  take.holderIdentity = "b-1";
  take.leaseTransitions += 1;
  take.annotations["pgvigil.io/epoch"] = "2";
  ASSERT_EQ(UpdateLease(&b, take)->reply.code, 200);
  Lease renew = read_a->lease;  // read before b took it
  renew.renewTime = FormatMicroTime(std::chrono::system_clock::now());
  EXPECT_EQ(UpdateLease(&a, renew)->reply.code, 409) << "the lost race";
  auto now = GetLease(&a, "db", "pgvigil-controller");
  EXPECT_EQ(now->lease.holderIdentity, "b-1");
  EXPECT_EQ(now->lease.annotations.at("pgvigil.io/epoch"), "2");
  EXPECT_EQ(now->lease.leaseTransitions, 1);
}

TEST_F(KubeClientTest, EventsArePosted) {
  KubeClient c(InCluster());
  EventRecord e;
  e.ns = "db";
  e.regarding = value::parse(R"({"apiVersion":"pgvigil.io/v1alpha1","kind":"PostgresCluster","name":"demo","namespace":"db"})");
  e.reason = "FailoverStarted";
  e.action = "Promote";
  e.note = std::string(2000, 'x');
  e.reportingInstance = "controller-a";
  auto r = PostEvent(&c, e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 201) << r->Describe();
  EXPECT_LE(r->body.at("note").as_string().size(), 1024u);
  EXPECT_EQ(r->body.at("reportingController").as_string(), "pgvigil.io/controller");
}

// Bound service-account tokens rotate: a 401 re-reads the file once.
TEST_F(KubeClientTest, RotatedTokenIsReReadAfter401) {
  KubeClient c(InCluster());
  EXPECT_EQ(c.Get(kClusters)->code, 200);
  std::ofstream(dir_ + "/token") << "token-2\n";
  fake_->AllowToken("token-2");
  fake_->RevokeToken("token-1");
  EXPECT_EQ(c.Get(kClusters)->code, 200);
  fake_->RevokeToken("token-2");
  EXPECT_EQ(c.Get(kClusters)->code, 401) << "an unchanged file: the 401 stands";
}

TEST_F(KubeClientTest, TokenIsReReadEveryMinute) {
  auto now = std::chrono::steady_clock::now();
  ClientOptions o;
  o.now = [&now] { return now; };
  KubeClient c(InCluster(), o);
  std::ofstream(dir_ + "/token") << "token-3\n";
  fake_->AllowToken("token-3");
  int before = fake_->requests();
  now += std::chrono::seconds(61);
  fake_->RevokeToken("token-1");
  EXPECT_EQ(c.Get(kClusters)->code, 200);
  EXPECT_EQ(fake_->requests() - before, 1) << "the new token went out first, without a 401";
}

TEST_F(KubeClientTest, ThrottlingIsRetriedAfterRetryAfter) {
  KubeClient c(InCluster(), Recording());
  fake_->FailNext(2, 429, 2);
  auto r = c.Get(kClusters);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 200);
  EXPECT_EQ(slept_, (std::vector<milliseconds>{milliseconds(2000), milliseconds(2000)}));
  slept_.clear();
  fake_->FailNext(100, 503, 1);
  KubeClient d(InCluster(), Recording());
  auto gave_up = d.Get(kClusters);
  EXPECT_EQ(gave_up->code, 503) << "after maxAttempts the answer is returned";
  EXPECT_EQ(slept_.size(), 5u);
}

// A throttling API server (429, Retry-After 8 s, answer after answer) does not
// hold the caller past the call's deadline (20 s by default): two waits of
// 8 s, then the third would end at 24 s, so the 429 goes back to the caller
// (whose next round asks again) instead of after five waits (40 s).
TEST_F(KubeClientTest, RetriesStopAtTheCallDeadline) {
  ClientOptions o = Recording();
  const auto start = std::chrono::steady_clock::now();
  o.now = [this, start] {
    auto t = start;
    for (auto d : slept_) t += d;
    return t;
  };
  KubeClient c(InCluster(), o);
  fake_->FailNext(100, 429, 8);
  auto r = c.Get(kClusters);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->code, 429);
  EXPECT_EQ(slept_, (std::vector<milliseconds>{milliseconds(8000), milliseconds(8000)}));
}

TEST_F(KubeClientTest, KubeconfigWithAClientCertificate) {
  fake_->AllowClientCert("kube-fake-client");
  std::ofstream(dir_ + "/kubeconfig") << "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
                                      << "contexts: [{name: t, context: {cluster: f, user: u, namespace: db}}]\n"
                                      << "clusters: [{name: f, cluster: {server: '" << fake_->url()
                                      << "', certificate-authority: " << fake_->pki().caCert << "}}]\n"
                                      << "users: [{name: u, user: {client-certificate: " << fake_->pki().clientCert
                                      << ", client-key: " << fake_->pki().clientKey << "}}]\n";
  auto cfg = KubeconfigFile(dir_ + "/kubeconfig");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  KubeClient c(*cfg);
  auto r = c.Get(kClusters);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->code, 200);
  KubeConfig wrong_ca = *cfg;
  wrong_ca.caPem = Slurp(fake_->pki().serverCert);  // not the CA
  KubeClient w(wrong_ca);
  EXPECT_FALSE(w.Get(kClusters).ok()) << "the server certificate is verified";
}

TEST_F(KubeClientTest, ListPagesAndWatchFollowsBookmarks) {
  KubeClient c(InCluster());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.Create(kClusters, Cluster("c" + std::to_string(i))).ok());
  auto list = c.List(kClusters, "", 2);
  ASSERT_TRUE(list.ok()) << list.error();
  EXPECT_EQ(list->items.size(), 5u);
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(300));
    KubeClient w(InCluster());
    EXPECT_TRUE(w.Delete(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "c1")).ok());
  });
  std::vector<std::string> seen;
  WatchResult r = c.Watch(kClusters, "", list->resourceVersion, 1, milliseconds(3000), [&](const WatchEvent& e) {
    seen.push_back(e.type + " " + e.object.at("metadata").at("name").as_string());
    return true;
  });
  writer.join();
  EXPECT_EQ(r.end, WatchEnd::kClosed) << r.error;
  EXPECT_EQ(seen, std::vector<std::string>{"DELETED c1"});
  EXPECT_GT(std::stoull(r.resourceVersion), std::stoull(list->resourceVersion)) << "bookmarks and events moved it";
  fake_->Compact();
  WatchResult gone = c.Watch(kClusters, "", list->resourceVersion, 1, milliseconds(3000), [](const WatchEvent&) { return true; });
  EXPECT_EQ(gone.end, WatchEnd::kGone);
}

TEST_F(KubeClientTest, ListWatchRelistsAfterGoneAndResumesAfterADrop) {
  KubeClient c(InCluster());
  ASSERT_TRUE(c.Create(kClusters, Cluster("a")).ok());
  ListWatchOptions o;
  o.timeoutSeconds = 30;
  o.idle = milliseconds(2000);
  ListWatch lw(&c, kClusters, o);
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::set<std::string> names;
  std::thread runner([&] {
    lw.Run(stop, [&](const ListWatch::Cache& cache, const std::string&) {
      std::lock_guard<std::mutex> lock(mu);
      names.clear();
      for (const auto& [k, v] : cache) names.insert(k);
    });
  });
  auto wait_for = [&](const std::set<std::string>& want) {
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (names == want) return true;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  };
  EXPECT_TRUE(wait_for({"db/a"}));
  EXPECT_TRUE(c.Create(kClusters, Cluster("b")).ok());
  EXPECT_TRUE(wait_for({"db/a", "db/b"}));
  fake_->DropWatches();
  EXPECT_TRUE(c.Create(kClusters, Cluster("c")).ok());
  EXPECT_TRUE(wait_for({"db/a", "db/b", "db/c"})) << "resumed after the dropped watch";
  EXPECT_EQ(lw.relistsAfterGone(), 0);
  int lists = lw.lists();
  // A forced compaction: the open watch ends with 410; a change made meanwhile
  // is found by the relist.
  fake_->Compact();
  EXPECT_TRUE(c.Delete(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "a")).ok());
  EXPECT_TRUE(wait_for({"db/b", "db/c"}));
  EXPECT_EQ(lw.relistsAfterGone(), 1);
  EXPECT_EQ(lw.lists(), lists + 1);
  stop = true;
  fake_->DropWatches();
  runner.join();
}

}  // namespace
}  // namespace pgvigil::kube
