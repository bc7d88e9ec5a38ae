// The health checker against real sockets on loopback: a port nobody listens on
// (refused: down after one attempt, no retries), a listener that accepts and
// never answers (a cut-off host: given up at the configured timeout to the
// millisecond, and after 500 ms without retries once its host's watchdog member
// is lost), and check requests that are never dropped.
#include "sidecar/agent/health_checker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A socket bound to a free loopback port. Listening: the kernel completes
// handshakes and nobody ever reads or answers, like a server whose host stopped
// answering after connecting. Not listening: connections are refused, like a
// host with no server (bound, so nobody else takes the port meanwhile).
class LoopbackPort {
 public:
  explicit LoopbackPort(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        (listening && ::listen(fd_, 64) != 0)) {
      ADD_FAILURE() << "cannot bind/listen on loopback";
      return;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~LoopbackPort() { ::close(fd_); }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

ClusterSpec SpecFor(int port, milliseconds timeout, int retries, milliseconds period) {
  ClusterSpec spec;
  spec.name = "hc";
  NodeSpec self;
  self.name = "self";
  self.host = "127.0.0.1";
  self.port = port;
  NodeSpec peer = self;
  peer.name = "peer";
  spec.nodes = {self, peer};
  spec.postgres.superuser.name = "postgres";
  spec.healthCheck.timeout = timeout;
  spec.healthCheck.maxRetries = retries;
  spec.healthCheck.retryDelay = milliseconds(200);
  spec.healthCheck.period = period;
  return spec;
}

struct Checked {
  BackendHealth health;
  milliseconds took{0};
  double attempts = 0;
};

// Starts a checker and waits for the first finished check of "peer".
Checked FirstCheck(const ClusterSpec& spec, const std::shared_ptr<HealthView>& view) {
  auto metrics = std::make_shared<MetricsRegistry>();
  HealthChecker checker(spec, "self", view, metrics);
  const auto start = Clock::now();
  EXPECT_TRUE(checker.Start().ok());
  Checked c;
  while (Clock::now() - start < std::chrono::seconds(20)) {
    if (view->Get("peer", &c.health) && c.health.lastCheck.time_since_epoch().count()) break;
    std::this_thread::sleep_for(milliseconds(5));
  }
  c.took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  c.attempts = metrics->Value("pgvigil_agent_health_checks_failed_total", "node=\"peer\"");
  checker.Stop();
  return c;
}

TEST(HealthChecker, WhichFailuresAreNotRetried) {
  EXPECT_TRUE(RefusedConnection("connection to server at \"10.77.0.11\", port 5432 failed: Connection refused"));
  EXPECT_TRUE(RefusedConnection("connection to server at \"10.77.0.11\", port 5432 failed: FATAL:  the database system is shutting down"));
  EXPECT_FALSE(RefusedConnection("connection to server at \"10.77.0.11\", port 5432 failed: FATAL:  the database system is starting up"));
  EXPECT_FALSE(RefusedConnection("FATAL:  sorry, too many clients already"));
  EXPECT_FALSE(RefusedConnection("connecting to 10.77.0.11:5432: no answer within 2000 ms"));
}

TEST(HealthChecker, RefusedConnectionIsDownAfterOneAttempt) {
  LoopbackPort port(false);
  auto view = std::make_shared<HealthView>();
  Checked c = FirstCheck(SpecFor(port.port(), milliseconds(2000), 3, milliseconds(10000)), view);
  EXPECT_FALSE(c.health.up);
  EXPECT_NE(c.health.lastError.find("Connection refused"), std::string::npos) << c.health.lastError;
  EXPECT_EQ(c.attempts, 1) << "a refused connection is not retried";
  EXPECT_LT(c.took, milliseconds(1000)) << "3 retries every 200 ms were not skipped";
}

TEST(HealthChecker, SilentServerTimesOutToTheMillisecondAndIsRetried) {
  LoopbackPort silent(true);
  auto view = std::make_shared<HealthView>();
  // 300 ms, below libpq's whole-second connect_timeout (minimum 2 s).
  Checked c = FirstCheck(SpecFor(silent.port(), milliseconds(300), 1, milliseconds(10000)), view);
  EXPECT_FALSE(c.health.up);
  EXPECT_NE(c.health.lastError.find("no answer within 300 ms"), std::string::npos) << c.health.lastError;
  EXPECT_EQ(c.attempts, 2) << "one try and one retry";
  // 2 x 300 ms + 200 ms retry delay; far below 2 x 2 s.
  EXPECT_GE(c.took, milliseconds(750));
  EXPECT_LT(c.took, milliseconds(1900));
}

TEST(HealthChecker, LostHostIsGivenUpOnQuicklyWithoutRetries) {
  LoopbackPort silent(true);
  auto view = std::make_shared<HealthView>();
  view->SetHostsLost({"peer"});
  Checked c = FirstCheck(SpecFor(silent.port(), milliseconds(5000), 3, milliseconds(10000)), view);
  EXPECT_FALSE(c.health.up);
  EXPECT_NE(c.health.lastError.find("watchdog member is lost"), std::string::npos) << c.health.lastError;
  EXPECT_EQ(c.attempts, 1);
  EXPECT_GE(c.took, milliseconds(450));
  EXPECT_LT(c.took, milliseconds(2000)) << "waited for the 5 s timeout";
}

TEST(HealthChecker, EveryCheckRequestLeadsToACheck) {
  LoopbackPort port(false);
  auto view = std::make_shared<HealthView>();
  auto metrics = std::make_shared<MetricsRegistry>();
  // A period far longer than the test: every check after the first is requested.
  HealthChecker checker(SpecFor(port.port(), milliseconds(1000), 0, milliseconds(60000)), "self", view,
                        metrics);
  view->SetCheckRequester([&checker] { checker.Poke(); });
  ASSERT_TRUE(checker.Start().ok());
  auto checks = [&] { return metrics->Value("pgvigil_agent_health_checks_total", "node=\"peer\""); };
  auto wait_for = [&](double n) {
    const auto end = Clock::now() + std::chrono::seconds(10);
    while (checks() < n && Clock::now() < end) std::this_thread::sleep_for(milliseconds(2));
    return checks();
  };
  ASSERT_EQ(wait_for(1), 1);
  // Two requests 10 ms apart: the second is not dropped (a new routing table
  // right after a dead connection must still be checked).
  view->RequestCheck();
  ASSERT_EQ(wait_for(2), 2);
  std::this_thread::sleep_for(milliseconds(10));
  view->RequestCheck();
  EXPECT_EQ(wait_for(3), 3);
  // A burst folds into few checks (at most one per 50 ms).
  const double before = checks();
  for (int i = 0; i < 100; ++i) {
    view->RequestCheck();
    std::this_thread::sleep_for(milliseconds(1));
  }
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_LE(checks() - before, 8);
  view->SetCheckRequester(nullptr);
  checker.Stop();
}

}  // namespace
}  // namespace pgvigil
