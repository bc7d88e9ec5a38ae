// The standalone kube-fake (a stand-in for the Kubernetes API server, not
// Kubernetes) as the kube-lab harness uses it: started as a process with the
// repository's rendered manifests, reached through the in-cluster
// configuration path (the service-account directory it writes), holding the
// manifests' RBAC for that token, and steered through its control port:
// apply of the example manifest, 503/429, latency, API down and up on the same
// port, forced compaction (410 on a watch from before it), bad control input,
// the request log (who, User-Agent, outcome; control requests in their place).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "controller/kube/kube_client.h"
#include "controller/testing/child_process.h"

namespace pgvigil::kube {
namespace {

using std::chrono::milliseconds;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One plain HTTP request to 127.0.0.1:port; "<code> <body>" or "" on failure.
std::string Http(int port, const std::string& raw) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  ::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string in;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) in.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (in.size() < 12) return "";
  size_t body = in.find("\r\n\r\n");
  return in.substr(9, 3) + " " + (body == std::string::npos ? "" : in.substr(body + 4));
}

std::string Post(int port, const std::string& target, const std::string& body = "") {
  return Http(port, "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body);
}

class KubeFakeMainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kube-fake-main-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string error;
    ASSERT_TRUE(fake_.Start({PGVIGIL_KUBE_FAKE_BIN, "--dir", dir_ + "/kf", "--manifests",
                             std::string(PGVIGIL_SOURCE_DIR) + "/manifests/install.yaml", "--request-log",
                             dir_ + "/requests.jsonl"},
                            dir_ + "/kube-fake.log", &error))
        << error;
    for (int i = 0; i < 100 && ReadText(dir_ + "/kf/env").empty(); ++i) std::this_thread::sleep_for(milliseconds(100));
    std::istringstream env(ReadText(dir_ + "/kf/env"));
    std::string line;
    while (std::getline(env, line)) {
      size_t eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    ASSERT_FALSE(env_["KUBERNETES_SERVICE_PORT"].empty()) << fake_.LogTail();
    control_ = std::atoi(env_["KUBE_FAKE_CONTROL"].substr(env_["KUBE_FAKE_CONTROL"].rfind(':') + 1).c_str());
  }
  void TearDown() override {
    fake_.Stop();
    if (HasFailure()) std::cerr << "kube-fake log:\n" << fake_.LogTail() << "\n";
    std::system(("rm -rf " + dir_).c_str());
  }
  // The pod's view: the in-cluster configuration from the env file.
  std::unique_ptr<KubeClient> ServiceAccountClient(int attempts = 1, const std::string& agent = "") {
    auto c = InClusterConfig([this](const std::string& k) { return env_[k]; });
    EXPECT_TRUE(c.ok()) << c.error();
    ClientOptions o;
    o.timeout = milliseconds(3000);
    o.maxAttempts = attempts;
    o.userAgent = agent;
    return std::make_unique<KubeClient>(*c, o);
  }
  std::unique_ptr<KubeClient> AdminClient() {
    KubeConfig c;
    c.server = env_["KUBE_FAKE_URL"];
    c.caPem = ReadText(env_["KUBE_FAKE_CA"]);
    c.token = env_["KUBE_FAKE_ADMIN_TOKEN"];
    ClientOptions o;
    o.timeout = milliseconds(3000);
    o.maxAttempts = 1;
    return std::make_unique<KubeClient>(c, o);
  }
  int Code(KubeClient* c, const std::string& path) {
    auto r = c->Get(path);
    return r.ok() ? r->code : -1;
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
  int control_ = 0;
  testing::ChildProcess fake_;
};

const std::string kClusters = ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db");

TEST_F(KubeFakeMainTest, ServesTheInClusterPathWithTheManifestsRbacAndAppliesTheExample) {
  auto sa = ServiceAccountClient();
  EXPECT_EQ(ReadText(env_["PGVIGIL_KUBE_SA_DIR"] + "/namespace"), "pgvigil-system");
  EXPECT_EQ(Code(sa.get(), kClusters), 200);
  // The ClusterRole grants get/list/watch on postgresclusters, not create.
  web::json::value cr = web::json::value::parse(
      R"({"apiVersion":"pgvigil.io/v1alpha1","kind":"PostgresCluster","metadata":{"name":"x","namespace":"db"},"spec":{}})");
  auto created = sa->Create(kClusters, cr);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->code, 403) << created->Describe();

  std::string applied = Post(control_, "/apply", ReadText(std::string(PGVIGIL_SOURCE_DIR) + "/manifests/examples/k8s-cluster.yaml"));
  EXPECT_EQ(applied.substr(0, 3), "200") << applied;
  EXPECT_NE(applied.find("skipped Namespace db"), std::string::npos) << applied;
  EXPECT_NE(applied.find("created PostgresCluster db/demo"), std::string::npos) << applied;
  auto demo = sa->Get(kClusters + "/demo");
  ASSERT_TRUE(demo.ok() && demo->ok());
  EXPECT_EQ(demo->body.at("spec").at("instances").as_integer(), 3);
  // The status subresource with the CRD's enum of quoted strings ("True"), as
  // the controller writes it with its token.
  web::json::value st = demo->body;
  st["status"] = web::json::value::parse(
      R"({"conditions":[{"type":"Ready","status":"True","reason":"R","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"}]})");
  auto put = sa->Replace(kClusters + "/demo/status", st);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->code, 200) << put->Describe();
  st["status"]["conditions"][0]["status"] = web::json::value::string("Maybe");
  st["metadata"]["resourceVersion"] = put->body.at("metadata").at("resourceVersion");
  put = sa->Replace(kClusters + "/demo/status", st);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->code, 422) << put->Describe();
  // stringData is folded into data, as the API server does.
  auto secret = sa->Get(ResourcePath("", "v1", "secrets", "db", "demo-superuser"));
  ASSERT_TRUE(secret.ok() && secret->ok());
  EXPECT_EQ(secret->body.at("data").at("password").as_string(), "Y2hhbmdlLW1lLXN1cGVydXNlcg==");
  EXPECT_FALSE(secret->body.has_field("stringData"));
  // Applying again replaces; a CR the schema refuses is an error line (422).
  EXPECT_NE(Post(control_, "/apply", ReadText(std::string(PGVIGIL_SOURCE_DIR) + "/manifests/examples/k8s-cluster.yaml"))
                .find("configured PostgresCluster db/demo"),
            std::string::npos);
  std::string bad = Post(control_, "/apply",
                         "apiVersion: pgvigil.io/v1alpha1\nkind: PostgresCluster\nmetadata: {name: bad, namespace: db}\n"
                         "spec: {instances: nine}\n");
  EXPECT_EQ(bad.substr(0, 3), "422") << bad;
  EXPECT_EQ(Code(sa.get(), kClusters + "/bad"), 404);
}

