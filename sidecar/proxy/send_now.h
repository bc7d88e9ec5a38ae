// The write the proxy tries at once on a non-blocking socket (the kernel
// takes all of it nearly always on loopback; the rest goes through Asio's
// async_write). Made with the raw system call: Asio's write_some goes through
// libc's send(), a pthread cancellation point whose bookkeeping (an atomic
// exchange before and after the call) costs more instructions than the rest
// of the user-space path, and the proxy never cancels a thread. Twice per
// transaction (client and backend), it is worth the few lines.
#pragma once

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include "sidecar/proxy/io_buffers.h"

namespace pgvigil::proxy {

// Sends [p, p + n) on fd without blocking and without SIGPIPE, as Asio's
// write_some on a socket set non_blocking(true): bytes taken, or 0 and the
// error (would_block when the socket buffer is full). Retries EINTR.
inline size_t SendNow(int fd, const void* p, size_t n, boost::system::error_code* ec) {
  for (;;) {
    const long r = ::syscall(SYS_sendto, fd, p, n, MSG_NOSIGNAL, nullptr, 0);
    if (r >= 0) {
      ec->clear();
      return size_t(r);
    }
    if (errno == EINTR) continue;
    ec->assign(errno, boost::system::system_category());
    return 0;
  }
}

// Tries the bytes out->pending holds at once (the caller has set
// out->writing). True: the kernel took them all, and the queue is idle and
// empty again. False: what is left (everything, after an error) is in
// out->inflight, for async_write; *ec says why (none or would_block: the
// socket buffer filled; another error: the write failed). The buffers change
// places only then: std::string::swap is out of line.
inline bool SendPendingNow(int fd, WriteQueue* out, boost::system::error_code* ec) {
  const size_t done = SendNow(fd, out->pending.data(), out->pending.size(), ec);
  if (!*ec && done == out->pending.size()) {
    out->pending.clear();
    out->writing = false;
    return true;
  }
  out->inflight.swap(out->pending);
  out->inflight.erase(0, done);
  return false;
}

// A write error other than a full socket buffer.
inline bool WriteFailed(const boost::system::error_code& ec) {
  return ec && ec != boost::asio::error::would_block && ec != boost::asio::error::try_again;
}

}  // namespace pgvigil::proxy
