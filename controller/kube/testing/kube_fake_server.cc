// kube-fake's transport: a listening socket on 127.0.0.1, TLS (Boost.Beast on
// asio SSL streams), one thread per connection, keep-alive, chunked watch
// responses, and the faults that act on connections (down, dropped watches).
#include <arpa/inet.h>
#include <algorithm>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>
#include <sstream>

#include "controller/kube/testing/kube_fake_http.h"
#include "controller/kube/testing/statefulset_sim.h"

namespace pgvigil::kube::fake {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {
ssl::context& Ctx(void* p) { return *static_cast<ssl::context*>(p); }
}  // namespace

KubeFake::KubeFake(const FakeOptions& options) : options_(options), store_(options.historyLimit) {}

Result<std::unique_ptr<KubeFake>> KubeFake::Start(const FakeOptions& options) {
  std::unique_ptr<KubeFake> f(new KubeFake(options));
  for (const auto& t : BuiltinTypes()) f->store_.AddType(t);
  if (!options.crdFile.empty()) {
    std::ifstream in(options.crdFile);
    if (!in) return Result<std::unique_ptr<KubeFake>>::Error("cannot read " + options.crdFile);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string error;
    auto t = TypeFromCrd(ss.str(), &error);
    if (!t) return Result<std::unique_ptr<KubeFake>>::Error(options.crdFile + ": " + error);
    f->store_.AddType(*t);
  }
  ObjectStore* store = &f->store_;
  f->store_.SetAfterWrite([store] { ReconcileStatefulSets(store); });
  auto pki = MakeTestPki(options.pkiDir, options.clientCommonName);
  if (!pki.ok()) return pki.status();
  f->pki_ = *pki;
  try {
    auto* ctx = new ssl::context(ssl::context::tls_server);
    f->sslContext_ = ctx;
    ctx->use_certificate_chain_file(f->pki_.serverCert);
    ctx->use_private_key_file(f->pki_.serverKey, ssl::context::pem);
    ctx->load_verify_file(f->pki_.caCert);
    ctx->set_verify_mode(ssl::verify_peer);  // a client certificate is optional
  } catch (const std::exception& e) {
    return Result<std::unique_ptr<KubeFake>>::Error(std::string("TLS set-up: ") + e.what());
  }
  Status st = f->Listen();
  if (!st.ok()) return st;
  KubeFake* raw = f.get();
  f->acceptor_ = std::thread([raw] { raw->AcceptLoop(); });
  return f;
}

Status KubeFake::Listen() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error("socket failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port_));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return Status::Error("cannot listen on 127.0.0.1:" + std::to_string(port_));
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  std::lock_guard<std::mutex> lock(mu_);
  listenFd_ = fd;
  return Status::Ok();
}

void KubeFake::AcceptLoop() {
  while (!stopping_) {
    int lfd;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lfd = listenFd_;
    }
    if (lfd < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || down_) {
      ::close(fd);
      continue;
    }
    connections_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void KubeFake::CutConnections() {
  for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
}

void KubeFake::Serve(int fd) {
  net::io_context ioc;
  beast::ssl_stream<beast::tcp_stream> stream(ioc, Ctx(sslContext_));
  try {
    beast::get_lowest_layer(stream).socket().assign(tcp::v4(), fd);
    stream.handshake(ssl::stream_base::server);
    std::string peer;
    if (X509* cert = SSL_get1_peer_certificate(stream.native_handle())) {
      if (SSL_get_verify_result(stream.native_handle()) == X509_V_OK) {
        char cn[256] = {0};
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
        peer = cn;
      }
      X509_free(cert);
    }
    beast::flat_buffer buffer;
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(8 << 20);
      http::read(stream, buffer, parser);
      auto& req = parser.get();
      FakeRequest r;
      r.method = std::string(req.method_string());
      std::string target(req.target());
      size_t qm = target.find('?');
      r.path = target.substr(0, qm);
      if (qm != std::string::npos) {
        r.rawQuery = target.substr(qm + 1);
        r.query = ParseQuery(r.rawQuery);
      }
      r.userAgent = std::string(req[http::field::user_agent]);
      r.authorization = std::string(req[http::field::authorization]);
      r.contentType = std::string(req[http::field::content_type]);
      r.body = req.body();
      r.peerCommonName = peer;
      Outcome out = HttpExchange::Handle(*this, r);
      requestLog_.Record({out.user, r.userAgent, r.method, r.path, r.rawQuery, out.reply.code,
                          out.reply.code >= 400 ? StringField(out.reply.body, "reason") : "", out.watch});
      if (out.watch) {
        http::response<http::empty_body> res{http::status::ok, req.version()};
        res.set(http::field::content_type, "application/json");
        res.chunked(true);
        http::response_serializer<http::empty_body> sr{res};
        http::write_header(stream, sr);
        bool clean = HttpExchange::Watch(*this, r, out.route, [&](const std::string& line) {
          beast::error_code ec;
          net::write(stream, http::make_chunk(net::buffer(line)), ec);
          return !ec;
        });
        if (clean) net::write(stream, http::make_chunk_last());
        break;  // a watch ends its connection
      }
      http::response<http::string_body> res{static_cast<http::status>(out.reply.code), req.version()};
      res.set(http::field::content_type, "application/json");
      for (const auto& [k, v] : out.reply.headers) res.set(k, v);
      res.body() = out.reply.body.is_null() ? "" : out.reply.body.serialize();
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(stream, res);
      if (!req.keep_alive()) break;
    }
  } catch (const std::exception&) {
    // the peer went away, the connection was cut, or TLS failed: end this connection
  }
  beast::error_code ec;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
  std::lock_guard<std::mutex> lock(mu_);
  connections_.erase(std::remove(connections_.begin(), connections_.end(), fd), connections_.end());
}

KubeFake::~KubeFake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (listenFd_ >= 0) ::shutdown(listenFd_, SHUT_RDWR);
    CutConnections();
    changed_.notify_all();
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  if (listenFd_ >= 0) ::close(listenFd_);
  delete static_cast<ssl::context*>(sslContext_);
}

