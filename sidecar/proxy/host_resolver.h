// Turns a backend's host into addresses off the worker's event loop. Asio's
// own tcp::resolver cannot be used there: its lookups run on a private thread
// that posts the answer back into the io_context's scheduler, and Boost 1.74
// refuses every async_resolve on a loop built with
// BOOST_ASIO_CONCURRENCY_HINT_UNSAFE (kWorkerConcurrencyHint) with "Operation
// not supported".
//
// A numeric IPv4/IPv6 address is answered at once, on the caller's thread,
// before Resolve returns. A host name is looked up (getaddrinfo, through Asio's
// synchronous resolve: the same flags, results and error codes as
// async_resolve gave) on a thread of this resolver's own, started by the
// first name, and the answer is handed to the asking loop through the poster
// given (a worker's Post, i.e. its mailbox). Names are looked up one at a
// time in the order asked, as Asio's one resolver thread per io_context did:
// a hung DNS server delays the names behind it, never the loop.
#pragma once

#include <cstdint>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace pgvigil::proxy {

using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

// host read as a numeric IPv4 or IPv6 address (a scope id too), or nothing
// when it is a name.
std::optional<boost::asio::ip::tcp::endpoint> NumericEndpoint(const std::string& host, uint16_t port);

// Blocks in getaddrinfo for host (TCP, port), as tcp::resolver::async_resolve
// would on its thread: every address in the order given, or the error.
boost::system::error_code LookUpHost(const std::string& host, uint16_t port, Endpoints* out);

class HostResolver {
 public:
  using Lookup = std::function<boost::system::error_code(const std::string& host, uint16_t port, Endpoints* out)>;
  // Runs a function on the asking loop's thread (Worker::Post); called from
  // the resolver's thread.
  using Poster = std::function<void(std::function<void()>)>;
  using Done = std::function<void(const boost::system::error_code& ec, Endpoints endpoints)>;

  explicit HostResolver(Poster post, Lookup lookup = LookUpHost);
  ~HostResolver();  // Stop()
  HostResolver(const HostResolver&) = delete;
  HostResolver& operator=(const HostResolver&) = delete;

  // Call on the loop's thread. done gets the addresses (none when ec): at
  // once for a numeric address, else later through the poster. The resolver's
  // thread never runs or destroys done: it travels inside the posted function
  // (destroyed with the mailbox when the loop never runs again), or, still
  // queued at Stop, is destroyed by Stop's caller. After Stop a name's done
  // is dropped unrun.
  void Resolve(const std::string& host, uint16_t port, Done done);

  // Ends the thread after the lookup it is in (which it still delivers) and
  // joins it. Call once the loop no longer runs (ProxyServer::Stop, after the
  // workers' threads ended). Idempotent.
  void Stop();

  size_t LookupsStarted() const;  // names handed to the thread so far (tests)

 private:
  struct Request {
    std::string host;
    uint16_t port;
    Done done;
  };
  void Run();

  Poster post_;
  Lookup lookup_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Request> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  size_t started_ = 0;         // guarded by mu_
  std::thread thread_;         // started by the first name (under mu_)
};

}  // namespace pgvigil::proxy
