// Test helpers: a raw TCP client on loopback for byte-exact protocol tests
// (what a server sends back, and whether it closes), and the resident memory
// of this process. Test code only; blocking calls with timeouts.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy::testenv {

class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  // A Unix-domain socket (a test server's trusted local socket, to compare
  // with PostgreSQL itself).
  explicit RawClient(const std::string& unix_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (unix_path.size() >= sizeof a.sun_path) {
      Close();
      return;
    }
    unix_path.copy(a.sun_path, unix_path.size());
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Close();
  }
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Writes all of s; false when the peer is gone.
  bool Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += size_t(n);
    }
    return true;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  // Reads until the peer closes (eof set), or `timeout` passes without data.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout, bool* eof) {
    std::string out;
    *eof = false;
    char buf[4096];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, int(timeout.count())) <= 0) return out;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        *eof = true;
        return out;
      }
      out.append(buf, size_t(n));
    }
  }
  // Reads at least `want` bytes, or what came before `timeout`/EOF.
  std::string ReadAtLeast(size_t want, std::chrono::milliseconds timeout) {
    std::string out;
    char buf[4096];
    auto end = std::chrono::steady_clock::now() + timeout;
    while (out.size() < want) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, int(left.count())) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, size_t(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

// The SQLSTATE of the first ErrorResponse in `bytes` ("" when there is none).
inline std::string FirstSqlState(const std::string& bytes) {
  size_t i = 0;
  while (i + 5 <= bytes.size()) {
    char type = bytes[i];
    uint32_t len = (uint32_t(uint8_t(bytes[i + 1])) << 24) | (uint32_t(uint8_t(bytes[i + 2])) << 16) |
                   (uint32_t(uint8_t(bytes[i + 3])) << 8) | uint32_t(uint8_t(bytes[i + 4]));
    if (len < 4 || i + 1 + len > bytes.size()) return "";
    if (type == 'E') {
      std::string body = bytes.substr(i + 5, len - 4);
      for (size_t j = 0; j < body.size() && body[j] != '\0';) {
        char field = body[j];
        size_t end = body.find('\0', j + 1);
        if (end == std::string::npos) return "";
        if (field == 'C') return body.substr(j + 1, end - j - 1);
        j = end + 1;
      }
      return "";
    }
    i += 1 + len;
  }
  return "";
}

// A protocol client on a raw socket that needs no password exchange: sends
// messages, reads answers up to a ReadyForQuery and returns their type bytes
// ("3Z", "EZ", ...); the last ReadyForQuery's status, the last error's
// SQLSTATE and the first column of the last DataRow are kept.
struct RawPg {
  // `to`: a port on loopback, or a Unix socket path.
  template <typename To>
  explicit RawPg(const To& to, const std::vector<std::pair<std::string, std::string>>& params = {
                                   {"user", "postgres"}, {"database", "postgres"}, {"application_name", "pgvigil_tx_raw"}})
      : sock(to) {
    std::string s;
    AppendStartup(&s, params);
    if (sock.ok() && sock.Send(s)) {
      std::string t = Until(std::chrono::seconds(10));
      ready = !t.empty() && t.back() == 'Z';
    }
  }
  // Message types until (and with) a ReadyForQuery, or what came in `timeout`.
  std::string Until(std::chrono::milliseconds timeout) {
    std::string types;
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (buf.size() >= 5) {
        uint32_t len = (uint32_t(uint8_t(buf[1])) << 24) | (uint32_t(uint8_t(buf[2])) << 16) |
                       (uint32_t(uint8_t(buf[3])) << 8) | uint32_t(uint8_t(buf[4]));
        if (buf.size() < 1 + len) break;
        char t = buf[0];
        if (t == 'E') lastError = FirstSqlState(buf.substr(0, 1 + len));
        if (t == 'D') lastValue = FirstColumn(buf.substr(0, 1 + len));
        if (t == 'Z' && len >= 5) status = buf[5];
        if (t == 'S' && ready) {  // after login: each ParameterStatus, name and value
          std::string body = buf.substr(5, len - 4);
          size_t nul = body.find('\0');
          if (nul != std::string::npos)
            reported.emplace_back(body.substr(0, nul), body.substr(nul + 1, body.find('\0', nul + 1) - nul - 1));
        }
        buf.erase(0, 1 + len);
        if (t == 'S' || t == 'K' || t == 'R') continue;  // login chatter
        types += t;
        if (t == 'Z') return types;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return types;
      std::string more = sock.ReadAtLeast(1, left);
      if (more.empty()) return types;
      buf += more;
    }
  }
  // Sends one simple Query; the answers up to its ReadyForQuery.
  std::string Simple(const std::string& sql, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string s;
    AppendQuery(&s, sql);
    if (!sock.Send(s)) return "send failed";
    return Until(timeout);
  }
  // Sends msgs and a Sync; the answers up to the ReadyForQuery.
  std::string Run(const std::string& msgs, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string s = msgs;
    AppendSync(&s);
    if (!sock.Send(s)) return "send failed";
    return Until(timeout);
  }
  // The first column of a DataRow message (whole, with its header); "NULL" for a null.
  static std::string FirstColumn(const std::string& m) {
    if (m.size() < 11) return "";
    auto at = [&](size_t i) { return uint32_t(uint8_t(m[i])); };
    uint32_t n = (at(7) << 24) | (at(8) << 16) | (at(9) << 8) | at(10);
    if (n == 0xffffffffu) return "NULL";
    return m.size() < 11 + size_t(n) ? "" : m.substr(11, n);
  }
  RawClient sock;
  std::string buf, lastError, lastValue;
  std::vector<std::pair<std::string, std::string>> reported;  // ParameterStatus received after login
  char status = 0;  // of the last ReadyForQuery
  bool ready = false;
};

// Extended-protocol messages for RawPg: a Parse; a Bind of `statement` to
// the unnamed portal (no parameters, text results) and its Execute.
inline std::string ParseMessage(const std::string& name, const std::string& sql) {
  std::string s;
  AppendParse(&s, name, sql);
  return s;
}
inline std::string BindExecute(const std::string& statement) {
  std::string s;
  AppendMessage(&s, 'B', std::string(1, '\0') + statement + std::string(7, '\0'));
  AppendMessage(&s, 'E', std::string(5, '\0'));
  return s;
}
// Parse, Bind and Execute of sql as the unnamed statement.
inline std::string RunStatement(const std::string& sql) { return ParseMessage("", sql) + BindExecute(""); }

// Resident set size of this process in KiB (VmRSS).
inline long ResidentKiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

inline std::string U32Bytes(uint32_t v) {
  return std::string{char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

}  // namespace pgvigil::proxy::testenv
