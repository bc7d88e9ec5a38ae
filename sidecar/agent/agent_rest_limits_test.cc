// The sidecar REST server's limits before authentication, on a running agent
// (real PostgreSQL 15 on loopback, the agent component in this process, its
// REST server on a loopback port) and raw sockets that send what a hostile
// client would: a 256 MiB chunked body without the token, a 256 MiB header line,
// 300 slow partial requests. Each must be refused or closed with this process's
// resident memory bounded, while a normal request keeps being served. Also: the
// token is checked before any body byte is read, absurd terms are refused, and
// request paths reach the log escaped. The test shortens the spec's timeouts
// (api.headerTimeout 1 s, api.requestTimeout 2 s, api.idleTimeout 2 s).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

#include "common/files.h"
#include "common/testing/raw_http.h"
#include "sidecar/agent/agent_test_env.h"
#include "sidecar/agent/term_store.h"

namespace pgvigil::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kHuge = 256ull << 20;       // what the attacker sends
constexpr uint64_t kMaxSentBytes = 48ull << 20;  // loopback socket buffers + the server's drain
constexpr uint64_t kMaxGrowthKiB = 64 * 1024;  // the old listener grew by > 300 MiB

class AgentRestLimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PgTestCluster::Options o;
    o.nodes = 1;
    auto e = AgentTestEnv::Create(o, {0}, [](ClusterSpec& spec) {
      spec.api.headerTimeout = Millis(1000);
      spec.api.requestTimeout = Millis(2000);
      spec.api.idleTimeout = Millis(2000);
    });
    ASSERT_TRUE(e.ok()) << e.error();
    env_ = std::move(e.value()).release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  static int port() { return env_->apiPort(0); }
  static std::string Auth() { return "Authorization: Bearer " + env_->token() + "\r\n"; }
  static AgentTestEnv* env_;
};
AgentTestEnv* AgentRestLimitsTest::env_ = nullptr;

// 64 KiB chunks of a chunked body, forever.
std::function<std::string(size_t)> Chunks() {
  auto chunk = std::make_shared<std::string>("10000\r\n" + std::string(65536, 'x') + "\r\n");
  return [chunk](size_t) { return *chunk; };
}
std::function<std::string(size_t)> Filler() {
  return [](size_t n) { return std::string(n, 'a'); };
}

