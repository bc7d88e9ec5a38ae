// The socket type of the proxy's client and backend connections. Bound to the
// worker's io_context executor type instead of tcp::socket's type-erased
// any_io_executor: every read's operation then holds and completes through
// the plain io_context executor (no any_executor copy, type check and
// work-tracking call per read; two reads per transaction).
#pragma once

#include <boost/asio.hpp>

namespace pgvigil::proxy {

using WorkerSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

}  // namespace pgvigil::proxy
