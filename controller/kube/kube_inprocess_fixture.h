// Test fixture: the KubeController and its Lease elector in this process
// against kube-fake (the API-server test double, not Kubernetes), with the
// cluster's Secrets and a PostgresCluster `demo` (3 instances). The
// controller talks with a token of its own ("controller-token", every verb
// until a test narrows it: BlockStatusWrites), so a test can refuse it what a
// failed compare-and-swap would. Its log is kept (LogHas). Test code only.
#pragma once

#include <gtest/gtest.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cpprest/asyncrt_utils.h>

#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "controller/kube/elector.h"
#include "controller/kube/kube_controller.h"
#include "controller/kube/kube_fake_env.h"
#include "controller/kube/testing/rbac.h"

namespace pgvigil::kube {

class KubeInProcessTest : public ::testing::Test {
 protected:
  static std::string Base64(const std::string& s) {
    return utility::conversions::to_base64(std::vector<unsigned char>(s.begin(), s.end()));
  }
  // The Secrets the CR names (superuser password and sidecar API token as given) and the CR.
  void CreateCluster(const std::string& superuser_password, const std::string& api_token) {
    ASSERT_TRUE(env_.ok()) << env_.error();
    client_ = env_.Client();
    for (auto [name, key, data] : {std::tuple{"demo-superuser", "password", Base64(superuser_password)},
                                   std::tuple{"demo-watchdog", "key", Base64("hmac")},
                                   std::tuple{"demo-api-token", "token", Base64(api_token)}}) {
      web::json::value s =
          web::json::value::parse(R"({"apiVersion":"v1","kind":"Secret","metadata":{"namespace":"db"},"data":{}})");
      s["metadata"]["name"] = web::json::value::string(name);
      s["data"][key] = web::json::value::string(data);
      auto r = client_->Create(ResourcePath("", "v1", "secrets", "db"), s);
      ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->Describe() : r.error());
    }
    auto r = client_->Create(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db"),
                             web::json::value::parse(R"({
      "apiVersion":"pgvigil.io/v1alpha1","kind":"PostgresCluster","metadata":{"name":"demo","namespace":"db"},
      "spec":{"instances":3,"storage":{"size":"1Gi"},
              "postgres":{"superuser":{"name":"postgres","passwordSecret":{"name":"demo-superuser","key":"password"}}},
              "watchdog":{"authKeySecret":{"name":"demo-watchdog","key":"key"}},
              "api":{"tokenSecret":{"name":"demo-api-token","key":"token"}}}})"));
    ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->Describe() : r.error());
  }
  // The elector (short election timing) and the controller; `adjust`: its
  // adjustResource seam (may be empty).
  void StartController(std::function<void(ClusterResource*)> adjust = nullptr) {
    adjust_ = adjust;
    // The default logger's sinks and a ring of the newest lines, swapped in
    // whole (the double's threads log meanwhile).
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4000);
    previousLogger_ = spdlog::default_logger();
    std::vector<spdlog::sink_ptr> sinks = previousLogger_->sinks();
    sinks.push_back(log_);
    auto logger = std::make_shared<spdlog::logger>("inprocess-test", sinks.begin(), sinks.end());
    logger->set_level(previousLogger_->level());
    spdlog::set_default_logger(logger);
    env_.fake().AllowToken("controller-token");
    KubeConfig c;
    c.server = env_.fake().url();
    std::ifstream ca(env_.fake().pki().caCert);
    c.caPem.assign(std::istreambuf_iterator<char>(ca), {});
    c.token = "controller-token";
    c.ns = "db";
    ClientOptions co;
    co.timeout = std::chrono::milliseconds(2000);
    co.maxAttempts = 2;
    controllerClient_ = std::make_unique<KubeClient>(c, co);
    ElectorSettings es;
    es.ns = "pgvigil-system";
    es.identity = ElectorIdentity("inprocess-test");
    es.leaseDuration = std::chrono::milliseconds(1500);
    es.renewDeadline = std::chrono::milliseconds(1000);
    es.retryPeriod = std::chrono::milliseconds(200);
    elector_ = std::make_unique<LeaseElector>(controllerClient_.get(), es);
    elector_->Start();
    KubeControllerOptions o;
    o.watchNamespace = "db";
    o.syncPeriod = std::chrono::milliseconds(200);
    o.adjustResource = std::move(adjust);
    controller_ = std::make_unique<KubeController>(controllerClient_.get(), elector_.get(), o);
    controller_->Start();
  }
  // The controller and its elector stopped as when their process ends (the
  // Lease is not released: the next one takes it once it expires), and a new
  // pair started with the same adjustResource seam against the same kube-fake
  // state: a controller restart. LogHas then reads the new one's log.
  void RestartController() {
    controller_->Stop();
    controller_.reset();
    elector_->Stop(false);
    elector_.reset();
    controllerClient_.reset();
    spdlog::set_default_logger(previousLogger_);
    previousLogger_.reset();
    StartController(adjust_);
  }
  // The controller may no longer write the PostgresCluster's status (403), as
  // if each of its compare-and-swaps failed; everything else stays allowed.
  void BlockStatusWrites() {
    std::vector<fake::PolicyRule> rules;
    rules.push_back(fake::PolicyRule{{"*"}, {"*"}, {"get", "list", "watch"}, {}});
    rules.push_back(fake::PolicyRule{
        {"*"}, {"leases", "events", "pods", "statefulsets", "services", "configmaps", "poddisruptionbudgets"}, {"*"}, {}});
    env_.fake().AllowToken("controller-token", rules);
  }
  void AllowEverything() { env_.fake().AllowToken("controller-token"); }
  void TearDown() override {
    if (controller_) controller_->Stop();
    if (elector_) elector_->Stop(true);
    if (previousLogger_) spdlog::set_default_logger(previousLogger_);
  }
  // Whether a line the controller logged contains `text`.
  bool LogHas(const std::string& text) {
    for (const auto& line : log_->last_formatted())
      if (line.find(text) != std::string::npos) return true;
    return false;
  }
  web::json::value Cr() {
    auto r = client_->Get(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo"));
    return r.ok() && r->ok() ? r->body : web::json::value::null();
  }
  web::json::value Status() {
    web::json::value cr = Cr();
    return cr.has_object_field("status") ? cr.at("status") : web::json::value::object();
  }
  static int64_t Int(const web::json::value& o, const char* k) {
    return o.has_number_field(k) ? o.at(k).as_number().to_int64() : -1;
  }
  web::json::value Condition(const std::string& type) {
    web::json::value s = Status();
    if (s.has_array_field("conditions"))
      for (const auto& c : s.at("conditions").as_array())
        if (c.has_string_field("type") && c.at("type").as_string() == type) return c;
    return web::json::value::null();
  }
  // A merge patch of the PostgresCluster (or its status subresource); the new generation.
  int64_t Patch(const std::string& json, const std::string& subresource = "") {
    auto p = client_->MergePatch(ResourcePath("pgvigil.io", "v1alpha1", "postgresclusters", "db", "demo", subresource),
                                 web::json::value::parse(json));
    EXPECT_TRUE(p.ok() && p->ok()) << (p.ok() ? p->Describe() : p.error());
    return p.ok() && p->ok() ? Int(p->body.at("metadata"), "generation") : -1;
  }
  template <typename P>
  bool WaitFor(P pred, std::chrono::milliseconds limit, std::chrono::milliseconds step = std::chrono::milliseconds(100)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(step);
    }
    return pred();
  }

  testing_util::KubeFakeEnv env_;
  std::unique_ptr<KubeClient> client_;            // the test's own (every verb)
  std::unique_ptr<KubeClient> controllerClient_;  // the controller's and its elector's
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::shared_ptr<spdlog::logger> previousLogger_;
  std::unique_ptr<LeaseElector> elector_;
  std::unique_ptr<KubeController> controller_;
  std::function<void(ClusterResource*)> adjust_;  // StartController's seam, kept for RestartController
};

}  // namespace pgvigil::kube
