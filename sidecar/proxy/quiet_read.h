// Reads without the extra syscall Boost.Asio 1.74 spends on each one.
//
// Asio's epoll reactor registers every socket edge-triggered for input once.
// An async_read_some first tries recv() at once ("speculative"); after a
// reply has been read that try returns EAGAIN nearly always (the peer is
// waiting for us), so every read costs two recv() calls. async_wait instead
// costs an epoll_ctl() (Asio re-arms the descriptor so as not to lose an
// edge), the same count. Neither is needed when the connection knows that its
// own last recv() left the socket empty and the reactor has not polled since:
// any byte arriving later raises a new edge, and the read queued now is
// performed on it.
//
// QuietRead tracks exactly that. After a read that completed from the
// reactor (not speculatively: a speculative completion is posted, and epoll
// may run before its handler) and returned less than the buffer held, and
// with no asynchronous write on the socket in the meantime (a write finishing
// on the same event would be completed first and the read's completion
// posted), the next Start, if made from that same handler, queues the read
// without trying it. Everything else reads as Asio always does.
//
// A short read does not prove the socket empty when the peer's FIN came
// before it: recv() stops short of the FIN, and the FIN's edge was spent on
// the epoll_wait that woke the read. So the socket is registered for
// EPOLLRDHUP too (Init), and a read woken by an event that carried it (or
// EPOLLHUP, EPOLLERR) is followed by a tried read, which returns the end.
//
// It reaches into Asio's epoll reactor (descriptor_state::try_speculative_,
// op_queue_, registered_events_, the event mask it hands to perform_io): checked against Boost 1.74's layout at compile time; elsewhere
// it falls back to the plain async_read_some. Worker thread only.
//
// The read itself, tried at once or performed by the reactor on an event, is
// a raw recvfrom system call (RawReadOp, RecvNow), not Asio's, which goes
// through libc's recv(): a pthread cancellation point whose bookkeeping costs
// more instructions than the rest of the read (see send_now.h for the write).
// The operation goes through the reactor's own start_op with speculation
// allowed, as async_read_some's does: no extra epoll_ctl, and a read that finds
// nothing waits in the same queue.
#pragma once

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <boost/asio.hpp>
#include <boost/version.hpp>

#include "sidecar/proxy/worker_socket.h"

// The layout read in quiet_read.cc is Boost 1.74's epoll reactor (Debian 12).
// Another version builds the plain fallback until someone checks its reactor.
#if BOOST_VERSION == 107400 && defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IOCP)
#define PGVIGIL_QUIET_READ 1
#else
#define PGVIGIL_QUIET_READ 0
#endif