TEST_F(AgentRestLimitsTest, UnauthenticatedHugeChunkedBodyIsRefusedUnread) {
  uint64_t rss_before = ResidentKiB();
  RawConn c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("POST /v1/node/term HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
  auto f = c.SendWhileReading(kHuge, Chunks(), seconds(60));
  RawResponse r = ParseRawResponse(f.received);
  EXPECT_EQ(r.status, 401) << f.received.substr(0, 300);
  EXPECT_TRUE(f.closed) << "the server kept reading the refused body";
  EXPECT_LT(f.sent, kMaxSentBytes);
  uint64_t rss_after = ResidentKiB();
  EXPECT_LT(rss_after - std::min(rss_after, rss_before), kMaxGrowthKiB)
      << "VmRSS " << rss_before << " kB -> " << rss_after << " kB";
  EXPECT_EQ(env_->Get(0, "/v1/status").status, 200);
}

TEST_F(AgentRestLimitsTest, AuthenticatedOversizedChunkedBodyIs413) {
  uint64_t rss_before = ResidentKiB();
  RawConn c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("POST /v1/node/term HTTP/1.1\r\nHost: 127.0.0.1\r\n" + Auth() +
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
  auto f = c.SendWhileReading(kHuge, Chunks(), seconds(60));
  RawResponse r = ParseRawResponse(f.received);
  EXPECT_EQ(r.status, 413) << f.received.substr(0, 300);
  EXPECT_TRUE(f.closed);
  EXPECT_LT(f.sent, kMaxSentBytes);
  uint64_t rss_after = ResidentKiB();
  EXPECT_LT(rss_after - std::min(rss_after, rss_before), kMaxGrowthKiB)
      << "VmRSS " << rss_before << " kB -> " << rss_after << " kB";
  // A declared length over the cap is refused from the headers alone.
  RawConn d;
  ASSERT_TRUE(d.Connect(port()));
  ASSERT_TRUE(d.Send("POST /v1/node/term HTTP/1.1\r\nHost: x\r\n" + Auth() +
                     "Content-Length: 268435456\r\n\r\n"));
  EXPECT_EQ(d.Read(seconds(10)).status, 413);
  EXPECT_TRUE(d.WaitClosed(seconds(10)));
}

TEST_F(AgentRestLimitsTest, HugeHeaderLineOrTargetIs431AndClosed) {
  for (const std::string& prefix : {std::string("GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Filler: "),
                                   std::string("GET /v1/")}) {
    uint64_t rss_before = ResidentKiB();
    RawConn c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.Send(prefix));
    auto f = c.SendWhileReading(kHuge, Filler(), seconds(60));
    RawResponse r = ParseRawResponse(f.received);
    // Beast counts the request line against the header limit too.
    EXPECT_TRUE(r.status == 431 || r.status == 400) << prefix << ": " << f.received.substr(0, 300);
    EXPECT_TRUE(f.closed) << prefix;
    EXPECT_LT(f.sent, kMaxSentBytes) << prefix;
    uint64_t rss_after = ResidentKiB();
    EXPECT_LT(rss_after - std::min(rss_after, rss_before), kMaxGrowthKiB)
        << prefix << ": VmRSS " << rss_before << " kB -> " << rss_after << " kB";
  }
  EXPECT_EQ(env_->Get(0, "/v1/status").status, 200);
}

TEST_F(AgentRestLimitsTest, SlowPartialRequestsAreClosedWhileOthersAreServed) {
  constexpr int kSlow = 300;
  std::vector<RawConn> conns(kSlow);
  for (int i = 0; i < kSlow; ++i) {
    ASSERT_TRUE(conns[i].Connect(port())) << i;
    switch (i % 3) {
      case 0: break;  // silent after connect
      case 1: ASSERT_TRUE(conns[i].Send("GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")); break;
      case 2:  // authenticated, headers complete, body never finished
        ASSERT_TRUE(conns[i].Send("POST /v1/node/term HTTP/1.1\r\nHost: x\r\n" + Auth() +
                                  "Content-Length: 100\r\n\r\n{\"te"));
        break;
    }
  }
  // A third of the header senders drip one byte every 200 ms: the header
  // deadline counts from the start, so dripping does not extend it.
  std::atomic<bool> stop{false};
  std::thread drip([&] {
    while (!stop) {
      for (int i = 1; i < kSlow; i += 9) (void)conns[i].Send("a", milliseconds(50));
      std::this_thread::sleep_for(milliseconds(200));
    }
  });
  // Real clients are served meanwhile.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(env_->Get(0, "/v1/status").status, 200);
  int closed = 0;
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  for (int i = 0; i < kSlow; ++i) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (conns[i].WaitClosed(std::max(left, milliseconds(1)))) ++closed;
  }
  stop = true;
  drip.join();
  EXPECT_EQ(closed, kSlow) << "slow partial requests still open after 20 s";
  EXPECT_EQ(env_->Get(0, "/v1/status").status, 200);
}

TEST_F(AgentRestLimitsTest, IdleKeepAliveIsClosed) {
  RawConn c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawResponse r = c.Read(seconds(10));
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(r.closed);
  ASSERT_TRUE(c.Send("GET /liveness HTTP/1.1\r\nHost: x\r\n\r\n"));  // same connection
  EXPECT_EQ(c.Read(seconds(10)).status, 200);
  EXPECT_TRUE(c.WaitClosed(seconds(15))) << "idle keep-alive connection never closed";
}

