#include "common/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace pgvigil {

Status NotifySocket(const std::string& socket_address, const std::string& state) {
  if (socket_address.empty()) return Status::Ok();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_address[0] != '/' && socket_address[0] != '@')
    return Status::Error("NOTIFY_SOCKET '" + socket_address + "' is neither a path nor @abstract");
  if (socket_address.size() > sizeof(addr.sun_path) - 1)
    return Status::Error("NOTIFY_SOCKET '" + socket_address + "' is longer than a socket path may be");
  std::memcpy(addr.sun_path, socket_address.data(), socket_address.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_address.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error(std::string("notify socket: ") + std::strerror(errno));
  ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
  int err = errno;
  ::close(fd);
  if (n < 0)
    return Status::Error("notifying " + socket_address + ": " + std::strerror(err));
  if (static_cast<size_t>(n) != state.size())
    return Status::Error("notifying " + socket_address + ": short write");
  return Status::Ok();
}

Status NotifyServiceManager(const std::string& state) {
  const char* socket_address = std::getenv("NOTIFY_SOCKET");
  return NotifySocket(socket_address ? socket_address : "", state);
}

}  // namespace pgvigil
