#include "common/testing/raw_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pgvigil::testing {

namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

RawConn::~RawConn() { Close(); }

void RawConn::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConn::Connect(int port) {
  Close();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return false;
  }
  fd_ = fd;
  return true;
}

bool RawConn::Send(const std::string& data, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  size_t done = 0;
  while (done < data.size()) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, RemainingMs(deadline)) <= 0) return false;
    ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

RawResponse ParseRawResponse(const std::string& text, bool head_request) {
  RawResponse r;
  auto end = text.find("\r\n\r\n");
  if (end == std::string::npos || text.compare(0, 5, "HTTP/") != 0) return r;
  r.head = text.substr(0, end + 2);
  auto sp = r.head.find(' ');
  if (sp == std::string::npos) return r;
  r.status = std::atoi(r.head.c_str() + sp + 1);
  size_t length = 0;
  std::istringstream lines(r.head);
  std::string line;
  while (std::getline(lines, line)) {
    std::string lower;
    for (char c : line) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower.rfind("content-length:", 0) == 0) length = std::strtoul(line.c_str() + 15, nullptr, 10);
  }
  if (head_request) length = 0;
  r.body = text.substr(end + 4, length);
  if (r.body.size() < length) r.status = 0;  // incomplete
  return r;
}

RawResponse RawConn::Read(std::chrono::milliseconds timeout, bool head_request) {
  auto deadline = Clock::now() + timeout;
  std::string buf = std::move(pending_);
  pending_.clear();
  char chunk[8192];
  for (;;) {
    RawResponse r = ParseRawResponse(buf, head_request);
    if (r.status != 0) {
      size_t used = r.head.size() + 2 + r.body.size();
      pending_ = buf.substr(used);
      return r;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, RemainingMs(deadline)) <= 0) return ParseRawResponse(buf, head_request);
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      RawResponse last = ParseRawResponse(buf, head_request);
      last.closed = true;
      return last;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
}

bool RawConn::WaitClosed(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  char chunk[8192];
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, RemainingMs(deadline)) <= 0) return false;
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return true;
  }
}

bool RawConn::Silent(std::chrono::milliseconds quiet) {
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(quiet.count())) == 0;
}

RawConn::Flood RawConn::SendWhileReading(uint64_t total, const std::function<std::string(size_t)>& next,
                                         std::chrono::milliseconds timeout) {
  Flood f;
  auto start = Clock::now();
  auto deadline = start + timeout;
  std::string out;
  size_t out_at = 0;
  char chunk[8192];
  bool reading = true;
  while (Clock::now() < deadline) {
    bool want_write = f.sent < total;
    if (!want_write && !reading) break;
    pollfd p{fd_, static_cast<short>((reading ? POLLIN : 0) | (want_write ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, RemainingMs(deadline)) <= 0) break;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n > 0) {
        f.received.append(chunk, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        f.closed = true;
        break;
      }
    }
    if (want_write && (p.revents & POLLOUT)) {
      if (out_at == out.size()) {
        out = next(static_cast<size_t>(std::min<uint64_t>(64 * 1024, total - f.sent)));
        out_at = 0;
      }
      ssize_t n = ::send(fd_, out.data() + out_at, out.size() - out_at, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        out_at += static_cast<size_t>(n);
        f.sent += static_cast<uint64_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        f.closed = true;  // EPIPE / ECONNRESET: the server closed
        // Collect what the server sent before it closed.
        for (;;) {
          ssize_t m = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
          if (m <= 0) break;
          f.received.append(chunk, static_cast<size_t>(m));
        }
        break;
      }
    }
  }
  f.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return f;
}

uint64_t ResidentKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

}  // namespace pgvigil::testing
