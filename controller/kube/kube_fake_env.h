// Test helper: kube-fake (the API-server test double, not Kubernetes) with the
// chart's CRD, and KubeClients that talk to it with a bearer token. Test code only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>

#include "controller/kube/kube_client.h"
#include "controller/kube/testing/kube_fake.h"

namespace pgvigil::kube::testing_util {

class KubeFakeEnv {
 public:
  // Starts the double; ok() says whether it runs (the fixture asserts it).
  KubeFakeEnv() {
    char tmpl[] = "/tmp/kube-fake-env-XXXXXX";
    if (!mkdtemp(tmpl)) return;
    dir_ = tmpl;
    fake::FakeOptions o;
    o.crdFile = std::string(PGVIGIL_SOURCE_DIR) + "/charts/pgvigil/templates/crds/postgresclusters.yaml";
    o.pkiDir = dir_;
    o.bookmarkInterval = std::chrono::milliseconds(200);
    auto f = fake::KubeFake::Start(o);
    if (!f.ok()) {
      error_ = f.error();
      return;
    }
    fake_ = std::move(*f);
    fake_->AllowToken("elector-token");
    std::ifstream in(fake_->pki().caCert);
    caPem_.assign(std::istreambuf_iterator<char>(in), {});
  }
  ~KubeFakeEnv() {
    fake_.reset();
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  bool ok() const { return fake_ != nullptr; }
  const std::string& error() const { return error_; }
  fake::KubeFake& fake() { return *fake_; }

  std::unique_ptr<KubeClient> Client(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    KubeConfig c;
    c.server = fake_->url();
    c.caPem = caPem_;
    c.token = "elector-token";
    c.ns = "db";
    ClientOptions o;
    o.timeout = timeout;
    o.maxAttempts = 2;
    return std::make_unique<KubeClient>(c, o);
  }

 private:
  std::string dir_, caPem_, error_;
  std::unique_ptr<fake::KubeFake> fake_;
};

}  // namespace pgvigil::kube::testing_util