namespace pgvigil::proxy {

// Reads into [p, p + n) (n > 0) from the non-blocking stream socket fd, as
// Asio's non-blocking read does: true when the read is over (*got bytes; or
// *ec, eof when the peer has closed, another error such as connection_reset),
// false when nothing is there yet (EAGAIN: wait for the socket). Retries EINTR.
inline bool RecvNow(int fd, void* p, size_t n, boost::system::error_code* ec, size_t* got) {
  for (;;) {
    const long r = ::syscall(SYS_recvfrom, fd, p, n, 0, nullptr, nullptr);
    if (r > 0) {
      ec->clear();
      *got = size_t(r);
      return true;
    }
    *got = 0;
    if (r == 0) {
      *ec = boost::asio::error::eof;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    ec->assign(errno, boost::system::system_category());
    return true;
  }
}

namespace quiet_read_detail {
// Whether this build can queue a read without trying it.
bool Supported();
// Has s's epoll registration report the peer's FIN (EPOLLRDHUP): one
// epoll_ctl per connection. False when it could not.
bool ReportHangups(WorkerSocket& s);
// In the handler of a read the reactor performed: whether the epoll event
// that woke it saw the peer's FIN (or an error). A FIN that came before that
// recv raises no new edge, and the recv stops short of it.
bool EndSeen(WorkerSocket& s);
// Sets whether the next read started on s is tried at once.
void SetSpeculative(WorkerSocket& s, bool speculative);
// Whether a read started on s waits in the reactor (not completed at once).
bool ReadQueued(WorkerSocket& s);

#if PGVIGIL_QUIET_READ
// Hands op to s's reactor as a read, speculation allowed (tried at once
// unless SetSpeculative said otherwise). s is open.
void StartRead(WorkerSocket& s, boost::asio::detail::reactor_op* op);

// Asio's socket read operation with the read made by RecvNow. Its memory
// comes from the handler's allocator, as Asio's own does; the handler is
// called from the worker's io_context like any completion (the reactor posts
// the operation, also when it completes at once).
template <typename Handler>
class RawReadOp : public boost::asio::detail::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(RawReadOp);

  template <typename H>
  RawReadOp(int fd, void* p, size_t n, H&& h)
      : reactor_op(boost::system::error_code(), &Perform, &Complete),
        fd_(fd),
        p_(p),
        n_(n),
        handler_(std::forward<H>(h)) {}

  static status Perform(reactor_op* base) {
    auto* o = static_cast<RawReadOp*>(base);
    if (!RecvNow(o->fd_, o->p_, o->n_, &o->ec_, &o->bytes_transferred_)) return not_done;
    // As Asio's stream read: nothing read (the end, an error) also tells the
    // reactor not to try the next read at once.
    return o->bytes_transferred_ == 0 ? done_and_exhausted : done;
  }

  // owner null: the io_context is being destroyed; free without calling.
  static void Complete(void* owner, boost::asio::detail::operation* base, const boost::system::error_code&,
                       size_t) {
    auto* o = static_cast<RawReadOp*>(base);
    ptr p = {std::addressof(o->handler_), o, o};
    // The handler and results out first: the memory goes back before the call.
    Handler handler(std::move(o->handler_));
    const boost::system::error_code ec = o->ec_;
    const size_t n = o->bytes_transferred_;
    p.h = std::addressof(handler);
    p.reset();
    if (owner) {
      boost::asio::detail::fenced_block b(boost::asio::detail::fenced_block::half);
      handler(ec, n);
    }
  }

 private:
  int fd_;
  void* p_;
  size_t n_;
  Handler handler_;
};
#endif
}  // namespace quiet_read_detail

class QuietRead {
 public:
  // Starts a read into [p, p + n). handler(ec, bytes) as for async_read_some;
  // call Completed(s, ec, bytes) first thing in it, and EnterHandler/LeaveHandler
  // around the work that may Start the next read.
  // Once per connection, after the socket is open: without it no read is quiet.
  // s must be non-blocking (non_blocking(true)) for the raw read.
  void Init(WorkerSocket& s) {
    hangups_ = quiet_read_detail::ReportHangups(s);
    raw_ = quiet_read_detail::Supported() && s.non_blocking();
  }
  template <typename Handler>
  void Start(WorkerSocket& s, void* p, size_t n, Handler&& h) {
    const bool quiet = hangups_ && drained_ && inHandler_ && writes_ == 0;
    if (quiet || forcedQuiet_) quiet_read_detail::SetSpeculative(s, !quiet);
    forcedQuiet_ = quiet;
    size_ = n;
    tainted_ = writes_ > 0;
    Read(s, p, n, std::forward<Handler>(h));
    trusted_ = quiet || quiet_read_detail::ReadQueued(s);
  }
  void Completed(WorkerSocket& s, const boost::system::error_code& ec, size_t n) {
    drained_ = trusted_ && !tainted_ && !ec && n > 0 && n < size_ && !quiet_read_detail::EndSeen(s);
    trusted_ = false;
  }
  // Start is quiet only between these, in the handler of the read that drained.
  void EnterHandler() { inHandler_ = true; }
  void LeaveHandler() { inHandler_ = false, drained_ = false; }
  // An asynchronous write on the same socket (the kernel did not take all at
  // once) started / finished.
  void AsyncWriteStarted() { ++writes_, tainted_ = true; }
  void AsyncWriteDone() { --writes_; }
  // Whether the last Start queued its read without trying it (for tests).
  bool lastWasQuiet() const { return forcedQuiet_; }
  // Whether reads go through RawReadOp (for tests).
  bool raw() const { return raw_; }

 private:
  template <typename Handler>
  void Read(WorkerSocket& s, void* p, size_t n, Handler&& h) {
#if PGVIGIL_QUIET_READ
    // Closed (no descriptor, no reactor data) or empty: Asio's own answer.
    if (raw_ && n > 0 && s.is_open()) {
      using H = std::decay_t<Handler>;
      using Op = quiet_read_detail::RawReadOp<H>;
      H& ref = h;
      typename Op::ptr op = {std::addressof(ref), Op::ptr::allocate(ref), nullptr};
      op.p = new (op.v) Op(s.native_handle(), p, n, std::forward<Handler>(h));
      quiet_read_detail::StartRead(s, op.p);
      op.v = op.p = nullptr;
      return;
    }
#endif
    s.async_read_some(boost::asio::buffer(p, n), std::forward<Handler>(h));
  }

  size_t size_ = 0;
  bool raw_ = false;          // reads go through RawReadOp (Init)
  bool hangups_ = false;      // the socket reports the peer's FIN (Init)
  int writes_ = 0;            // asynchronous writes in flight
  bool trusted_ = false;      // the read in flight completes straight after the reactor's recv
  bool tainted_ = false;      // an asynchronous write was in flight while it waited
  bool drained_ = false;      // the last read left the socket empty
  bool inHandler_ = false;    // inside that read's completion handler
  bool forcedQuiet_ = false;  // the last Start turned speculation off (restored on the next)
};

}  // namespace pgvigil::proxy
