// Integration (issue 14.3): the proxy never answers a backend's cleartext or
// md5 password request unless spec.proxy.backendAuth allows it. The backend
// here is a test double (a fake server on loopback that asks for a password
// and records every byte it receives), because a real PostgreSQL cannot show
// what a client sent it; the client side is real libpq through the proxy.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sidecar/proxy/proxy_test_env.h"
#include "sidecar/proxy/raw_client_testutil.h"

namespace pgvigil::proxy::testenv {
namespace {

using std::chrono::milliseconds;

// Accepts connections on a loopback port; to each it answers the startup packet
// with one authentication request (code 3 cleartext or 5 md5) and records what
// the connection sends afterwards, for up to 1.5 s, until stopped.
class PasswordAskingServer {
 public:
  explicit PasswordAskingServer(uint32_t auth_code) : code_(auth_code) {
    port_ = testing::FreePort();
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    thread_ = std::thread([this] { Run(); });
  }
  ~PasswordAskingServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  int connections() const { return connections_.load(); }
  std::string received() {
    std::lock_guard<std::mutex> l(mu_);
    return received_;
  }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      connections_++;
      std::string startup;
      char buf[4096];
      auto end = std::chrono::steady_clock::now() + milliseconds(1500);
      // The startup packet first (its length word says how long it is).
      while (std::chrono::steady_clock::now() < end) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 50) <= 0) continue;
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        startup.append(buf, size_t(n));
        if (startup.size() >= 4 && startup.size() >= ReadU32(reinterpret_cast<const uint8_t*>(startup.data()))) break;
      }
      std::string req = "R" + U32Bytes(code_ == 5 ? 12 : 8) + U32Bytes(code_) + (code_ == 5 ? "salt" : "");
      send(c, req.data(), req.size(), MSG_NOSIGNAL);
      std::string after;
      while (std::chrono::steady_clock::now() < end) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 50) <= 0) continue;
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        after.append(buf, size_t(n));
      }
      close(c);
      std::lock_guard<std::mutex> l(mu_);
      received_ += after;
    }
  }
  uint32_t code_;
  int port_ = 0, fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::string received_;
  std::thread thread_;
};

// The proxy's only node is the fake server (so no other node can take the login).
ProxyOptions OnlyNode(int port, bool allow_cleartext, bool allow_md5) {
  ProxyOptions o;
  o.adjust = [=](ClusterSpec& s) {
    s.nodes.resize(1);
    s.nodes[0].port = port;
    s.proxy.backendAuth.allowCleartext = allow_cleartext;
    s.proxy.backendAuth.allowMd5 = allow_md5;
  };
  return o;
}

TEST(ProxyBackendAuthTest, CleartextAndMd5RequestsGetNothingByDefault) {
  for (uint32_t code : {3u, 5u}) {
    SCOPED_TRACE(code == 3 ? "cleartext" : "md5");
    PasswordAskingServer fake(code);
    auto px = StartProxy(OnlyNode(fake.port(), false, false));
    ASSERT_TRUE(px);
    auto c = Connect(px->port);  // the client itself authenticates with SCRAM
    EXPECT_FALSE(c->ok());
    EXPECT_NE(c->error().find(code == 3 ? "cleartext" : "md5"), std::string::npos) << c->error();
    px.reset();
    EXPECT_GE(fake.connections(), 1);
    EXPECT_EQ(fake.received().find('p'), std::string::npos) << "the fake server got a password message";
    EXPECT_EQ(fake.received().find(Cluster().superPassword()), std::string::npos);
  }
}

TEST(ProxyBackendAuthTest, CleartextSentOnlyWhenTheSpecAllowsIt) {
  PasswordAskingServer fake(3);
  auto px = StartProxy(OnlyNode(fake.port(), true, false));
  ASSERT_TRUE(px);
  auto c = Connect(px->port);
  EXPECT_FALSE(c->ok());  // the fake never finishes the login
  px.reset();
  EXPECT_NE(fake.received().find(Cluster().superPassword()), std::string::npos)
      << "with allowCleartext the password is sent (this test can tell)";
}

}  // namespace
}  // namespace pgvigil::proxy::testenv
