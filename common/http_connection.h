// Internal to common/http_server.cc: the state the server shares with its
// connections, and the connection that reads one request after another under
// the limits described in http_server.h. Not for use outside the server.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/http_server.h"

namespace pgvigil {

// One open connection as the server sees it: it can be told to close.
class HttpConnectionBase {
 public:
  virtual ~HttpConnectionBase() = default;
  virtual void Start() = 0;
  // Closes the socket from the connection's executor (any thread may call it).
  virtual void Cancel() = 0;
};

struct HttpServer::Core {
  std::string name;  // "agent", "controller": log prefix
  Handler handler;
  Admit admit;
  HttpServerLimits limits;

  // Declaration order is destruction order reversed: the I/O context outlives
  // everything that uses it.
  boost::asio::io_context ioc{1};
  std::unique_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
  boost::asio::ip::tcp::acceptor acceptor{ioc};
  boost::asio::steady_timer acceptRetry{ioc};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::unique_ptr<boost::asio::thread_pool> workers;  // runs handlers
  std::thread ioThread;

  std::atomic<bool> stopping{false};
  std::atomic<size_t> open{0};

  // Every live connection, so Stop() can close them; expired entries are pruned
  // at each accept.
  std::mutex connectionsMu;
  std::vector<std::weak_ptr<HttpConnectionBase>> connections;  // guarded by connectionsMu

  // Logs `what` about a client (one kind of refusal) at most once every 10 s per
  // kind, with how many were not logged since: a flood of bad clients cannot flood
  // the log. Thread-safe.
  void Note(const std::string& kind, const std::string& what);

 private:
  struct NoteState {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
  };
  std::mutex noteMu_;
  std::map<std::string, NoteState> notes_;  // guarded by noteMu_
};

// Takes an accepted socket and serves it (TLS when core->tls is set).
void StartHttpConnection(const std::shared_ptr<HttpServer::Core>& core,
                         boost::asio::ip::tcp::socket socket);

}  // namespace pgvigil