TEST_F(AgentRestLimitsTest, TokenIsCheckedBeforeTheBodyIsRead) {
  const std::string head = "POST /v1/node/term HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  {  // No token: refused from the headers; the announced body is never awaited.
    RawConn c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.Send(head + "Content-Length: 1000\r\n\r\n"));
    EXPECT_EQ(c.Read(seconds(5)).status, 401);
    EXPECT_TRUE(c.WaitClosed(seconds(5)));
  }
  {  // No token, Expect: 100-continue: a final 401, never "100 Continue".
    RawConn c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.Send(head + "Authorization: Bearer wrong\r\nExpect: 100-continue\r\n"
                              "Content-Length: 12\r\n\r\n"));
    RawResponse r = c.Read(seconds(5));
    EXPECT_EQ(r.status, 401) << r.head;
  }
  {  // The token: the server waits for the body, then answers.
    RawConn c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.Send(head + Auth() + "Content-Length: 12\r\n\r\n"));
    EXPECT_TRUE(c.Silent(milliseconds(300)));
    ASSERT_TRUE(c.Send("{\"term\": 1} "));
    RawResponse r = c.Read(seconds(5));
    // Read and handled: accepted, or stale when another test raised the term.
    EXPECT_TRUE(r.status == 200 || r.status == 409) << r.head << r.body;
  }
  {  // The token and Expect: 100-continue: "100 Continue", then the answer.
    RawConn c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.Send(head + Auth() + "Expect: 100-continue\r\nContent-Length: 12\r\n\r\n"));
    EXPECT_EQ(c.Read(seconds(5)).status, 100);
    ASSERT_TRUE(c.Send("{\"term\": 1} "));
    int status = c.Read(seconds(5)).status;
    EXPECT_TRUE(status == 200 || status == 409) << status;
  }
}

TEST_F(AgentRestLimitsTest, AbsurdTermsAreRefusedAndTheNodeStaysUsable) {
  auto ok = env_->Post(0, "/v1/node/term", R"({"term": 5})", env_->token());
  ASSERT_EQ(ok.status, 200) << ok.body;
  for (const std::string& body : {std::string(R"({"term": 18446744073709551615})"),
                                 std::string(R"({"term": "18446744073709551615"})"),
                                 std::string(R"({"term": 9007199254740992})")}) {
    auto r = env_->Post(0, "/v1/node/term", body, env_->token());
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(r.json().at("field").as_string(), "term") << r.body;
  }
  uint64_t far = 5 + kMaxTermJump + 1;
  auto jump = env_->Post(0, "/v1/node/term", "{\"term\": " + std::to_string(far) + "}", env_->token());
  EXPECT_EQ(jump.status, 400) << jump.body;
  EXPECT_EQ(jump.json().at("reason").as_string(), "term_out_of_range") << jump.body;
  // Nothing moved: the next real term is accepted, and persisted.
  auto next = env_->Post(0, "/v1/node/term", R"({"term": 6})", env_->token());
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.json().at("term").as_integer(), 6);
  auto persisted = ReadFile(env_->ctx(0).stateDir + "/term");
  ASSERT_TRUE(persisted.ok());
  EXPECT_EQ(*persisted, "6\n");
}

TEST_F(AgentRestLimitsTest, ClientSuppliedPathsAreEscapedInTheLog) {
  std::ostringstream captured;
  auto old = spdlog::default_logger();
  std::vector<spdlog::sink_ptr> sinks = old->sinks();
  sinks.push_back(std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  auto capture = std::make_shared<spdlog::logger>("capture", sinks.begin(), sinks.end());
  capture->set_level(spdlog::level::info);
  spdlog::set_default_logger(capture);
  RawConn c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("GET /v1/x%0A2026-01-01%20INFO%20forged%0D%1B[31m HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawResponse r = c.Read(seconds(5));
  spdlog::set_default_logger(old);
  EXPECT_EQ(r.status, 404);
  std::string log = captured.str();
  EXPECT_NE(log.find("/v1/x\\n2026-01-01 INFO forged\\r\\x1b[31m"), std::string::npos) << log;
  EXPECT_EQ(log.find("\n2026-01-01 INFO forged"), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
}

}  // namespace
}  // namespace pgvigil::testing
