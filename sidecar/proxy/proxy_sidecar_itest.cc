// Integration on a running pgvigil-sidecar (child process, proxy + agent, no
// watchdog) in front of the test cluster, over loopback:
//  * 14.1: 10,000 silent TCP connections do not lock a real client out;
//  * 14.5: with the descriptors used up the accept loop backs off (a few log
//    lines, not a spin) and serves again once descriptors are free;
//  * 14.3: PUT /v1/proxy/routing names only the spec's nodes (400 otherwise).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "common/process.h"
#include "common/spec_parser.h"
#include "controller/testing/child_process.h"
#include "sidecar/proxy/pool_passwd.h"
#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr const char* kToken = "proxy-sidecar-test-token";

class ProxySidecarTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sidecar_) sidecar_->Stop();
    if (!dir_.empty() && !HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // Starts the sidecar for node0; `nofile`: its descriptor limit (0: inherited).
  void StartSidecar(const std::function<void(ClusterSpec&)>& tweak, int nofile = 0) {
    char tmpl[] = "/tmp/pgvigil-proxy-sidecar-XXXXXX";
    dir_ = mkdtemp(tmpl);
    spec_ = Cluster().MakeSpecOnFreePorts();
    spec_.primary = "";
    spec_.healthCheck.period = milliseconds(250);
    spec_.proxy.threads = 2;
    spec_.api.tokenFile = dir_ + "/api.token";
    spec_.proxy.auth.hbaFile = dir_ + "/pool_hba.conf";
    spec_.proxy.auth.passwordFile = dir_ + "/pool_passwd";
    ASSERT_TRUE(WriteFileAtomic(spec_.api.tokenFile, std::string(kToken) + "\n", 0600).ok());
    ASSERT_TRUE(WriteFileAtomic(spec_.proxy.auth.hbaFile, "host all all 127.0.0.1/32 scram-sha-256\n", 0600).ok());
    ASSERT_TRUE(
        WriteFileAtomic(spec_.proxy.auth.passwordFile, "postgres:TEXT" + Cluster().superPassword() + "\n", 0600).ok());
    if (tweak) tweak(spec_);
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/cluster.yaml", SpecToYaml(spec_), 0644).ok());
    std::vector<std::string> argv = {PGVIGIL_SIDECAR_BIN, "-f", dir_ + "/cluster.yaml", "--node", "node0",
                                     "--state-dir", dir_ + "/state", "--no-watchdog"};
    if (nofile > 0)
      argv.insert(argv.begin(), {"/bin/sh", "-c", "ulimit -n " + std::to_string(nofile) + " && exec \"$0\" \"$@\""});
    sidecar_ = std::make_unique<testing::ChildProcess>();
    std::string err;
    ASSERT_TRUE(sidecar_->Start(argv, dir_ + "/sidecar.log", &err)) << err;
    port_ = spec_.nodes[0].proxyPort;
    // Up once a real login through its proxy works (health checks found the primary).
    bool up = false;
    for (int i = 0; i < 300 && !up; ++i) {
      up = Connect(port_)->Query("SELECT 1") == "1";
      if (!up) std::this_thread::sleep_for(milliseconds(100));
    }
    ASSERT_TRUE(up) << sidecar_->LogTail();
  }

  int CountLog(const std::string& needle) {
    std::ifstream f(sidecar_->logPath());
    std::string line;
    int n = 0;
    while (std::getline(f, line)) n += line.find(needle) != std::string::npos;
    return n;
  }

  // curl PUT with the token; returns "<status> <body>".
  std::string PutRouting(const std::string& body) {
    int api = spec_.nodes[0].apiPort;
    auto r = RunProcess({"curl", "-s", "-m", "10", "-o", "-", "-w", "\n%{http_code}", "-X", "PUT", "-H",
                         std::string("Authorization: Bearer ") + kToken, "-H", "Content-Type: application/json",
                         "--data-binary", body, "http://127.0.0.1:" + std::to_string(api) + "/v1/proxy/routing"});
    if (!r.ok()) return "curl failed: " + r.error();
    std::string out = r->outputTail;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    size_t nl = out.rfind('\n');
    return out.substr(nl + 1) + " " + out.substr(0, nl);
  }

  std::string dir_;
  ClusterSpec spec_;
  int port_ = 0;
  std::unique_ptr<testing::ChildProcess> sidecar_;
};

