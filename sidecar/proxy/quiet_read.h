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
#pragma once

#include <cstddef>
#include <utility>

#include <boost/asio.hpp>

#include "sidecar/proxy/worker_socket.h"

namespace pgvigil::proxy {

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
}  // namespace quiet_read_detail

class QuietRead {
 public:
  // Starts a read into [p, p + n). handler(ec, bytes) as for async_read_some;
  // call Completed(s, ec, bytes) first thing in it, and EnterHandler/LeaveHandler
  // around the work that may Start the next read.
  // Once per connection, after the socket is open: without it no read is quiet.
  void Init(WorkerSocket& s) { hangups_ = quiet_read_detail::ReportHangups(s); }
  template <typename Handler>
  void Start(WorkerSocket& s, void* p, size_t n, Handler&& h) {
    const bool quiet = hangups_ && drained_ && inHandler_ && writes_ == 0;
    if (quiet || forcedQuiet_) quiet_read_detail::SetSpeculative(s, !quiet);
    forcedQuiet_ = quiet;
    size_ = n;
    tainted_ = writes_ > 0;
    s.async_read_some(boost::asio::buffer(p, n), std::forward<Handler>(h));
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

 private:
  size_t size_ = 0;
  bool hangups_ = false;      // the socket reports the peer's FIN (Init)
  int writes_ = 0;            // asynchronous writes in flight
  bool trusted_ = false;      // the read in flight completes straight after the reactor's recv
  bool tainted_ = false;      // an asynchronous write was in flight while it waited
  bool drained_ = false;      // the last read left the socket empty
  bool inHandler_ = false;    // inside that read's completion handler
  bool forcedQuiet_ = false;  // the last Start turned speculation off (restored on the next)
};

}  // namespace pgvigil::proxy
