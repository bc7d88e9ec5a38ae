// The HTTP(S) server of pgvigil's REST APIs (the sidecar agent's and the
// controller's), on Boost.Beast. It turns each request into an ApiRequest
// (common/http_api.h) and sends back the handler's ApiResponse.
//
// Limits hold before anything is authenticated, while bytes arrive:
//  - the request line and headers are read with a size cap (431 and close past
//    it) and must arrive within headerTimeout of the connection's first byte
//    (or of accept for a new connection); a slow or silent client is closed;
//  - once the headers are in, `admit` (the route's token check) decides from the
//    method, path and Authorization header alone; a refusal is answered at once
//    and the body, if any, is never read (the connection is then closed);
//  - the body (Content-Length or chunked) is read with a size cap (413 and
//    close past it) and the whole request must arrive within requestTimeout;
//  - an idle keep-alive connection is closed after idleTimeout; at most
//    maxConnections are open, more are closed at accept.
// Memory per unauthenticated connection is therefore bounded by the header cap
// plus one read buffer, whatever the client sends.
//
// (The cpprestsdk listener used before could not do this: it reads and buffers a
// whole request, headers and body, before any handler code runs, and has no
// header or slow-client timeouts. cpprestsdk remains the REST client.)
//
// Threads: one I/O thread runs every connection; handlers run on a separate pool
// of `handlerThreads`, so a slow handler does not hold up reading, timeouts or
// probes. Handler and admit may run concurrently and must be thread-safe.
// Start()/Stop() from one owning thread; Stop() closes every connection, waits for
// running handlers, and is called by the destructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/http_api.h"
#include "common/result.h"
#include "common/spec.h"

namespace pgvigil {

struct HttpServerLimits {
  size_t maxHeaderBytes = 16 * 1024;  // request line + headers
  size_t maxBodyBytes = 1 << 20;      // decoded body (chunked included)
  std::chrono::milliseconds headerTimeout{10000};
  std::chrono::milliseconds requestTimeout{30000};  // whole request; also each response write
  std::chrono::milliseconds idleTimeout{60000};     // keep-alive wait for the next request
  size_t maxConnections = 512;
  int handlerThreads = 8;
};

// The spec's api section as limits (timeouts and connection cap; fixed size caps).
HttpServerLimits LimitsFromSpec(const ApiSpec& api);

class HttpServer {
 public:
  using Handler = std::function<ApiResponse(const ApiRequest&)>;
  // Called with the request's head (method, path, query, authorization; empty
  // body) before any body byte is read: nullopt to go on, or the response to send.
  using Admit = std::function<std::optional<ApiResponse>(const ApiRequest& head)>;

  // name: who serves, for log lines ("agent", "controller"); listen: address
  // ("0.0.0.0", "127.0.0.1", "::"); port 0 picks a free one (see port()); tls:
  // cert/key (plain HTTP when empty); admit may be empty (everything admitted).
  HttpServer(std::string name, std::string listen, int port, TlsSpec tls, Handler handler,
             Admit admit = nullptr, HttpServerLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving; an error when the address is in use or the TLS
  // files are unusable.
  Status Start();
  void Stop();
  std::string url() const { return url_; }
  int port() const { return boundPort_; }
  // Connections open right now (accepted and not yet closed).
  size_t openConnections() const;

  static constexpr size_t kMaxBodyBytes = 1 << 20;

  struct Core;  // shared with the connections (http_connection.cc)

 private:
  const std::string name_;
  const std::string listen_;
  const int port_;
  const TlsSpec tls_;
  std::string url_;
  int boundPort_ = 0;
  std::shared_ptr<Core> core_;
};

}  // namespace pgvigil
