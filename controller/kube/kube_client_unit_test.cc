// The client's pure parts: retry delays, URLs and paths, MicroTime, Lease
// JSON, and the two configurations (service-account directory, kubeconfig).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "controller/kube/kube_client.h"
#include "controller/kube/kube_config.h"
#include "controller/kube/kube_lease.h"

namespace pgvigil::kube {
namespace {

using std::chrono::milliseconds;

TEST(RetryDelayTest, RetryAfterWinsElseJitteredExponential) {
  EXPECT_EQ(RetryDelay(1, 3, 0.0), milliseconds(3000));
  EXPECT_EQ(RetryDelay(4, 0, 0.9), milliseconds(0));
  EXPECT_EQ(RetryDelay(1, 120, 0.0), milliseconds(30000)) << "capped at 30 s";
  EXPECT_EQ(RetryDelay(1, -1, 0.0), milliseconds(250));
  EXPECT_EQ(RetryDelay(1, -1, 1.0), milliseconds(500));
  EXPECT_EQ(RetryDelay(2, -1, 1.0), milliseconds(1000));
  EXPECT_EQ(RetryDelay(3, -1, 0.0), milliseconds(1000));
  EXPECT_EQ(RetryDelay(20, -1, 1.0), milliseconds(30000));
  EXPECT_EQ(RetryDelay(20, -1, 0.0), milliseconds(15000));
}

TEST(KubePathsTest, ServerUrlAndResourcePaths) {
  EXPECT_EQ(ServerUrl("10.96.0.1", "443"), "https://10.96.0.1:443");
  EXPECT_EQ(ServerUrl("fd00:10:96::1", "443"), "https://[fd00:10:96::1]:443");
  EXPECT_EQ(ServerUrl("[::1]", "6443"), "https://[::1]:6443");
  EXPECT_EQ(ResourcePath("", "v1", "pods", "db", "demo-0"), "/api/v1/namespaces/db/pods/demo-0");
  EXPECT_EQ(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo", "status"),
            "/apis/pgvigil.io/v1alpha1/namespaces/db/postgresclusters/demo/status");
  EXPECT_EQ(ResourcePath("", "v1", "nodes", ""), "/api/v1/nodes");
  EXPECT_EQ(QueryEscape("pgvigil.io/role in (primary,replica)"), "pgvigil.io%2Frole%20in%20%28primary%2Creplica%29");
}

TEST(MicroTimeTest, FormatAndParse) {
  auto t = std::chrono::system_clock::from_time_t(1767323045) + std::chrono::microseconds(123456);
  EXPECT_EQ(FormatMicroTime(t), "2026-01-02T03:04:05.123456Z");
  // Before 1970 the fraction still counts up from the second below it.
  EXPECT_EQ(FormatMicroTime(std::chrono::system_clock::from_time_t(0) - std::chrono::microseconds(1)),
            "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(ParseMicroTime("2026-01-02T03:04:05.123456Z"), t);
  EXPECT_EQ(ParseMicroTime("2026-01-02T03:04:05Z"), t - std::chrono::microseconds(123456));
  EXPECT_EQ(ParseMicroTime("2026-01-02T03:04:05.1Z"), t - std::chrono::microseconds(23456));
  EXPECT_FALSE(ParseMicroTime("2026-01-02 03:04:05Z").has_value());
  EXPECT_FALSE(ParseMicroTime("2026-01-02T03:04:05.123456+01:00").has_value());
}

TEST(LeaseJsonTest, RoundTrip) {
  Lease l;
  l.ns = "pgvigil-system";
  l.name = "pgvigil-controller";
  l.holderIdentity = "controller-a-1f2e";
  l.leaseDurationSeconds = 15;
  l.acquireTime = "2026-01-02T03:04:05.000001Z";
  l.renewTime = "2026-01-02T03:04:07.000001Z";
  l.leaseTransitions = 4;
  l.annotations["pgvigil.io/epoch"] = "17";
  l.resourceVersion = "42";
  Lease back = Lease::FromJson(l.ToJson());
  EXPECT_EQ(back.ToJson(), l.ToJson());
  EXPECT_EQ(back.annotations.at("pgvigil.io/epoch"), "17");
  EXPECT_EQ(l.ToJson().at("spec").at("leaseDurationSeconds").as_integer(), 15);
}

class ConfigFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kube-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }
  std::string dir_;
};

TEST_F(ConfigFilesTest, InClusterFromTheServiceAccountDirectory) {
  Write("ca.crt", "CA PEM");
  Write("token", "tok-1\n");
  Write("namespace", "pgvigil-system");
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}, {"PGVIGIL_KUBE_SA_DIR", dir_}};
  auto lookup = [&](const std::string& k) { return env.count(k) ? env[k] : std::string(); };
  auto c = InClusterConfig(lookup);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  EXPECT_EQ(c->caPem, "CA PEM");
  EXPECT_EQ(c->token, "tok-1");
  EXPECT_EQ(c->tokenFile, dir_ + "/token");
  EXPECT_EQ(c->ns, "pgvigil-system");
  env.erase("KUBERNETES_SERVICE_HOST");
  EXPECT_NE(InClusterConfig(lookup).error().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  env["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  std::remove((dir_ + "/namespace").c_str());
  EXPECT_NE(InClusterConfig(lookup).error().find("namespace"), std::string::npos);
}

TEST_F(ConfigFilesTest, KubeconfigCurrentContextWithTokenFileOrClientCertificate) {
  Write("ca.pem", "CA FROM FILE");
  Write("tok", "file-token\n");
  Write("config", R"(apiVersion: v1
kind: Config
current-context: lab
contexts:
- {name: lab, context: {cluster: fake, user: robot, namespace: db}}
- {name: other, context: {cluster: fake, user: certs}}
clusters:
- {name: fake, cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.pem}}
users:
- {name: robot, user: {tokenFile: TOKENFILE}}
- {name: certs, user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}}
)");
  std::string text;
  {
    std::ifstream in(dir_ + "/config");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("TOKENFILE"), 9, dir_ + "/tok");
  Write("config", text);
  auto c = KubeconfigFile(dir_ + "/config");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
  EXPECT_EQ(c->caPem, "CA FROM FILE");
  EXPECT_EQ(c->token, "file-token");
  EXPECT_EQ(c->ns, "db");
  auto o = KubeconfigFile(dir_ + "/config", "other");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->clientCertPem, "CERT");
  EXPECT_EQ(o->clientKeyPem, "KEY");
  EXPECT_EQ(o->ns, "default");
  EXPECT_NE(KubeconfigFile(dir_ + "/config", "nope").error().find("context 'nope' not found"), std::string::npos);
  EXPECT_FALSE(KubeconfigFile(dir_ + "/missing").ok());
}

}  // namespace
}  // namespace pgvigil::kube
