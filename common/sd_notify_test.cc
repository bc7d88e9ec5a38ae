// NotifySocket against a real AF_UNIX datagram socket, as systemd would listen.
#include "common/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace pgvigil {
namespace {

// A bound datagram socket; name is a path or "@abstract".
class Listener {
 public:
  explicit Listener(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())) == 0;
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Listener() {
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  std::string Receive() {
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? "<nothing>" : std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string TempSocketPath() {
  char dir[] = "/tmp/pgvigil-notify-XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  return std::string(dir) + "/notify";
}

TEST(SdNotify, PathSocketReceivesTheStateAsOneDatagram) {
  std::string path = TempSocketPath();
  Listener l(path);
  ASSERT_TRUE(l.bound());
  ASSERT_TRUE(NotifySocket(path, "READY=1\nSTATUS=running as node server1").ok());
  EXPECT_EQ(l.Receive(), "READY=1\nSTATUS=running as node server1");
  ASSERT_TRUE(NotifySocket(path, "RELOADING=1").ok());
  EXPECT_EQ(l.Receive(), "RELOADING=1");
  ::rmdir(path.substr(0, path.rfind('/')).c_str());
}

TEST(SdNotify, AbstractSocket) {
  std::string name = "@pgvigil-notify-test-" + std::to_string(::getpid());
  Listener l(name);
  ASSERT_TRUE(l.bound());
  ASSERT_TRUE(NotifySocket(name, "STOPPING=1").ok());
  EXPECT_EQ(l.Receive(), "STOPPING=1");
}

TEST(SdNotify, EnvironmentVariableNamesTheSocket) {
  std::string path = TempSocketPath();
  Listener l(path);
  ASSERT_TRUE(l.bound());
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(NotifyServiceManager("READY=1").ok());
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(l.Receive(), "READY=1");
  ::rmdir(path.substr(0, path.rfind('/')).c_str());
}

TEST(SdNotify, WithoutASocketNothingIsSentAndNothingFails) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(NotifyServiceManager("READY=1").ok());
  EXPECT_TRUE(NotifySocket("", "READY=1").ok());
}

TEST(SdNotify, BadAddressesAreErrorsNamingTheAddress) {
  Status relative = NotifySocket("run/notify", "READY=1");
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.message().find("run/notify"), std::string::npos);
  Status too_long = NotifySocket("/" + std::string(200, 'x'), "READY=1");
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.message().find("longer"), std::string::npos);
  Status nobody = NotifySocket("/nonexistent-dir-pgvigil/notify", "READY=1");
  ASSERT_FALSE(nobody.ok());
  EXPECT_NE(nobody.message().find("/nonexistent-dir-pgvigil/notify"), std::string::npos);
}

}  // namespace
}  // namespace pgvigil
