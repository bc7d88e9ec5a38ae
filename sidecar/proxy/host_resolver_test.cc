#include "sidecar/proxy/host_resolver.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

#include "sidecar/proxy/backend_conn.h"
#include "sidecar/proxy/worker_mailbox.h"

namespace pgvigil::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// A lookup that waits until let go, so a test can hold a resolution pending.
class HeldLookup {
 public:
  HostResolver::Lookup Fn() {
    return [this](const std::string& host, uint16_t port, Endpoints* out) {
      std::unique_lock<std::mutex> l(mu_);
      asked_.push_back(host);
      ++waiting_;
      changed_.notify_all();
      changed_.wait(l, [this] { return released_; });
      --waiting_;
      out->push_back(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
      return boost::system::error_code();
    };
  }
  void WaitUntilAsked() {
    std::unique_lock<std::mutex> l(mu_);
    changed_.wait(l, [this] { return waiting_ > 0; });
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    released_ = true;
    changed_.notify_all();
  }
  std::vector<std::string> Asked() {
    std::lock_guard<std::mutex> l(mu_);
    return asked_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> asked_;
  int waiting_ = 0;
  bool released_ = false;
};

// Runs io (a loop with the workers' hint) on this thread until pred or 5 s.
template <typename Pred>
void RunUntil(asio::io_context& io, Pred pred) {
  auto end = Clock::now() + std::chrono::seconds(5);
  while (!pred() && Clock::now() < end) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
}

TEST(HostResolverTest, NumericAddressesAreAnsweredAtOnceWithoutTheThread) {
  bool looked_up = false;
  HostResolver resolver([](std::function<void()>) { ADD_FAILURE() << "nothing to post"; },
                        [&](const std::string&, uint16_t, Endpoints*) {
                          looked_up = true;
                          return boost::system::error_code();
                        });
  for (std::string host : {"127.0.0.1", "10.1.2.3", "::1", "fe80::1%1"}) {
    Endpoints got;
    bool called = false;
    resolver.Resolve(host, 5433, [&](const boost::system::error_code& ec, Endpoints e) {
      EXPECT_FALSE(ec) << host;
      got = std::move(e);
      called = true;
    });
    EXPECT_TRUE(called) << host << ": answered before Resolve returns";
    ASSERT_EQ(got.size(), 1u) << host;
    EXPECT_EQ(got[0].port(), 5433);
  }
  EXPECT_FALSE(looked_up);
  EXPECT_EQ(resolver.LookupsStarted(), 0u);
}

// A lookup that hangs holds up the names behind it, never the loop; the
// answers come on the loop's thread in the order asked.
TEST(HostResolverTest, AHungLookupDoesNotBlockTheLoop) {
  asio::io_context io{kWorkerConcurrencyHint};
  WorkerMailbox box(io);
  HeldLookup held;
  HostResolver resolver([&box](std::function<void()> f) { box.Post(std::move(f)); }, held.Fn());
  std::vector<std::string> answered;
  bool wrongThread = false;
  const auto loop = std::this_thread::get_id();
  for (std::string host : {"a.example", "b.example", "c.example"})
    resolver.Resolve(host, 1, [&, host](const boost::system::error_code& ec, Endpoints e) {
      EXPECT_FALSE(ec);
      EXPECT_EQ(e.size(), 1u);
      if (std::this_thread::get_id() != loop) wrongThread = true;
      answered.push_back(host);
    });
  held.WaitUntilAsked();
  // The loop still runs its own work while the lookup hangs.
  int ticks = 0;
  asio::steady_timer t(io);
  std::function<void()> tick = [&] {
    t.expires_after(std::chrono::milliseconds(1));
    t.async_wait([&](const boost::system::error_code&) {
      if (++ticks < 20) tick();
    });
  };
  tick();
  RunUntil(io, [&] { return ticks >= 20; });
  EXPECT_EQ(ticks, 20);
  EXPECT_TRUE(answered.empty());
  held.Release();
  RunUntil(io, [&] { return answered.size() == 3; });
  EXPECT_EQ(answered, (std::vector<std::string>{"a.example", "b.example", "c.example"}));
  EXPECT_EQ(held.Asked(), answered);
  EXPECT_FALSE(wrongThread);
}

// Stop joins the thread; answers never run are destroyed, never run late.
TEST(HostResolverTest, StopDropsWhatWasNotAnswered) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  int ran = 0;
  {
    asio::io_context io{kWorkerConcurrencyHint};
    WorkerMailbox box(io);
    HeldLookup held;
    HostResolver resolver([&box](std::function<void()> f) { box.Post(std::move(f)); }, held.Fn());
    for (int i = 0; i < 3; ++i)
      resolver.Resolve("x.example", 1, [&ran, token](const boost::system::error_code&, Endpoints) { ++ran; });
    token.reset();
    held.WaitUntilAsked();
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      held.Release();
    });
    resolver.Stop();  // waits for the lookup in progress (its answer goes to the mailbox)
    release.join();
    EXPECT_FALSE(watch.expired()) << "the answer in the mailbox still holds it";
    resolver.Resolve("y.example", 1, [&ran](const boost::system::error_code&, Endpoints) { ++ran; });
  }
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(ran, 0);
}

