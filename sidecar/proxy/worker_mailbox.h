// The one way into a worker's event loop from another thread: other threads
// do not post to a worker's io_context, stop it or touch its sockets and
// timers (they run without any of Asio's locks, see kWorkerConcurrencyHint).
// Instead one hands a function to the worker's mailbox: a queue under a mutex
// of its own, and an eventfd the loop reads (a stream_descriptor with a read
// pending), written only when the queue goes from empty to not empty. The
// loop runs what it finds in the order it was queued (so in order per
// poster), each function exactly once.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/basic_stream_descriptor.hpp>

namespace pgvigil::proxy {

// The workers' io_contexts: without the scheduler's lock and the reactor's
// (about 230 fewer instructions per transaction, bench/README.md). Every
// Asio facility used on them runs on the loop's own thread only. Asio's
// tcp::resolver cannot be among them: in Boost 1.74 its lookups run on a
// private thread that posts back into the scheduler, and with this hint it
// refuses every async_resolve ("Operation not supported"). A backend's host
// name (Kubernetes: demo-0.demo-hl.db.svc) is looked up by the worker's
// HostResolver instead (host_resolver.h), on a thread of its own that answers
// through this mailbox (WorkerLoopTest.ResolvesAHostName,
// ProxyHostNameTest.ReachesBackendsNamedByHostName).
inline constexpr int kWorkerConcurrencyHint = BOOST_ASIO_CONCURRENCY_HINT_UNSAFE;

class WorkerMailbox {
 public:
  // Opens the eventfd and starts the pending read; call on the loop's thread
  // or before it runs. Throws std::system_error when no eventfd can be made.
  explicit WorkerMailbox(boost::asio::io_context& io);
  ~WorkerMailbox();
  WorkerMailbox(const WorkerMailbox&) = delete;
  WorkerMailbox& operator=(const WorkerMailbox&) = delete;

  // Any thread. f runs on the loop's thread, after what was posted before it.
  // Never run if the loop never reads again (stopped for good): f is then
  // destroyed with the mailbox or its io_context.
  void Post(std::function<void()> f);

 private:
  void Read();
  void Deliver();

  int fd_ = -1;
  boost::asio::posix::basic_stream_descriptor<boost::asio::io_context::executor_type> desc_;
  uint64_t counter_ = 0;  // the eventfd's value, read by the pending read (loop thread)
  std::vector<std::function<void()>> running_;  // loop thread only

  std::mutex mu_;
  std::vector<std::function<void()>> queue_;  // guarded by mu_
  bool signalled_ = false;                    // guarded by mu_: the eventfd was written since the last take
};

}  // namespace pgvigil::proxy
