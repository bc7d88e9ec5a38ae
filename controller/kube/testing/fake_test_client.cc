#include "controller/kube/testing/fake_test_client.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace pgvigil::kube::fake {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

struct Conn {
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream;
};

void Open(Conn* c, int port, const std::string& ca, const std::string& cert, const std::string& key,
          std::chrono::milliseconds read_limit) {
  c->ctx.load_verify_file(ca);
  c->ctx.set_verify_mode(ssl::verify_peer);
  if (!cert.empty()) {
    c->ctx.use_certificate_chain_file(cert);
    c->ctx.use_private_key_file(key, ssl::context::pem);
  }
  c->stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(c->ioc, c->ctx);
  auto& sock = beast::get_lowest_layer(*c->stream).socket();
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  timeval tv{static_cast<time_t>(read_limit.count() / 1000), static_cast<suseconds_t>((read_limit.count() % 1000) * 1000)};
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  c->stream->handshake(ssl::stream_base::client);
}

http::request<http::string_body> Request(const std::string& method, const std::string& target, const std::string& body,
                                         const std::string& ct, const std::string& token) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(http::field::content_type, ct);
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  return req;
}

}  // namespace

HttpResult FakeClient::Call(const std::string& method, const std::string& target, const std::string& body,
                            const std::string& content_type) const {
  HttpResult out;
  try {
    Conn c;
    Open(&c, port_, ca_, cert_, key_, std::chrono::seconds(10));
    http::write(*c.stream, Request(method, target, body, content_type, token_));
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(*c.stream, buf, res);
    out.status = res.result_int();
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
    try {
      out.json = web::json::value::parse(out.body);
    } catch (const std::exception&) {
      out.json = web::json::value::null();
    }
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

WatchResult FakeClient::Watch(const std::string& target, size_t max_events, std::chrono::milliseconds limit) const {
  WatchResult out;
  try {
    Conn c;
    Open(&c, port_, ca_, cert_, key_, limit);
    http::write(*c.stream, Request("GET", target, "", "", token_));
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read_header(*c.stream, buf, parser);
    out.opened = parser.get().result_int() == 200;
    size_t used = 0;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (out.events.size() < max_events && std::chrono::steady_clock::now() < deadline) {
      if (parser.is_done()) {
        out.clean = true;
        break;
      }
      beast::error_code ec;
      http::read_some(*c.stream, buf, parser, ec);
      std::string& body = parser.get().body();
      size_t nl;
      while ((nl = body.find('\n', used)) != std::string::npos && out.events.size() < max_events) {
        out.events.push_back(web::json::value::parse(body.substr(used, nl - used)));
        used = nl + 1;
      }
      if (parser.is_done()) out.clean = true;
      if (ec) break;
    }
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace pgvigil::kube::fake
