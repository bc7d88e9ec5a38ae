// The HTTP server itself on a loopback port, with a small handler: keep-alive
// and pipelining, HEAD, malformed requests, the connection cap, slow handlers
// not holding up other requests, Stop() with connections open. The limits
// before authentication on a running sidecar are in
// sidecar/agent/agent_rest_limits_test.cc.
#include "common/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/testing/raw_http.h"

namespace pgvigil {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::RawConn;
using testing::RawResponse;

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerLimits limits = {}) {
    limits.headerTimeout = milliseconds(1000);
    limits.requestTimeout = milliseconds(2000);
    limits.idleTimeout = milliseconds(2000);
    server_ = std::make_unique<HttpServer>(
        "test", "127.0.0.1", 0, TlsSpec{},
        [this](const ApiRequest& r) {
          handled_++;
          if (r.path == "/slow") std::this_thread::sleep_for(milliseconds(1500));
          ApiResponse out;
          out.contentType = "text/plain";
          out.body = r.method + " " + r.path + " " + std::to_string(r.body.size());
          return out;
        },
        [](const ApiRequest& head) -> std::optional<ApiResponse> {
          if (head.path == "/private" && head.authorization != "Bearer t")
            return ErrorResponse(401, "token");
          return std::nullopt;
        },
        limits);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }
  RawConn Connect() {
    RawConn c;
    EXPECT_TRUE(c.Connect(server_->port()));
    return c;
  }
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
};

TEST_F(HttpServerTest, KeepAlivePipeliningAndHead) {
  Start();
  RawConn c = Connect();
  ASSERT_TRUE(c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 3\r\n\r\nxyzHEAD /c HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawResponse a = c.Read(seconds(5));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "GET /a 0");
  RawResponse b = c.Read(seconds(5));
  EXPECT_EQ(b.body, "POST /b 3");
  // HEAD: the length GET would have, no body; the connection stays usable.
  RawResponse h = c.Read(seconds(5), true);
  EXPECT_EQ(h.status, 200);
  EXPECT_NE(h.head.find("Content-Length: 9"), std::string::npos) << h.head;  // "HEAD /c 0" 
  ASSERT_TRUE(c.Send("GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  RawResponse d = c.Read(seconds(5));
  EXPECT_EQ(d.body, "GET /d 0") << "HEAD must not have sent a body";
  EXPECT_TRUE(c.WaitClosed(seconds(5)));
}

TEST_F(HttpServerTest, MalformedRequestsAreRefusedAndClosed) {
  Start();
  for (const std::string& bad : {std::string("GET v1 HTTP/1.1\r\nHost: x\r\n\r\n"),
                                std::string("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
                                std::string("NOT HTTP AT ALL\r\n\r\n"),
                                std::string("POST /b HTTP/1.1\r\nContent-Length: x\r\n\r\n")}) {
    RawConn c = Connect();
    ASSERT_TRUE(c.Send(bad));
    EXPECT_EQ(c.Read(seconds(5)).status, 400) << bad;
    EXPECT_TRUE(c.WaitClosed(seconds(5))) << bad;
  }
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, RefusedBeforeBodyNeverReachesTheHandler) {
  Start();
  RawConn c = Connect();
  ASSERT_TRUE(c.Send("POST /private HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"));
  EXPECT_EQ(c.Read(seconds(5)).status, 401);
  EXPECT_TRUE(c.WaitClosed(seconds(5)));
  RawConn ok = Connect();
  ASSERT_TRUE(ok.Send("POST /private HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                      "Content-Length: 5\r\n\r\nhello"));
  EXPECT_EQ(ok.Read(seconds(5)).body, "POST /private 5");
  EXPECT_EQ(handled_, 1);
}

TEST_F(HttpServerTest, ConnectionCap) {
  HttpServerLimits limits;
  limits.maxConnections = 5;
  Start(limits);
  std::vector<RawConn> held;
  for (int i = 0; i < 5; ++i) held.push_back(Connect());
  // Wait until the server has accepted all five.
  for (int i = 0; i < 50 && server_->openConnections() < 5; ++i)
    std::this_thread::sleep_for(milliseconds(20));
  ASSERT_EQ(server_->openConnections(), 5u);
  RawConn extra = Connect();
  EXPECT_TRUE(extra.WaitClosed(seconds(5))) << "a sixth connection was kept";
  // Once the held ones time out (1 s header timeout), new clients get in again.
  for (auto& h : held) EXPECT_TRUE(h.WaitClosed(seconds(10)));
  RawConn later = Connect();
  ASSERT_TRUE(later.Send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(later.Read(seconds(5)).body, "GET /again 0");
}

TEST_F(HttpServerTest, SlowHandlerDoesNotHoldUpOthers) {
  Start();
  RawConn slow = Connect();
  ASSERT_TRUE(slow.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(milliseconds(100));
  RawConn quick = Connect();
  ASSERT_TRUE(quick.Send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawResponse q = quick.Read(seconds(1));
  EXPECT_EQ(q.body, "GET /quick 0");
  EXPECT_FALSE(slow.Silent(seconds(5)));  // the slow one still gets its answer
  EXPECT_EQ(slow.Read(seconds(1)).body, "GET /slow 0");
}

TEST_F(HttpServerTest, StopClosesOpenConnectionsAndWaitsForHandlers) {
  Start();
  RawConn idle = Connect();
  RawConn partial = Connect();
  ASSERT_TRUE(partial.Send("GET /x HTTP/1.1\r\nHost"));
  RawConn busy = Connect();
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(milliseconds(200));
  server_->Stop();
  EXPECT_EQ(handled_, 1);  // the slow handler finished before Stop returned
  EXPECT_TRUE(idle.WaitClosed(seconds(1)));
  EXPECT_TRUE(partial.WaitClosed(seconds(1)));
  EXPECT_TRUE(busy.WaitClosed(seconds(1)));
  RawConn after;
  EXPECT_FALSE(after.Connect(server_->port()));
  server_->Stop();  // twice is fine
}

TEST(HttpServer, BusyPortIsAnError) {
  HttpServer a("a", "127.0.0.1", 0, TlsSpec{}, [](const ApiRequest&) { return ApiResponse{}; });
  ASSERT_TRUE(a.Start().ok());
  HttpServer b("b", "127.0.0.1", a.port(), TlsSpec{}, [](const ApiRequest&) { return ApiResponse{}; });
  Status s = b.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(std::to_string(a.port())), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pgvigil
