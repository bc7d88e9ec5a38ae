// Test fixture: kube-fake (the API-server test double, not Kubernetes) with
// the cluster's Secrets, and pgvigil-controller --kubernetes as a child
// process through the in-cluster configuration path, its service account
// holding exactly the RBAC rules of manifests/install.yaml. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <thread>

#include "controller/kube/kube_fake_env.h"
#include "common/process.h"
#include "common/rest_client.h"
#include "common/testing/pg_cluster.h"
#include "controller/kube/kube_lease.h"
#include "controller/kube/kube_test_util.h"
#include "controller/kube/testing/rbac.h"
#include "controller/testing/child_process.h"

namespace pgvigil::kube {

using std::chrono::milliseconds;
using web::json::value;

inline const char* kCluster = R"({"apiVersion":"pgvigil.io/v1alpha1","kind":"PostgresCluster",
  "metadata":{"name":"NAME","namespace":"db"},
  "spec":{"instances":3,"storage":{"size":"1Gi"},
          "postgres":{"superuser":{"name":"postgres","passwordSecret":{"name":"demo-superuser","key":"password"}}},
          "watchdog":{"authKeySecret":{"name":"demo-watchdog","key":"key"}},
          "api":{"tokenSecret":{"name":"demo-api-token","key":"token"}}EXTRA}})";

inline std::string ClusterJson(const std::string& name, const std::string& extra = "") {
  std::string s = kCluster;
  s.replace(s.find("NAME"), 4, name);
  s.replace(s.find("EXTRA"), 5, extra);
  return s;
}

class KubeModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.ok()) << env_.error();
    client_ = env_.Client();
    char tmpl[] = "/tmp/kube-mode-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // The pod's service-account directory.
    std::ifstream ca(env_.fake().pki().caCert);
    std::ofstream(dir_ + "/ca.crt") << ca.rdbuf();
    // The controller's service account holds exactly the rules the manifests
    // grant it (manifests/install.yaml, rendered from the chart): a verb the
    // controller needs and the roles lack is a 403 here.
    auto rules = fake::ParseRoles(testing_util::RepoFile("manifests/install.yaml"));
    ASSERT_TRUE(rules.ok()) << rules.error();
    ASSERT_FALSE(rules->empty());
    env_.fake().AllowToken("controller-sa", *rules);
    std::ofstream(dir_ + "/token") << "controller-sa\n";
    std::ofstream(dir_ + "/namespace") << "pgvigil-system";
    for (auto [name, key, data] : {std::tuple{"demo-superuser", "password", "c2VjcmV0"},
                                   std::tuple{"demo-watchdog", "key", "aG1hYw=="},
                                   std::tuple{"demo-api-token", "token", "dG9rZW4="}}) {
      value s = value::parse(R"({"apiVersion":"v1","kind":"Secret","metadata":{"namespace":"db"},"data":{}})");
      s["metadata"]["name"] = value::string(name);
      s["data"][key] = value::string(data);
      auto r = client_->Create(ResourcePath("", "v1", "secrets", "db"), s);
      ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->Describe() : r.error());
    }
  }
  void TearDown() override {
    if (second_.pid() > 0) ::kill(second_.pid(), SIGCONT);
    second_.Stop();
    if (HasFailure() && second_.pid() > 0) std::cerr << "second controller log:\n" << second_.LogTail(80) << "\n";
    controller_.Stop();
    if (HasFailure() || getenv("KUBE_MODE_TEST_LOG")) std::cerr << "controller log:\n" << controller_.LogTail(80) << "\n";
    std::system(("rm -rf " + dir_).c_str());
  }
  void StartController(std::vector<std::string> extra = {}, testing::ChildProcess* which = nullptr,
                       const std::string& pod = "pgvigil-controller-0") {
    if (!which) which = &controller_;
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", std::to_string(env_.fake().port()).c_str(), 1);
    setenv("PGVIGIL_KUBE_SA_DIR", dir_.c_str(), 1);
    setenv("POD_NAME", pod.c_str(), 1);
    std::string error;
    restPort_ = pgvigil::testing::FreePort();
    std::vector<std::string> argv = {PGVIGIL_CONTROLLER_BIN, "--kubernetes", "--log-level", "debug",
                                     "--listen", "127.0.0.1", "--port", std::to_string(restPort_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(which->Start(argv, dir_ + "/" + pod + ".log", &error))
        << error;
  }
  void Create(const std::string& json) {
    auto r = client_->Create(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db"), value::parse(json));
    ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->Describe() : r.error());
  }
  value Get(const std::string& name) {
    auto r = client_->Get(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", name));
    return r.ok() && r->ok() ? r->body : value::null();
  }
  static value Status(const value& cr) { return cr.has_object_field("status") ? cr.at("status") : value::object(); }
  static value Condition(const value& cr, const std::string& type) {
    value s = Status(cr);
    if (s.has_array_field("conditions"))
      for (const auto& c : s.at("conditions").as_array())
        if (c.has_string_field("type") && c.at("type").as_string() == type) return c;
    return value::null();
  }
  template <typename P>
  bool WaitFor(P pred, milliseconds limit = milliseconds(15000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return pred();
  }
  static int64_t Int(const value& o, const char* k) {
    return o.has_number_field(k) ? o.at(k).as_number().to_int64() : -1;
  }

  testing_util::KubeFakeEnv env_;
  std::unique_ptr<KubeClient> client_;
  std::string dir_;
  testing::ChildProcess controller_, second_;
  int restPort_ = 0;
};

}  // namespace pgvigil::kube
