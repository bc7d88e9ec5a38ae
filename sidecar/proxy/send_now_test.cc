// SendPendingNow on a real socket pair: a write the kernel takes whole empties
// the queue; one it takes in part leaves exactly the rest in inflight (the
// loopback tests hardly ever fill a socket buffer); a failed one reports the
// error without a SIGPIPE.
#include "sidecar/proxy/send_now.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace pgvigil::proxy {
namespace {

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
    ::fcntl(fd[0], F_SETFL, ::fcntl(fd[0], F_GETFL) | O_NONBLOCK);
    ::fcntl(fd[1], F_SETFL, ::fcntl(fd[1], F_GETFL) | O_NONBLOCK);
  }
  ~SocketPair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  std::string ReadAll() {
    std::string got;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd[1], buf, sizeof buf)) > 0;) got.append(buf, size_t(n));
    return got;
  }
};

TEST(SendPendingNow, AllTakenEmptiesTheQueue) {
  SocketPair p;
  WriteQueue q;
  q.pending = "hello";
  q.writing = true;
  boost::system::error_code ec;
  EXPECT_TRUE(SendPendingNow(p.fd[0], &q, &ec));
  EXPECT_FALSE(ec);
  EXPECT_FALSE(q.writing);
  EXPECT_TRUE(q.pending.empty());
  EXPECT_TRUE(q.inflight.empty());
  EXPECT_EQ(p.ReadAll(), "hello");
}

TEST(SendPendingNow, PartWrittenLeavesTheRestInInflight) {
  SocketPair p;
  std::string data(8 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
  WriteQueue q;
  q.pending = data;
  q.writing = true;
  boost::system::error_code ec;
  EXPECT_FALSE(SendPendingNow(p.fd[0], &q, &ec));
  EXPECT_FALSE(WriteFailed(ec)) << ec.message();
  EXPECT_TRUE(q.writing);
  EXPECT_TRUE(q.pending.empty());
  const std::string taken = p.ReadAll();
  ASSERT_GT(taken.size(), 0u);
  ASSERT_LT(taken.size(), data.size());
  EXPECT_EQ(taken + q.inflight, data);
}

TEST(SendPendingNow, FailedWriteReportsTheErrorWithoutSigpipe) {
  SocketPair p;
  ::close(p.fd[1]);
  p.fd[1] = -1;
  WriteQueue q;
  q.pending = "lost";
  q.writing = true;
  boost::system::error_code ec;
  EXPECT_FALSE(SendPendingNow(p.fd[0], &q, &ec));  // EPIPE, and the process is still here
  EXPECT_TRUE(WriteFailed(ec));
  EXPECT_EQ(q.inflight, "lost");
}

}  // namespace
}  // namespace pgvigil::proxy
