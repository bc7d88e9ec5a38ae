// QuietRead on a real loopback connection: a read queued without trying it
// still completes on bytes (or a close) that arrive later, and the reads that
// must be tried at once (after a full buffer, with a write pending, outside
// the draining handler) are.
#include "sidecar/proxy/quiet_read.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgvigil::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Pair {
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  WorkerSocket reader{io};
  tcp::socket peer{io};
  Pair() {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer.connect(acc.local_endpoint());
    acc.accept(reader);
    reader.non_blocking(true);
  }
  void InitReader(QuietRead& q) { q.Init(reader); }
  void Send(const std::string& s) { asio::write(peer, asio::buffer(s)); }
};

// Reads with QuietRead, starting the next read from each handler as the proxy
// does, and records what each read returned and whether it was queued quietly.
struct Reader {
  Pair& p;
  QuietRead q;
  std::vector<char> buf;
  std::vector<std::string> got;
  std::vector<bool> quiet;
  boost::system::error_code lastError;
  std::function<void(size_t)> afterRead;  // called in the handler, before the next Start
  Reader(Pair& pair, size_t size) : p(pair), buf(size) { p.InitReader(q); }
  void Start() {
    q.Start(p.reader, buf.data(), buf.size(), [this](const boost::system::error_code& ec, size_t n) {
      q.Completed(p.reader, ec, n);
      q.EnterHandler();
      if (ec) {
        lastError = ec;
      } else {
        got.emplace_back(buf.data(), n);
        if (afterRead) afterRead(got.size());
        Start();
        quiet.push_back(q.lastWasQuiet());
      }
      q.LeaveHandler();
    });
  }
  void RunUntil(size_t reads) {
    for (int i = 0; i < 200 && got.size() < reads && !lastError; ++i) {
      p.io.run_for(std::chrono::milliseconds(10));
      p.io.restart();
    }
  }
};

TEST(QuietReadTest, QueuedQuietlyAfterAShortReadAndStillGetsLaterBytes) {
  if (!quiet_read_detail::Supported()) GTEST_SKIP() << "this Boost falls back to plain reads";
  Pair p;
  Reader r(p, 64);
  r.Start();  // queued first: its completion comes from the reactor
  p.Send("abc");
  r.RunUntil(1);
  ASSERT_EQ(r.got, std::vector<std::string>{"abc"});
  ASSERT_EQ(r.quiet.size(), 1u);
  EXPECT_TRUE(r.quiet[0]) << "the read after a short read from the reactor is queued without a try";
  // Bytes sent only now, after the quiet read was queued, must still arrive.
  p.Send("def");
  r.RunUntil(2);
  ASSERT_EQ(r.got, (std::vector<std::string>{"abc", "def"}));
  EXPECT_TRUE(r.quiet[1]);
  // And the peer's close.
  p.peer.close();
  r.RunUntil(3);
  EXPECT_EQ(r.lastError, asio::error::eof);
}

// The peer sends its last bytes and closes at once (a backend's FATAL, a
// client leaving without Terminate): the FIN may come before the recv that
// reads the bytes, which then stops short of it; the end must still be seen.
TEST(QuietReadTest, BytesFollowedByCloseEndInEof) {
  if (!quiet_read_detail::Supported()) GTEST_SKIP() << "this Boost falls back to plain reads";
  for (int round = 0; round < 20; ++round) {
    Pair p;
    Reader r(p, 64);
    r.Start();
    p.Send("one");
    r.RunUntil(1);
    ASSERT_EQ(r.got.size(), 1u);
    p.Send("last");
    p.peer.close();
    r.RunUntil(3);
    EXPECT_EQ(r.lastError, asio::error::eof) << "round " << round << ": the close was not seen";
    std::string all;
    for (const auto& g : r.got) all += g;
    EXPECT_EQ(all, "onelast");
  }
}

TEST(QuietReadTest, AfterAFullBufferTheNextReadIsTriedAtOnce) {
  if (!quiet_read_detail::Supported()) GTEST_SKIP() << "this Boost falls back to plain reads";
  Pair p;
  Reader r(p, 3);
  r.Start();
  p.Send("abcdef");
  r.RunUntil(2);
  ASSERT_EQ(r.got, (std::vector<std::string>{"abc", "def"}));
  // "abc" filled the buffer: more could be waiting, so no quiet read then.
  EXPECT_FALSE(r.quiet[0]);
}

TEST(QuietReadTest, NotQuietWhileAnAsynchronousWriteIsInFlight) {
  if (!quiet_read_detail::Supported()) GTEST_SKIP() << "this Boost falls back to plain reads";
  Pair p;
  Reader r(p, 64);
  r.afterRead = [&](size_t n) {
    if (n == 1) r.q.AsyncWriteStarted();
    if (n == 2) r.q.AsyncWriteDone();
  };
  r.Start();
  p.Send("a");
  r.RunUntil(1);
  p.Send("b");
  r.RunUntil(2);
  p.Send("c");
  r.RunUntil(3);
  ASSERT_EQ(r.got, (std::vector<std::string>{"a", "b", "c"}));
  // Read 1's handler started a write: read 2 is tried at once; read 2 waited
  // with that write in flight, so read 3 is too, read 4 quiet again.
  EXPECT_FALSE(r.quiet[0]);
  EXPECT_FALSE(r.quiet[1]);
  EXPECT_TRUE(r.quiet[2]);
}

