// A raw TCP client for tests of the HTTP servers: it sends exactly the bytes a
// test gives (malformed, oversized, slow) to 127.0.0.1 and reads what comes
// back, with timeouts. Test code only; one instance per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace pgvigil::testing {

struct RawResponse {
  int status = 0;     // 0: no complete status line
  std::string head;   // status line and headers
  std::string body;   // by Content-Length
  bool closed = false;  // the server closed the connection after it
};

class RawConn {
 public:
  RawConn() = default;
  ~RawConn();
  RawConn(RawConn&& o) noexcept : fd_(o.fd_), pending_(std::move(o.pending_)) { o.fd_ = -1; }
  RawConn& operator=(RawConn&&) = delete;
  RawConn(const RawConn&) = delete;

  // Connects to 127.0.0.1:port; false on failure (fd() stays -1).
  bool Connect(int port);
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends all of `data` (blocking, at most `timeout`); false on error or timeout.
  bool Send(const std::string& data, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads one response (head + Content-Length body, none for a HEAD request's
  // answer: `head_request`) within `timeout`.
  RawResponse Read(std::chrono::milliseconds timeout, bool head_request = false);
  // True when the server closes (EOF or reset) within `timeout`; input is discarded.
  bool WaitClosed(std::chrono::milliseconds timeout);
  // True when nothing at all arrives (and no close) for `quiet`.
  bool Silent(std::chrono::milliseconds quiet);
  void Close();

  // Sends `total` bytes made by `next(n)` (which returns the next n bytes to
  // send) while reading whatever the server answers, until the server closes,
  // everything is sent, or `timeout`. Non-blocking both ways.
  struct Flood {
    uint64_t sent = 0;
    std::string received;  // everything the server sent
    bool closed = false;   // EOF, reset or broken pipe seen
    std::chrono::milliseconds elapsed{0};
  };
  Flood SendWhileReading(uint64_t total, const std::function<std::string(size_t)>& next,
                         std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read past the last response
};

// The response in `text` (status line, headers, Content-Length body), status 0
// when `text` holds no complete head.
RawResponse ParseRawResponse(const std::string& text, bool head_request = false);

// VmRSS of this process in KiB (from /proc/self/status); 0 when unknown.
uint64_t ResidentKiB();

}  // namespace pgvigil::testing
