#include "e2e/tools/e2e_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace pgvigil::e2e {

int64_t NowWallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t NowMonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {
// Waits for fd to become readable/writable until deadline (monotonic ms). 1 ready,
// 0 timeout, -1 error. EINTR (a signal) counts as a timeout-free retry.
int WaitFd(int fd, bool forWrite, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - NowMonoMs();
    if (left <= 0) return 0;
    pollfd p{fd, static_cast<short>(forWrite ? POLLOUT : POLLIN), 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) return 0;
    return 1;
  }
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

PGconn* ConnectWithDeadline(const std::string& conninfo, int timeoutMs, std::string* err) {
  int64_t deadline = NowMonoMs() + timeoutMs;
  PGconn* c = PQconnectStart(conninfo.c_str());
  if (!c) {
    *err = "out of memory";
    return nullptr;
  }
  if (PQstatus(c) == CONNECTION_BAD) {
    *err = Trim(PQerrorMessage(c));
    PQfinish(c);
    return nullptr;
  }
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  for (;;) {
    if (st == PGRES_POLLING_OK) break;
    if (st == PGRES_POLLING_FAILED) {
      *err = Trim(PQerrorMessage(c));
      PQfinish(c);
      return nullptr;
    }
    int w = WaitFd(PQsocket(c), st == PGRES_POLLING_WRITING, deadline);
    if (w <= 0) {
      *err = w == 0 ? "connect timeout" : std::string("poll: ") + std::strerror(errno);
      PQfinish(c);
      return nullptr;
    }
    st = PQconnectPoll(c);
  }
  PQsetnonblocking(c, 1);
  return c;
}

bool QueryWithDeadline(PGconn* conn, const std::string& sql, int timeoutMs,
                       std::vector<std::vector<std::string>>* rows, std::string* err) {
  int64_t deadline = NowMonoMs() + timeoutMs;
  if (!PQsendQuery(conn, sql.c_str())) {
    *err = Trim(PQerrorMessage(conn));
    return false;
  }
  for (;;) {
    int f = PQflush(conn);
    if (f == 0) break;
    if (f < 0) {
      *err = Trim(PQerrorMessage(conn));
      return false;
    }
    int w = WaitFd(PQsocket(conn), true, deadline);
    if (w <= 0) {
      *err = "timeout sending the query";
      return false;
    }
  }
  bool ok = true;
  std::string firstErr;
  for (;;) {
    while (PQisBusy(conn)) {
      int w = WaitFd(PQsocket(conn), false, deadline);
      if (w <= 0) {
        *err = "timeout waiting for the result";
        return false;
      }
      if (!PQconsumeInput(conn)) {
        *err = Trim(PQerrorMessage(conn));
        return false;
      }
    }
    PGresult* r = PQgetResult(conn);
    if (!r) break;
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_TUPLES_OK && rows) {
      for (int i = 0; i < PQntuples(r); ++i) {
        std::vector<std::string> row;
        for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
        rows->push_back(std::move(row));
      }
    } else if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK && ok) {
      ok = false;
      firstErr = Trim(PQresultErrorMessage(r));
      if (firstErr.empty()) firstErr = PQresStatus(s);
    }
    PQclear(r);
  }
  if (PQstatus(conn) == CONNECTION_BAD) {
    *err = firstErr.empty() ? Trim(PQerrorMessage(conn)) : firstErr;
    return false;
  }
  if (!ok) *err = firstErr;
  return ok;
}

bool HttpGet(const std::string& host, int port, const std::string& path, int timeoutMs,
             int* status, std::string* body, std::string* err) {
  int64_t deadline = NowMonoMs() + timeoutMs;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    *err = "not an IPv4 address: " + host;
    return false;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 && errno != EINPROGRESS) {
    *err = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  if (WaitFd(fd, true, deadline) <= 0) {
    *err = "connect timeout";
    return false;
  }
  int soerr = 0;
  socklen_t len = sizeof soerr;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
  if (soerr) {
    *err = std::string("connect: ") + std::strerror(soerr);
    return false;
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + ":" + std::to_string(port) +
                    "\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (WaitFd(fd, true, deadline) <= 0) {
        *err = "send timeout";
        return false;
      }
      continue;
    }
    *err = std::string("send: ") + std::strerror(errno);
    return false;
  }
  std::string resp;
  char buf[8192];
  size_t contentLength = std::string::npos, headerEnd = std::string::npos;
  for (;;) {
    if (headerEnd != std::string::npos && contentLength != std::string::npos &&
        resp.size() >= headerEnd + contentLength)
      break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      resp.append(buf, static_cast<size_t>(n));
      if (headerEnd == std::string::npos) {
        size_t h = resp.find("\r\n\r\n");
        if (h != std::string::npos) {
          headerEnd = h + 4;
          std::string head = resp.substr(0, h);
          for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          size_t cl = head.find("\r\ncontent-length:");
          if (cl != std::string::npos) contentLength = std::stoul(head.substr(cl + 17));
        }
      }
      continue;
    }
    if (n == 0) break;
    if (errno == EAGAIN || errno == EINTR) {
      if (WaitFd(fd, false, deadline) <= 0) {
        *err = "read timeout";
        return false;
      }
      continue;
    }
    *err = std::string("recv: ") + std::strerror(errno);
    return false;
  }
  if (resp.compare(0, 5, "HTTP/") != 0 || headerEnd == std::string::npos) {
    *err = "malformed HTTP response";
    return false;
  }
  size_t sp = resp.find(' ');
  *status = std::atoi(resp.c_str() + sp + 1);
  *body = resp.substr(headerEnd);
  return true;
}

}  // namespace pgvigil::e2e
