#include "sidecar/proxy/host_resolver.h"

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

namespace pgvigil::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

std::optional<tcp::endpoint> NumericEndpoint(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(addr, port);
}

boost::system::error_code LookUpHost(const std::string& host, uint16_t port, Endpoints* out) {
  // A context of this call's own, run by nobody: the synchronous resolve
  // calls getaddrinfo here and now, and starts no thread.
  asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, std::to_string(port), ec);
  out->clear();
  if (ec) return ec;
  for (const auto& r : results) out->push_back(r.endpoint());
  if (out->empty()) return asio::error::host_not_found;  // async_resolve's callers saw an empty result
  return ec;
}

HostResolver::HostResolver(Poster post, Lookup lookup) : post_(std::move(post)), lookup_(std::move(lookup)) {}

HostResolver::~HostResolver() { Stop(); }

void HostResolver::Resolve(const std::string& host, uint16_t port, Done done) {
  if (auto ep = NumericEndpoint(host, port)) {
    done(boost::system::error_code(), Endpoints{*ep});
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return;  // done is destroyed on return, on the loop's thread (after the lock)
  queue_.push_back(Request{host, port, std::move(done)});
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  wake_.notify_one();
}

void HostResolver::Run() {
  for (;;) {
    std::string host;
    uint16_t port = 0;
    Done done;
    {
      std::unique_lock<std::mutex> l(mu_);
      wake_.wait(l, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // what is queued stays for Stop's caller to destroy
      host = std::move(queue_.front().host);
      port = queue_.front().port;
      done = std::move(queue_.front().done);
      queue_.pop_front();
      ++started_;
    }
    Endpoints eps;
    boost::system::error_code ec = lookup_(host, port, &eps);
    // done moves into the posted function: from here on it lives and dies on
    // the loop's side, never on this thread.
    post_([done = std::move(done), ec, eps = std::move(eps)]() mutable { done(ec, std::move(eps)); });
  }
}

void HostResolver::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    t = std::move(thread_);
    wake_.notify_one();
  }
  if (t.joinable()) t.join();
  std::deque<Request> left;
  {
    std::lock_guard<std::mutex> l(mu_);
    left.swap(queue_);
  }
  // left's callbacks are destroyed here, unrun, outside the lock.
}

size_t HostResolver::LookupsStarted() const {
  std::lock_guard<std::mutex> l(mu_);
  return started_;
}

}  // namespace pgvigil::proxy
