#include "sidecar/proxy/worker_mailbox.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <iterator>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>

namespace pgvigil::proxy {

namespace {

int MakeEventFd() {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "proxy worker mailbox: eventfd");
  return fd;
}

}  // namespace

WorkerMailbox::WorkerMailbox(boost::asio::io_context& io) : fd_(MakeEventFd()), desc_(io.get_executor(), fd_) {
  Read();
}

// The descriptor closes the eventfd; a read still pending ends with
// operation_aborted (and touches nothing of this object then).
WorkerMailbox::~WorkerMailbox() = default;

void WorkerMailbox::Post(std::function<void()> f) {
  std::lock_guard<std::mutex> l(mu_);
  queue_.push_back(std::move(f));
  if (signalled_) return;  // the loop has a wake-up coming and takes the whole queue with it
  signalled_ = true;
  const uint64_t one = 1;
  // Cannot fail short of a counter near 2^64 or a closed descriptor (the
  // mailbox destroyed: a caller's bug).
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
}

void WorkerMailbox::Read() {
  desc_.async_read_some(boost::asio::buffer(&counter_, sizeof counter_),
                        [this](const boost::system::error_code& ec, size_t) {
                          if (ec == boost::asio::error::operation_aborted) return;
                          if (ec) {
                            spdlog::error("proxy: worker mailbox read failed: {}", ec.message());
                            return;
                          }
                          Deliver();
                        });
}

void WorkerMailbox::Deliver() {
  {
    // The eventfd was read (reset) before this: a Post from now on writes it
    // again, and one between that read and here is taken now.
    std::lock_guard<std::mutex> l(mu_);
    running_.swap(queue_);
    signalled_ = false;
  }
  Read();  // reading again before anything runs: a function that throws leaves the mailbox working
  size_t i = 0;
  try {
    for (; i < running_.size(); ++i) {
      std::function<void()> f = std::move(running_[i]);
      f();
    }
  } catch (...) {
    // What was not run yet goes back to the front of the queue, before what
    // was posted meanwhile, and the loop is woken for it.
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.insert(queue_.begin(), std::make_move_iterator(running_.begin() + i + 1),
                    std::make_move_iterator(running_.end()));
      if (!queue_.empty() && !signalled_) {
        signalled_ = true;
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
      }
    }
    running_.clear();
    throw;
  }
  running_.clear();
}

}  // namespace pgvigil::proxy
