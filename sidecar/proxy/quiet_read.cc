#include "sidecar/proxy/quiet_read.h"

#include <sys/epoll.h>


namespace pgvigil::proxy::quiet_read_detail {

#if PGVIGIL_QUIET_READ
namespace {

namespace ad = boost::asio::detail;
using Executor = boost::asio::io_context::executor_type;
using Socket = boost::asio::basic_socket<boost::asio::ip::tcp, Executor>;
using State = ad::epoll_reactor::descriptor_state;

// Pointers to members Asio keeps private: an explicit instantiation may name
// them (the standard exempts it from access checks), and the friend function
// hands the pointer out.
template <typename Tag, typename Tag::type M>
struct Expose {
  friend typename Tag::type Get(Tag) { return M; }
};
struct SocketImpl {
  using type = ad::io_object_impl<ad::reactive_socket_service<boost::asio::ip::tcp>, Executor> Socket::*;
  friend type Get(SocketImpl);
};
struct TrySpeculative {
  using type = bool (State::*)[ad::epoll_reactor::max_ops];
  friend type Get(TrySpeculative);
};
struct OpQueues {
  using type = ad::op_queue<ad::reactor_op> (State::*)[ad::epoll_reactor::max_ops];
  friend type Get(OpQueues);
};
struct Mutex {
  using type = ad::conditionally_enabled_mutex State::*;
  friend type Get(Mutex);
};
struct Reactor {
  using type = ad::epoll_reactor* State::*;
  friend type Get(Reactor);
};
struct Registered {
  using type = uint32_t State::*;
  friend type Get(Registered);
};
struct Descriptor {
  using type = int State::*;
  friend type Get(Descriptor);
};
struct EpollFd {
  using type = int ad::epoll_reactor::*;
  friend type Get(EpollFd);
};
struct TaskResult {
  using type = unsigned int ad::scheduler_operation::*;
  friend type Get(TaskResult);
};
template struct Expose<SocketImpl, &Socket::impl_>;
template struct Expose<Reactor, &State::reactor_>;
template struct Expose<Registered, &State::registered_events_>;
template struct Expose<Descriptor, &State::descriptor_>;
template struct Expose<EpollFd, &ad::epoll_reactor::epoll_fd_>;
template struct Expose<TaskResult, &ad::scheduler_operation::task_result_>;
template struct Expose<TrySpeculative, &State::try_speculative_>;
template struct Expose<OpQueues, &State::op_queue_>;
template struct Expose<Mutex, &State::mutex_>;

State* DescriptorOf(WorkerSocket& s) {
  Socket& base = s;
  return (base.*Get(SocketImpl())).get_implementation().reactor_data_;
}

}  // namespace

bool Supported() { return true; }

void SetSpeculative(WorkerSocket& s, bool speculative) {
  State* d = DescriptorOf(s);
  if (!d) return;
  ad::conditionally_enabled_mutex::scoped_lock l(d->*Get(Mutex()));
  (d->*Get(TrySpeculative()))[ad::epoll_reactor::read_op] = speculative;
}

bool ReportHangups(WorkerSocket& s) {
  State* d = DescriptorOf(s);
  if (!d) return false;
  ad::conditionally_enabled_mutex::scoped_lock l(d->*Get(Mutex()));
  uint32_t& events = d->*Get(Registered());
  if (events == 0) return false;  // not registered for events (Asio gave up on it)
  if (events & EPOLLRDHUP) return true;
  epoll_event ev = {};
  ev.events = events | EPOLLRDHUP;
  ev.data.ptr = d;
  if (::epoll_ctl((d->*Get(Reactor()))->*Get(EpollFd()), EPOLL_CTL_MOD, d->*Get(Descriptor()), &ev) != 0)
    return false;
  events = ev.events;  // Asio's own later EPOLL_CTL_MODs (for EPOLLOUT) keep it
  return true;
}

bool EndSeen(WorkerSocket& s) {
  State* d = DescriptorOf(s);
  if (!d) return true;
  // The events of the epoll_wait whose perform_io ran the read (Asio passes
  // them on as the descriptor operation's task result).
  // (A C-style cast may convert to a private base, [expr.cast].)
  const auto* op = (const ad::scheduler_operation*)d;
  return (op->*Get(TaskResult()) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
}

void StartRead(WorkerSocket& s, ad::reactor_op* op) {
  Socket& base = s;
  auto& impl = (base.*Get(SocketImpl())).get_implementation();
  // Open, so registered with the reactor (a socket Asio could not register
  // has no reactor data: the reactor posts bad_descriptor, as for its reads).
  ad::epoll_reactor::per_descriptor_data& d = impl.reactor_data_;
  if (!d) {
    op->ec_ = boost::asio::error::bad_descriptor;
    boost::asio::use_service<ad::epoll_reactor>(base.get_executor().context()).post_immediate_completion(op, false);
    return;
  }
  (d->*Get(Reactor()))->start_op(ad::epoll_reactor::read_op, impl.socket_, d, op, false, true);
}

bool ReadQueued(WorkerSocket& s) {
  State* d = DescriptorOf(s);
  if (!d) return false;
  ad::conditionally_enabled_mutex::scoped_lock l(d->*Get(Mutex()));
  return !(d->*Get(OpQueues()))[ad::epoll_reactor::read_op].empty();
}

#else

bool Supported() { return false; }
bool ReportHangups(WorkerSocket&) { return false; }
bool EndSeen(WorkerSocket&) { return true; }
void SetSpeculative(WorkerSocket&, bool) {}
bool ReadQueued(WorkerSocket&) { return false; }

#endif

}  // namespace pgvigil::proxy::quiet_read_detail