// The double's audit log: each API request with the caller (the token's
// holder), its User-Agent, and the outcome; control requests in their place.
TEST_F(KubeFakeMainTest, RequestLogRecordsWhoDidWhatAndTheOutcome) {
  auto sa = ServiceAccountClient(1, "pgvigil-controller/test (replica-a)");
  EXPECT_EQ(Code(sa.get(), kClusters), 200);
  web::json::value cr = web::json::value::parse(
      R"({"apiVersion":"pgvigil.io/v1alpha1","kind":"PostgresCluster","metadata":{"name":"x","namespace":"db"},"spec":{}})");
  auto created = sa->Create(kClusters, cr);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->code, 403);
  EXPECT_EQ(Post(control_, "/compact").substr(0, 3), "200");
  auto admin = AdminClient();
  EXPECT_EQ(Code(admin.get(), kClusters + "/none"), 404);

  std::vector<web::json::value> lines;
  std::istringstream in(ReadText(dir_ + "/requests.jsonl"));
  std::string line;
  while (std::getline(in, line)) lines.push_back(web::json::value::parse(line));
  ASSERT_EQ(lines.size(), 4u) << ReadText(dir_ + "/requests.jsonl");
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i].at("seq").as_integer(), static_cast<int>(i + 1));
  EXPECT_EQ(lines[0].at("user").as_string(), "system:serviceaccount:pgvigil-system:pgvigil-controller");
  EXPECT_EQ(lines[0].at("userAgent").as_string(), "pgvigil-controller/test (replica-a)");
  EXPECT_EQ(lines[0].at("method").as_string(), "GET");
  EXPECT_EQ(lines[0].at("path").as_string(), kClusters);
  EXPECT_EQ(lines[0].at("code").as_integer(), 200);
  EXPECT_EQ(lines[0].at("reason").as_string(), "");
  EXPECT_EQ(lines[1].at("method").as_string(), "POST");
  EXPECT_EQ(lines[1].at("code").as_integer(), 403);
  EXPECT_EQ(lines[1].at("reason").as_string(), "Forbidden");
  EXPECT_EQ(lines[2].at("control").as_string(), "/compact");
  EXPECT_EQ(lines[3].at("user").as_string(), "admin");
  EXPECT_EQ(lines[3].at("code").as_integer(), 404);
  EXPECT_EQ(lines[3].at("reason").as_string(), "NotFound");
  EXPECT_EQ(lines[3].at("time").as_string().size(), std::string("2026-12-05T22:40:01.123Z").size());
}