TEST_F(ProxySidecarTest, TenThousandSilentSocketsDoNotLockOutARealClient) {
  constexpr int kSilent = 10000;
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  // Both this process and the sidecar (which inherits the limit) hold one
  // descriptor per silent connection, plus their own.
  rlim_t want = std::min<rlim_t>(rl.rlim_max, kSilent + 4000);
  if (want < rlim_t(kSilent + 1000))
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << rl.rlim_max << " is too low for " << kSilent << " sockets";
  rl.rlim_cur = want;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
  ASSERT_NO_FATAL_FAILURE(StartSidecar([](ClusterSpec& s) {
    s.proxy.maxUnauthenticatedConnections = 1000;
    s.proxy.authenticationTimeout = seconds(60);
  }));
  std::vector<std::unique_ptr<RawClient>> silent;
  silent.reserve(kSilent);
  for (int i = 0; i < kSilent; ++i) {
    silent.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(silent.back()->ok()) << "connect " << i << ": " << std::strerror(errno);
  }
  auto start = std::chrono::steady_clock::now();
  auto c = Connect(port_);
  ASSERT_TRUE(c->ok()) << c->error();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(c->Query("SELECT 1"), "1");
  // Locked out, the client would wait for a silent socket's authentication
  // timeout (60 s) or be refused; the bound sits far from both and far above
  // a loaded machine's login time. Not a speed goal (bench/proxy.sh has those).
  EXPECT_LT(took, seconds(15)) << "login took "
                               << std::chrono::duration_cast<milliseconds>(took).count() << " ms";
  // The proxy made room by closing the oldest silent ones: at most its limit stay open.
  int closed = 0;
  for (auto& s : silent) {
    pollfd p{s->fd(), POLLIN, 0};
    char b;
    if (poll(&p, 1, 0) == 1 && recv(s->fd(), &b, 1, MSG_DONTWAIT) <= 0) ++closed;
  }
  EXPECT_GE(closed, kSilent - 1000) << "open silent connections beyond proxy.maxUnauthenticatedConnections";
  EXPECT_EQ(CountLog("sorry, too many clients"), 0);
}

TEST_F(ProxySidecarTest, SilentSocketClosedAfterAuthenticationTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartSidecar([](ClusterSpec& s) { s.proxy.authenticationTimeout = milliseconds(1000); }));
  RawClient silent(port_);
  ASSERT_TRUE(silent.ok());
  auto start = std::chrono::steady_clock::now();
  bool eof = false;
  std::string got = silent.ReadUntilClosed(milliseconds(10000), &eof);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(eof);
  EXPECT_EQ(got, "");
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, seconds(5));
}

TEST_F(ProxySidecarTest, AcceptBacksOffWhenDescriptorsRunOutAndRecovers) {
  ASSERT_NO_FATAL_FAILURE(StartSidecar(nullptr, 256));
  // More connections than the sidecar has descriptors: they wait in the listen
  // queue while accept() fails with EMFILE.
  std::vector<std::unique_ptr<RawClient>> hog;
  for (int i = 0; i < 400; ++i) hog.push_back(std::make_unique<RawClient>(port_));
  std::this_thread::sleep_for(seconds(4));
  int failures = CountLog("proxy: accept failed");
  EXPECT_GE(failures, 1) << "descriptors never ran out: " << sidecar_->LogTail();
  EXPECT_LE(failures, 4) << "accept loop spins";
  hog.clear();
  bool ok = false;
  for (int i = 0; i < 150 && !ok; ++i) {
    ok = Connect(port_)->Query("SELECT 1") == "1";
    if (!ok) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(ok) << sidecar_->LogTail();
  // Each worker has its own listener and back-off: the connection above may
  // have landed on a worker that never failed while the one that did still
  // waits out its back-off (at most 1 s) before it accepts, and logs, again.
  for (int i = 0; i < 50 && CountLog("proxy: accepting connections again") == 0; ++i)
    std::this_thread::sleep_for(milliseconds(100));
  EXPECT_GE(CountLog("proxy: accepting connections again"), 1) << sidecar_->LogTail();
  EXPECT_LE(CountLog("proxy: accept failed"), 4);
}

TEST_F(ProxySidecarTest, RoutingPutNamesOnlyTheSpecsNodes) {
  ASSERT_NO_FATAL_FAILURE(StartSidecar(nullptr));
  auto node = [&](const std::string& name, const std::string& host, int port) {
    return "{\"name\":\"" + name + "\",\"host\":\"" + host + "\",\"port\":" + std::to_string(port) + "}";
  };
  auto table = [&](uint64_t gen, const std::string& nodes) {
    return "{\"term\":1,\"generation\":" + std::to_string(gen) + ",\"primary\":\"node0\",\"nodes\":[" + nodes + "]}";
  };
  int pg0 = NodePort(0);
  int evil = testing::FreePort();
  std::string r = PutRouting(table(1, node("node0", "127.0.0.1", evil)));
  EXPECT_EQ(r.substr(0, 4), "400 ") << r;
  EXPECT_NE(r.find("nodes[0].port"), std::string::npos) << r;
  r = PutRouting(table(1, node("node0", "127.0.0.2", pg0)));
  EXPECT_EQ(r.substr(0, 4), "400 ") << r;
  EXPECT_NE(r.find("nodes[0].host"), std::string::npos) << r;
  r = PutRouting(table(1, node("node0", "127.0.0.1", pg0) + "," + node("intruder", "127.0.0.1", evil)));
  EXPECT_EQ(r.substr(0, 4), "400 ") << r;
  EXPECT_NE(r.find("'intruder' is not a node of the cluster spec"), std::string::npos) << r;
  // The spec's own nodes are accepted.
  std::string all;
  for (int i = 0; i < 3; ++i) all += (i ? "," : "") + node("node" + std::to_string(i), "127.0.0.1", NodePort(i));
  r = PutRouting(table(1, all));
  EXPECT_EQ(r.substr(0, 4), "200 ") << r;
  EXPECT_EQ(Connect(port_)->Query("SELECT 1"), "1");
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
