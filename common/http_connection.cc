// One HTTP connection: TLS handshake (when configured), then request after
// request: headers under a size cap and a deadline, the admission check, the
// body under a size cap and the whole-request deadline, the handler on the
// worker pool, the response under a write deadline, keep-alive under the idle
// timeout. Every step runs on the connection's strand; the object lives as long
// as an operation or a handler holds it.
#include "common/http_connection.h"

#include <algorithm>
#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "common/logging.h"

namespace pgvigil {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 4096;
// After a response that closes the connection while the client may still be
// sending (a refused body), read and drop at most this much for at most
// kDrainTime, so the client sees the response rather than a reset.
constexpr size_t kDrainBytes = 256 * 1024;
constexpr std::chrono::milliseconds kDrainTime{1000};
constexpr size_t kKeepBufferBytes = 64 * 1024;

// A parse error in what the client sent (not the client going away).
bool IsMalformed(beast::error_code ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

template <class Stream>
class Connection : public HttpConnectionBase,
                   public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Connection(std::shared_ptr<HttpServer::Core> core, Stream stream)
      : core_(std::move(core)), stream_(std::move(stream)) {
    beast::error_code ec;
    auto ep = Tcp().socket().remote_endpoint(ec);
    peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~Connection() override { core_->open--; }

  void Start() override {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }
  void Cancel() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->CloseNow(); });
  }

 private:
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  const HttpServerLimits& limits() const { return core_->limits; }

  void Begin() {
    // A new connection must deliver its (TLS handshake and) headers in time.
    Tcp().expires_after(limits().headerTimeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Dropped(ec, "TLS handshake");
                                self->ReadHeader();
                              });
    } else {
      ReadHeader();
    }
  }

  // Keep-alive: wait (idleTimeout) for the first byte of the next request.
  void AwaitNext() {
    if (core_->stopping) return CloseNow();
    if (buffer_.size() == 0 && buffer_.capacity() > kKeepBufferBytes) buffer_.shrink_to_fit();
    if (buffer_.size() > 0) {  // pipelined: already here
      Tcp().expires_after(limits().headerTimeout);
      return ReadHeader();
    }
    Tcp().expires_after(limits().idleTimeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Dropped(ec, "idle keep-alive");
                              self->buffer_.commit(n);
                              self->Tcp().expires_after(self->limits().headerTimeout);
                              self->ReadHeader();
                            });
  }

  // Reads the request line and headers; the deadline is already set.
  void ReadHeader() {
    requestStart_ = Clock::now();
    head_ = ApiRequest();
    isHead_ = false;
    bodyPending_ = false;
    keepAlive_ = false;
    version_ = 11;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits().maxHeaderBytes));
    parser_->body_limit(limits().maxBodyBytes);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      core_->Note("header_limit", "closed " + peer_ + ": request headers larger than " +
                                      std::to_string(limits().maxHeaderBytes) + " bytes");
      return Refuse(431, "request headers larger than " + std::to_string(limits().maxHeaderBytes) +
                             " bytes");
    }
    if (ec == http::error::body_limit) return BodyTooLarge();  // Content-Length says so
    if (ec == beast::error::timeout) {
      core_->Note("header_timeout", "closed " + peer_ + ": request headers not complete within " +
                                        std::to_string(limits().headerTimeout.count()) + " ms");
      return CloseNow();
    }
    if (ec && IsMalformed(ec)) {
      core_->Note("malformed", "refused " + peer_ + ": malformed request: " + ec.message());
      return Refuse(400, "malformed request: " + ec.message());
    }
    if (ec) return Dropped(ec, "reading headers");
    auto& req = parser_->get();
    version_ = req.version();
    head_.method = std::string(req.method_string());
    isHead_ = req.method() == http::verb::head;
    if (Status s = ParseRequestTarget(std::string(req.target()), &head_.path, &head_.query); !s.ok())
      return Refuse(400, s.message());
    if (auto auth = req.find(http::field::authorization); auth != req.end())
      head_.authorization = std::string(auth->value());
    auto length = parser_->content_length();
    bodyPending_ = parser_->chunked() || (length && *length > 0);
    keepAlive_ = req.keep_alive();
    if (core_->admit) {
      std::optional<ApiResponse> refusal;
      try {
        refusal = core_->admit(head_);
      } catch (const std::exception& e) {
        refusal = ErrorResponse(500, std::string("internal error: ") + e.what());
      }
      if (refusal) {
        if (bodyPending_) keepAlive_ = false;  // the body stays unread
        return Write(std::move(*refusal));
      }
    }
    if (!bodyPending_) return Dispatch();
    Tcp().expires_at(requestStart_ + limits().requestTimeout);
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
      continue_.emplace(http::status::continue_, version_);
      http::async_write(stream_, *continue_,
                        [self = this->shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->Dropped(ec, "writing 100 Continue");
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->OnBody(ec);
                     });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) return BodyTooLarge();
    if (ec == beast::error::timeout) {
      core_->Note("request_timeout", "closed " + peer_ + ": request not complete within " +
                                         std::to_string(limits().requestTimeout.count()) + " ms");
      return CloseNow();
    }
    if (ec && IsMalformed(ec)) {
      bodyPending_ = true;
      return Refuse(400, "malformed body: " + ec.message(), "body");
    }
    if (ec) return Dropped(ec, "reading the body");
    bodyPending_ = false;
    head_.body = std::move(parser_->get().body());
    Dispatch();
  }

  void BodyTooLarge() {
    core_->Note("body_limit", "refused " + peer_ + ": request body larger than " +
                                  std::to_string(limits().maxBodyBytes) + " bytes");
    bodyPending_ = true;
    Refuse(413, "body larger than " + std::to_string(limits().maxBodyBytes) + " bytes", "body");
  }

  // Runs the handler on the worker pool, then writes its answer here. The work
  // guard keeps the I/O thread running until the answer is back.
  void Dispatch() {
    if (core_->stopping) return CloseNow();
    Tcp().expires_never();
    parser_.reset();
    auto guard = net::make_work_guard(core_->ioc);
    net::post(*core_->workers, [self = this->shared_from_this(), req = std::move(head_),
                                guard = std::move(guard)]() mutable {
      ApiResponse r = self->CallHandler(req);
      auto exec = self->stream_.get_executor();
      net::post(exec, [self = std::move(self), r = std::move(r), guard = std::move(guard)]() mutable {
        self->Write(std::move(r));
      });
    });
  }

  ApiResponse CallHandler(const ApiRequest& req) {
    try {
      return core_->handler(req);
    } catch (const std::exception& e) {
      spdlog::error("{}: REST {} {} failed: {}", core_->name, LogEscape(req.method),
                    LogEscape(req.path), e.what());
      return ErrorResponse(500, std::string("internal error: ") + e.what());
    } catch (...) {
      spdlog::error("{}: REST {} {} failed with an unknown exception", core_->name,
                    LogEscape(req.method), LogEscape(req.path));
      return ErrorResponse(500, "internal error");
    }
  }

  // An error answer after which the connection closes.
  void Refuse(int status, const std::string& reason, const std::string& field = "") {
    keepAlive_ = false;
    Write(ErrorResponse(status, reason, field));
  }

  void Write(ApiResponse r) {
    if (core_->stopping) keepAlive_ = false;
    response_.emplace();
    response_->version(version_ == 10 ? 10 : 11);
    response_->result(static_cast<unsigned>(r.status));
    response_->set(http::field::content_type, r.contentType);
    response_->set(http::field::cache_control, "no-store");
    if (isHead_) {
      response_->content_length(r.body.size());  // what GET would send; no body
    } else {
      response_->body() = std::move(r.body);
      response_->prepare_payload();
    }
    response_->keep_alive(keepAlive_);
    Tcp().expires_after(limits().requestTimeout);
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->response_.reset();
                        if (ec) return self->Dropped(ec, "writing the response");
                        if (!self->keepAlive_) return self->Finish();
                        self->AwaitNext();
                      });
  }

  // Closes after a response: TLS close_notify, or for plain TCP half-close and
  // drain what the client may still send (bounded), then close: closing with
  // unread input would reset the connection, and the client could lose the answer.
  void Finish() {
    Tcp().expires_after(kDrainTime);
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->CloseNow(); });
    } else {
      beast::error_code ec;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return CloseNow();
      Drain();
    }
  }

  void Drain() {
    drainBuffer_.resize(kReadChunk);
    Tcp().async_read_some(net::buffer(drainBuffer_),
                          [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                            self->drained_ += n;
                            if (ec || self->drained_ >= kDrainBytes) return self->CloseNow();
                            self->Drain();
                          });
  }

  // The client went away or a read failed: close quietly (debug log only).
  void Dropped(beast::error_code ec, const char* during) {
    if (ec == beast::error::timeout) {
      if (std::string(during) != "idle keep-alive")
        core_->Note("timeout", "closed " + peer_ + ": timed out " + during);
    } else if (ec != http::error::end_of_stream && ec != net::error::operation_aborted &&
               ec != net::error::eof) {
      spdlog::debug("{}: REST connection from {} closed while {}: {}", core_->name, peer_, during,
                    ec.message());
    }
    CloseNow();
  }

  void CloseNow() {
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    Tcp().close();
  }

  std::shared_ptr<HttpServer::Core> core_;
  Stream stream_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> response_;
  std::vector<char> drainBuffer_;
  size_t drained_ = 0;
  ApiRequest head_;
  Clock::time_point requestStart_;
  unsigned version_ = 11;
  bool bodyPending_ = false;  // a body was announced and not (fully) read
  bool isHead_ = false;
  bool keepAlive_ = false;
};

}  // namespace