TEST_F(KubeFakeMainTest, ControlPortInjectsFaults) {
  auto sa = ServiceAccountClient();
  EXPECT_EQ(Post(control_, "/fail?code=503&count=2&retry-after=1").substr(0, 3), "200");
  EXPECT_EQ(Code(sa.get(), kClusters), 503);
  EXPECT_EQ(Code(sa.get(), kClusters), 503);
  EXPECT_EQ(Code(sa.get(), kClusters), 200);
  EXPECT_EQ(Post(control_, "/fail?code=429&count=1&retry-after=0").substr(0, 3), "200");
  EXPECT_EQ(Code(sa.get(), kClusters), 429);

  EXPECT_EQ(Post(control_, "/latency?ms=400").substr(0, 3), "200");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Code(sa.get(), kClusters), 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(400));
  EXPECT_EQ(Post(control_, "/latency?ms=0").substr(0, 3), "200");

  EXPECT_EQ(Post(control_, "/down").substr(0, 3), "200");
  EXPECT_EQ(Code(sa.get(), kClusters), -1);  // no answer at all
  EXPECT_EQ(Post(control_, "/up").substr(0, 3), "200");
  EXPECT_EQ(Code(sa.get(), kClusters), 200);  // the same port again

  // A watch from a resourceVersion before a forced compaction: 410 Gone.
  auto admin = AdminClient();
  const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: db}\ndata: {a: ";
  EXPECT_EQ(Post(control_, "/apply", cm + "b}\n").substr(0, 3), "200");
  auto list = admin->List(kClusters);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(Post(control_, "/apply", cm + "c}\n").substr(0, 3), "200");
  EXPECT_EQ(Post(control_, "/compact").substr(0, 3), "200");
  auto w = admin->Watch(kClusters, "", list->resourceVersion, 2, milliseconds(3000),
                        [](const WatchEvent&) { return true; });
  EXPECT_EQ(w.end, WatchEnd::kGone);

  // A pod held Terminating (its kubelet does not confirm) until released.
  const std::string pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: db}\nspec: {}\n";
  EXPECT_EQ(Post(control_, "/apply", pod).substr(0, 3), "200");
  EXPECT_EQ(Post(control_, "/hold-pod?namespace=db&name=p").substr(0, 3), "200");
  const std::string path = "/api/v1/namespaces/db/pods/p";
  auto deleted = admin->Delete(path);
  ASSERT_TRUE(deleted.ok() && deleted->ok());
  auto held = admin->Get(path);
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->code, 200);
  EXPECT_TRUE(held->body.at("metadata").has_field("deletionTimestamp"));
  EXPECT_EQ(Post(control_, "/release-pod?namespace=db&name=p").substr(0, 3), "200");
  EXPECT_EQ(Code(admin.get(), path), 404);
}

TEST_F(KubeFakeMainTest, BadControlRequestsAreRefusedAndTheProcessKeepsServing) {
  EXPECT_EQ(Post(control_, "/fail?code=500&count=1").substr(0, 3), "400");
  EXPECT_EQ(Post(control_, "/latency?ms=-3").substr(0, 3), "400");
  EXPECT_EQ(Post(control_, "/hold-pod?name=p").substr(0, 3), "400");
  EXPECT_EQ(Post(control_, "/nothing").substr(0, 3), "404");
  EXPECT_EQ(Http(control_, "GET /down HTTP/1.1\r\n\r\n").substr(0, 3), "405");
  EXPECT_EQ(Http(control_, "garbage\r\n\r\n").substr(0, 3), "400");
  EXPECT_EQ(Post(control_, "/apply", "{ not: [yaml").substr(0, 3), "400");
  // A declared body over the limit is refused before it is read.
  EXPECT_EQ(Http(control_, "POST /apply HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n").substr(0, 3), "413");
  EXPECT_EQ(Http(control_, "GET /healthz HTTP/1.1\r\n\r\n"), "200 ok\n");
  EXPECT_TRUE(fake_.Alive());
}

TEST(KubeFakeMainCli, SaysItIsAStandInAndRefusesMissingManifests) {
  testing::ChildProcess p;
  std::string error;
  char tmpl[] = "/tmp/kube-fake-cli-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  ASSERT_TRUE(p.Start({PGVIGIL_KUBE_FAKE_BIN, "--help"}, dir + "/help.log", &error)) << error;
  for (int i = 0; i < 50 && p.Alive(); ++i) std::this_thread::sleep_for(milliseconds(100));
  EXPECT_NE(ReadText(dir + "/help.log").find("STAND-IN for the Kubernetes API server"), std::string::npos);
  ASSERT_TRUE(p.Start({PGVIGIL_KUBE_FAKE_BIN, "--dir", dir + "/kf", "--manifests", dir + "/none.yaml"},
                      dir + "/bad.log", &error));
  for (int i = 0; i < 50 && p.Alive(); ++i) std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(p.Alive());
  EXPECT_NE(ReadText(dir + "/bad.log").find("cannot read " + dir + "/none.yaml"), std::string::npos);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace pgvigil::kube
