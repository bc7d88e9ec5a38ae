#include "common/http_server.h"

#include <algorithm>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/http_connection.h"

namespace pgvigil {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

HttpServerLimits LimitsFromSpec(const ApiSpec& api) {
  HttpServerLimits l;
  l.headerTimeout = api.headerTimeout;
  l.requestTimeout = api.requestTimeout;
  l.idleTimeout = api.idleTimeout;
  l.maxConnections = static_cast<size_t>(api.maxConnections);
  return l;
}

HttpServer::HttpServer(std::string name, std::string listen, int port, TlsSpec tls, Handler handler,
                       Admit admit, HttpServerLimits limits)
    : name_(std::move(name)), listen_(std::move(listen)), port_(port), tls_(std::move(tls)) {
  core_ = std::make_shared<Core>();
  core_->name = name_;
  core_->handler = std::move(handler);
  core_->admit = std::move(admit);
  core_->limits = limits;
}

HttpServer::~HttpServer() { Stop(); }

size_t HttpServer::openConnections() const { return core_ ? core_->open.load() : 0; }

namespace {

void Accept(const std::shared_ptr<HttpServer::Core>& core) {
  core->acceptor.async_accept(
      net::make_strand(core->ioc), [core](boost::system::error_code ec, tcp::socket socket) {
        if (core->stopping || ec == net::error::operation_aborted) return;
        if (ec) {
          // Out of descriptors (or similar): pause instead of spinning.
          core->Note("accept", "accept failed: " + ec.message() + "; retrying in 100 ms");
          core->acceptRetry.expires_after(std::chrono::milliseconds(100));
          core->acceptRetry.async_wait([core](boost::system::error_code wait_ec) {
            if (!wait_ec && !core->stopping) Accept(core);
          });
          return;
        }
        if (core->open.load() >= core->limits.maxConnections) {
          core->Note("max_connections", "closed a new connection: " +
                                            std::to_string(core->limits.maxConnections) +
                                            " connections are open (api.maxConnections)");
          boost::system::error_code ignored;
          socket.close(ignored);
        } else {
          StartHttpConnection(core, std::move(socket));
        }
        Accept(core);
      });
}

Result<tcp::endpoint> ListenEndpoint(net::io_context& ioc, const std::string& listen, int port) {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(listen, ec);
  if (!ec) return tcp::endpoint(addr, static_cast<unsigned short>(port));
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(listen, std::to_string(port), ec);
  if (ec || results.empty())
    return Status::Error("cannot resolve listen address '" + listen + "': " + ec.message());
  return results.begin()->endpoint();
}

}  // namespace

Status HttpServer::Start() {
  if (core_->ioThread.joinable()) return Status::Error("already started");
  std::string host = listen_;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  std::string scheme = tls_.enabled() ? "https" : "http";
  if (tls_.enabled()) {
    // Fail at start, not at the first handshake, when the files are unusable.
    if (Status s = CheckSecretFileMode(tls_.keyFile); !s.ok()) return s.Context("REST TLS key");
    try {
      auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
      ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      ctx->use_certificate_chain_file(tls_.certFile);
      ctx->use_private_key_file(tls_.keyFile, ssl::context::pem);
      core_->tls = std::move(ctx);
    } catch (const std::exception& e) {
      return Status::Error("REST TLS certificate " + tls_.certFile + " / key " + tls_.keyFile + ": " +
                           e.what());
    }
  }
  auto ep = ListenEndpoint(core_->ioc, listen_, port_);
  if (!ep.ok()) return ep.status();
  boost::system::error_code ec;
  auto& acceptor = core_->acceptor;
  std::string where = scheme + "://" + host + ":" + std::to_string(port_);
  if (acceptor.open(ep->protocol(), ec) ||
      acceptor.set_option(net::socket_base::reuse_address(true), ec) || acceptor.bind(*ep, ec) ||
      acceptor.listen(net::socket_base::max_listen_connections, ec)) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Status::Error("REST listener on " + where + ": " + ec.message());
  }
  boundPort_ = acceptor.local_endpoint(ec).port();
  url_ = scheme + "://" + host + ":" + std::to_string(boundPort_);
  core_->stopping = false;
  core_->ioc.restart();
  core_->workers = std::make_unique<net::thread_pool>(
      static_cast<size_t>(std::max(1, core_->limits.handlerThreads)));
  core_->work.emplace(net::make_work_guard(core_->ioc));
  Accept(core_);
  auto core = core_;
  core_->ioThread = std::thread([core] {
    for (;;) {
      try {
        core->ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("{}: REST I/O loop: {}", core->name, e.what());
      }
    }
  });
  spdlog::info("{}: REST API listening on {}", name_, url_);
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!core_ || !core_->ioThread.joinable()) return;
  auto core = core_;
  core->stopping = true;
  net::post(core->ioc, [core] {
    boost::system::error_code ignored;
    core->acceptor.close(ignored);
    core->acceptRetry.cancel();
    std::vector<std::shared_ptr<HttpConnectionBase>> live;
    {
      std::lock_guard<std::mutex> lock(core->connectionsMu);
      for (auto& w : core->connections)
        if (auto c = w.lock()) live.push_back(std::move(c));
      core->connections.clear();
    }
    for (auto& c : live) c->Cancel();
  });
  // The loop ends once every connection has closed and every running handler
  // has handed its answer back (each holds a work guard).
  core->work.reset();
  core->ioThread.join();
  core->workers->join();
  core->workers.reset();
}

}  // namespace pgvigil