void HttpServer::Core::Note(const std::string& kind, const std::string& what) {
  auto now = std::chrono::steady_clock::now();
  uint64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(noteMu_);
    NoteState& s = notes_[kind];
    if (s.last.time_since_epoch().count() != 0 && now - s.last < std::chrono::seconds(10)) {
      ++s.suppressed;
      return;
    }
    suppressed = s.suppressed;
    s.suppressed = 0;
    s.last = now;
  }
  if (suppressed > 0)
    spdlog::warn("{}: REST {} ({} more like it in the last 10 s)", name, LogEscape(what),
                 suppressed);
  else
    spdlog::warn("{}: REST {}", name, LogEscape(what));
}

void StartHttpConnection(const std::shared_ptr<HttpServer::Core>& core, tcp::socket socket) {
  core->open++;
  std::shared_ptr<HttpConnectionBase> c;
  if (core->tls) {
    c = std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
        core, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *core->tls));
  } else {
    c = std::make_shared<Connection<beast::tcp_stream>>(core, beast::tcp_stream(std::move(socket)));
  }
  {
    std::lock_guard<std::mutex> lock(core->connectionsMu);
    auto& v = core->connections;
    v.erase(std::remove_if(v.begin(), v.end(), [](const auto& w) { return w.expired(); }), v.end());
    v.push_back(c);
  }
  c->Start();
}

}  // namespace pgvigil