TEST(QuietReadTest, OutsideTheDrainingHandlerTheReadIsTried) {
  if (!quiet_read_detail::Supported()) GTEST_SKIP() << "this Boost falls back to plain reads";
  Pair p;
  QuietRead q;
  p.InitReader(q);
  char buf[16];
  size_t got = 0;
  p.Send("x");
  // Started outside any read handler (a resumed read, a new connection): bytes
  // already there are read at once, however the last read ended.
  q.Start(p.reader, buf, sizeof buf, [&](const boost::system::error_code& ec, size_t n) {
    q.Completed(p.reader, ec, n);
    got = n;
  });
  EXPECT_FALSE(q.lastWasQuiet());
  for (int i = 0; i < 200 && got == 0; ++i) {
    p.io.run_for(std::chrono::milliseconds(10));
    p.io.restart();
  }
  EXPECT_EQ(got, 1u);
}

// The raw read (RawReadOp, RecvNow) where Asio's own read was: a frame that
// arrives in pieces, a message far larger than the buffer, the peer's close
// and its reset each reach the handler as async_read_some's would.
TEST(QuietReadTest, RawReadGetsAFrameInPieces) {
  Pair p;
  Reader r(p, 64);
  EXPECT_EQ(r.q.raw(), quiet_read_detail::Supported());
  r.Start();
  // A Query frame's header alone, then its body.
  const std::string header("Q\0\0\0\x0d", 5);
  p.Send(header);
  r.RunUntil(1);
  p.Send("select 1;");
  r.RunUntil(2);
  ASSERT_EQ(r.got.size(), 2u);
  EXPECT_EQ(r.got[0], header);
  EXPECT_EQ(r.got[1], "select 1;");
  EXPECT_FALSE(r.lastError);
}

TEST(QuietReadTest, RawReadGetsALargeMessageOverManyReads) {
  Pair p;
  Reader r(p, 4096);
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + (i * 7 + i / 4093) % 26);
  bool sent = false;
  asio::async_write(p.peer, asio::buffer(big), [&](const boost::system::error_code& ec, size_t) {
    EXPECT_FALSE(ec);
    sent = true;
  });
  r.Start();
  size_t have = 0;
  for (int i = 0; i < 2000 && (have < big.size() || !sent) && !r.lastError; ++i) {
    p.io.run_for(std::chrono::milliseconds(10));
    p.io.restart();
    have = 0;
    for (const auto& g : r.got) have += g.size();
  }
  std::string all;
  for (const auto& g : r.got) all += g;
  EXPECT_TRUE(sent);
  EXPECT_FALSE(r.lastError);
  EXPECT_GT(r.got.size(), big.size() / 4096 - 1) << "no read returns more than its buffer";
  EXPECT_TRUE(all == big) << "got " << all.size() << " bytes, not the " << big.size() << " sent, in order";
}

TEST(QuietReadTest, RawReadEndsInEofWhenThePeerClosesWithNothingSent) {
  Pair p;
  Reader r(p, 64);
  r.Start();
  p.io.poll();
  p.io.restart();
  p.peer.close();
  r.RunUntil(1);
  EXPECT_TRUE(r.got.empty());
  EXPECT_EQ(r.lastError, asio::error::eof);
}

TEST(QuietReadTest, RawReadReportsAConnectionReset) {
  for (bool queued : {true, false}) {
    Pair p;
    Reader r(p, 64);
    if (queued) {  // waiting in the reactor when the reset comes
      r.Start();
      p.io.poll();
      p.io.restart();
    }
    // A close with a zero linger time sends RST, not FIN.
    p.peer.set_option(asio::socket_base::linger(true, 0));
    p.peer.close();
    if (!queued) r.Start();  // the reset already there: found by the read tried at once
    r.RunUntil(1);
    EXPECT_TRUE(r.got.empty());
    EXPECT_EQ(r.lastError, asio::error::connection_reset) << (queued ? "queued" : "tried at once") << ": "
                                                          << r.lastError.message();
  }
}

TEST(QuietReadTest, RecvNowWaitsOnAnEmptySocket) {
  Pair p;
  char buf[8];
  boost::system::error_code ec;
  size_t got = 7;
  EXPECT_FALSE(RecvNow(p.reader.native_handle(), buf, sizeof buf, &ec, &got));
  p.Send("ab");
  EXPECT_TRUE(RecvNow(p.reader.native_handle(), buf, sizeof buf, &ec, &got));
  EXPECT_FALSE(ec);
  EXPECT_EQ(std::string(buf, got), "ab");
}

}  // namespace
}  // namespace pgvigil::proxy
