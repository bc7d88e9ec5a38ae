#include "sidecar/proxy/worker_mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

#include "sidecar/proxy/host_resolver.h"

namespace pgvigil::proxy {
namespace {

// Many threads post to one loop run without Asio's locks (as the workers'
// are); every function runs once, on the loop's thread, in order per poster.
TEST(WorkerMailboxTest, DeliversEveryPostOnceInOrderPerPoster) {
  constexpr int kPosters = 8;
  constexpr int kEach = 5000;
  boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  WorkerMailbox box(io);
  std::vector<std::vector<int>> seen(kPosters);  // loop thread only
  int delivered = 0;                             // loop thread only
  std::thread::id loopThread;
  bool offThread = false;
  std::thread loop([&] {
    loopThread = std::this_thread::get_id();
    io.run();
  });
  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p)
    posters.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i)
        box.Post([&, p, i] {
          if (std::this_thread::get_id() != loopThread) offThread = true;
          seen[size_t(p)].push_back(i);
          if (++delivered == kPosters * kEach) io.stop();  // on the loop's thread
        });
    });
  for (auto& t : posters) t.join();
  loop.join();  // returns once the last function stopped the loop
  EXPECT_FALSE(offThread);
  EXPECT_EQ(delivered, kPosters * kEach);
  for (int p = 0; p < kPosters; ++p) {
    ASSERT_EQ(seen[size_t(p)].size(), size_t(kEach)) << "poster " << p;
    for (int i = 0; i < kEach; ++i) ASSERT_EQ(seen[size_t(p)][size_t(i)], i) << "poster " << p;
  }
}

// Posts made before the loop runs, and from the loop's own functions, arrive.
TEST(WorkerMailboxTest, PostsBeforeTheLoopAndFromItArrive) {
  boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  WorkerMailbox box(io);
  std::vector<int> order;
  box.Post([&] { order.push_back(1); });
  box.Post([&] {
    order.push_back(2);
    box.Post([&] {
      order.push_back(3);
      io.stop();
    });
  });
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

// A function that throws leaves the ones queued behind it to run, in order,
// when the loop runs again (as a worker's loop does after an exception).
TEST(WorkerMailboxTest, KeepsWhatFollowsAFunctionThatThrew) {
  boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  WorkerMailbox box(io);
  std::vector<int> order;
  box.Post([&] { order.push_back(1); });
  box.Post([] { throw std::runtime_error("boom"); });
  box.Post([&] { order.push_back(3); });
  box.Post([&] {
    order.push_back(4);
    io.stop();
  });
  EXPECT_THROW(io.run(), std::runtime_error);
  EXPECT_EQ(order, (std::vector<int>{1}));
  io.restart();
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 3, 4}));
}

// Functions never run (the loop stopped for good) are destroyed with the mailbox.
TEST(WorkerMailboxTest, DestroysWhatNeverRan) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  {
    boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
    WorkerMailbox box(io);
    box.Post([token] { ++*token; });
    token.reset();
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());
}

// The workers' loops must resolve a backend's host name: Kubernetes names
// every pod's PostgreSQL by one (demo-0.demo-hl.db.svc), and a VM spec may.
// Asio's own resolver cannot serve a loop with the workers' hint when that is
// BOOST_ASIO_CONCURRENCY_HINT_UNSAFE: Boost 1.74 answers "Operation not
// supported" at once (found by kube_bootstrap_e2e: no backend login ever).
// The workers' HostResolver looks the name up on its own thread and answers
// on the loop's, through the mailbox.
TEST(WorkerLoopTest, ResolvesAHostName) {
  boost::asio::io_context io{kWorkerConcurrencyHint};
  WorkerMailbox box(io);
  HostResolver resolver([&box](std::function<void()> f) { box.Post(std::move(f)); });
  boost::system::error_code got = boost::asio::error::would_block;
  size_t endpoints = 0;
  std::thread::id loopThread, answeredOn;
  resolver.Resolve("localhost", 5432, [&](const boost::system::error_code& ec, Endpoints r) {
    got = ec;
    endpoints = r.size();
    answeredOn = std::this_thread::get_id();
    io.stop();
  });
  std::thread loop([&] {
    loopThread = std::this_thread::get_id();
    io.run();
  });
  loop.join();
  EXPECT_FALSE(got) << got.message();
  EXPECT_GT(endpoints, 0u);
  EXPECT_EQ(answeredOn, loopThread);
  EXPECT_EQ(resolver.LookupsStarted(), 1u);
}

}  // namespace
}  // namespace pgvigil::proxy
