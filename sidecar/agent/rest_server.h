// The HTTP(S) listener of the sidecar REST API (cpprestsdk http_listener). Thin:
// converts each request into an ApiRequest, calls the handler on cpprestsdk's
// thread pool, sends the ApiResponse. Exceptions never escape to the listener:
// a handler exception becomes a 500. Start()/Stop() from one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/spec.h"
#include "sidecar/agent/rest_routes.h"

namespace web::http::experimental::listener {
class http_listener;
}

namespace pgvigil {

class RestServer {
 public:
  using Handler = std::function<ApiResponse(const ApiRequest&)>;
  // listen: address ("0.0.0.0", "127.0.0.1"); tls: cert/key (disabled when empty).
  RestServer(std::string listen, int port, TlsSpec tls, Handler handler);
  ~RestServer();
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  Status Start();  // binds; an error when the address is in use or TLS files are bad
  void Stop();
  std::string url() const { return url_; }

  static constexpr size_t kMaxBodyBytes = 1 << 20;

 private:
  const std::string listen_;
  const int port_;
  const TlsSpec tls_;
  Handler handler_;
  std::string url_;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener_;
};

}  // namespace pgvigil