void KubeFake::AllowToken(const std::string& token, std::optional<std::vector<PolicyRule>> rules,
                          const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_[token] = std::move(rules);
  tokenUsers_[token] = user;
}

void KubeFake::RevokeToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_.erase(token);
}

void KubeFake::AllowClientCert(const std::string& cn, std::optional<std::vector<PolicyRule>> rules) {
  std::lock_guard<std::mutex> lock(mu_);
  certs_[cn] = std::move(rules);
}

void KubeFake::SetLatency(std::chrono::milliseconds latency) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_ = latency;
}

void KubeFake::FailNext(int count, int code, int retry_after_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  failCount_ = count;
  failCode_ = code;
  retryAfter_ = retry_after_seconds;
}

void KubeFake::DropWatches() {
  std::lock_guard<std::mutex> lock(mu_);
  ++dropGeneration_;
  changed_.notify_all();
}

void KubeFake::Compact() {
  std::lock_guard<std::mutex> lock(mu_);
  store_.Compact();
  ++compactGeneration_;
  changed_.notify_all();
}

void KubeFake::SetDown(bool down) {
  std::unique_lock<std::mutex> lock(mu_);
  if (down == down_) return;
  down_ = down;
  changed_.notify_all();
  if (down) {
    if (listenFd_ >= 0) {
      ::shutdown(listenFd_, SHUT_RDWR);
      ::close(listenFd_);
      listenFd_ = -1;
    }
    CutConnections();
    return;
  }
  lock.unlock();
  Status st = Listen();  // the same port: clients reconnect to the same URL
  (void)st;
}

}  // namespace pgvigil::kube::fake