// A worker's loop with its resolver and a listening socket standing in for a
// backend (it only takes the startup packet).
struct ResolvingWorker {
  asio::io_context io{kWorkerConcurrencyHint};
  WorkerMailbox box{io};
  HostResolver resolver;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  explicit ResolvingWorker(HostResolver::Lookup lookup = LookUpHost)
      : resolver([this](std::function<void()> f) { box.Post(std::move(f)); }, std::move(lookup)) {}
  std::shared_ptr<BackendConn> Backend(const std::string& host, std::string* error) {
    BackendLogin login;
    login.host = host;
    login.port = acceptor.local_endpoint().port();
    login.user = "u";
    login.database = "d";
    auto b = std::make_shared<BackendConn>(io, login, 0, nullptr, &resolver);
    b->Start([error](const std::string& e, const ErrorFields*) { *error = e; });
    return b;
  }
  // Whether a connection arrives within a while.
  bool Accepts(std::chrono::milliseconds within) {
    bool accepted = false;
    tcp::socket peer(io);
    acceptor.async_accept(peer, [&](const boost::system::error_code& ec) { accepted = !ec; });
    auto end = Clock::now() + within;
    while (!accepted && Clock::now() < end) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    acceptor.cancel();
    io.restart();
    io.poll();
    return accepted;
  }
};

// A name nobody knows fails that backend's login with the resolver's reason;
// a backend named "localhost" on the same loop connects.
TEST(HostResolverTest, AnUnknownNameFailsOnlyItsConnection) {
  ResolvingWorker w;
  std::string unknown_error = "pending", local_error = "pending";
  auto unknown = w.Backend("no-such-host.invalid", &unknown_error);
  auto local = w.Backend("localhost", &local_error);
  EXPECT_TRUE(w.Accepts(std::chrono::seconds(5)));
  RunUntil(w.io, [&] { return unknown_error != "pending"; });
  EXPECT_EQ(unknown_error.rfind("cannot resolve no-such-host.invalid: ", 0), 0u) << unknown_error;
  EXPECT_EQ(unknown->state(), BackendState::kClosed);
  EXPECT_EQ(local_error, "pending");
  EXPECT_EQ(local->state(), BackendState::kLogin);
  local->Close("test over");
}

// A backend closed while its name is being looked up (its session ended) is
// left alone when the answer comes: no connect, no second callback, and it is
// freed once the answer has been seen.
TEST(HostResolverTest, ABackendClosedWhileResolvingIsNotTouched) {
  HeldLookup held;
  ResolvingWorker w(held.Fn());
  int calls = 0;
  std::string error;
  std::weak_ptr<BackendConn> watch;
  {
    BackendLogin login;
    login.host = "db.example";
    login.port = w.acceptor.local_endpoint().port();
    auto b = std::make_shared<BackendConn>(w.io, login, 0, nullptr, &w.resolver);
    watch = b;
    b->Start([&](const std::string& e, const ErrorFields*) {
      ++calls;
      error = e;
    });
    held.WaitUntilAsked();
    b->Close("session closed");
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(error, "session closed");
  EXPECT_FALSE(watch.expired()) << "the pending answer holds it";
  held.Release();
  RunUntil(w.io, [&] { return watch.expired(); });
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(w.Accepts(std::chrono::milliseconds(100)));
  EXPECT_EQ(calls, 1);
}

// The worker stops while a lookup is pending: the backend is freed with the
// worker's mailbox, its callback never runs.
TEST(HostResolverTest, AWorkerStoppedWhileResolvingFreesTheBackend) {
  int calls = 0;
  std::weak_ptr<BackendConn> watch;
  {
    HeldLookup held;
    ResolvingWorker w(held.Fn());
    std::string error = "pending";
    watch = w.Backend("db.example", &error);
    held.WaitUntilAsked();
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      held.Release();
    });
    w.resolver.Stop();
    release.join();
    calls = error == "pending" ? 0 : 1;
  }
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace pgvigil::proxy
