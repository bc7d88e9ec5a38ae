#include "sidecar/proxy/backend_conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>

#include "sidecar/proxy/handler_memory.h"
#include "sidecar/proxy/send_now.h"
#include "sidecar/proxy/tx_backends.h"

namespace pgvigil::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// Keepalive probes after 5 s of silence, then every second, 3 unanswered probes
// end the connection; data unacknowledged for 10 s ends it too (TCP_USER_TIMEOUT).
// A backend whose host vanished (partition, power loss) is noticed within ~10 s
// instead of the kernel's two hours / fifteen minutes.
constexpr int kKeepIdleSec = 5, kKeepIntervalSec = 1, kKeepCount = 3;
constexpr unsigned kUserTimeoutMs = 10000;
// Connect + authentication + parameters, as a whole.
constexpr auto kLoginTimeout = std::chrono::seconds(5);
// Bytes asked for per backend read; also what the read buffer keeps when empty.
constexpr size_t kReadChunk = 8192;
}  // namespace

const char* BackendStateName(BackendState s) {
  switch (s) {
    case BackendState::kConnecting: return "connecting";
    case BackendState::kLogin: return "login";
    case BackendState::kReady: return "ready";
    case BackendState::kResetting: return "resetting";
    case BackendState::kIdle: return "idle";
    case BackendState::kClosed: return "closed";
  }
  return "?";
}

BackendConn::BackendConn(asio::io_context& io, BackendLogin login, int node, ScramKeyCache* keys,
                         HostResolver* resolver)
    : sock_(io), login_(std::move(login)), node_(node), keys_(keys), resolver_(resolver), loginTimer_(io) {}

BackendConn::~BackendConn() {
  boost::system::error_code ec;
  sock_.close(ec);
}

bool BackendConn::RefuseState(State to, const char* why) {
  spdlog::error("proxy: backend {}:{} refused state change {} -> {} ({})", login_.host, login_.port,
                BackendStateName(state_), BackendStateName(to), why);
  return false;
}

void BackendConn::SetSocketOptions() {
  boost::system::error_code ec;
  sock_.set_option(tcp::no_delay(true), ec);
  sock_.set_option(asio::socket_base::keep_alive(true), ec);
  sock_.non_blocking(true, ec);  // DoWrite tries SendNow first; would_block, never blocks
  read_.Init(sock_);
  int fd = sock_.native_handle();
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepIdleSec, sizeof kKeepIdleSec);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepIntervalSec, sizeof kKeepIntervalSec);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kKeepCount, sizeof kKeepCount);
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &kUserTimeoutMs, sizeof kUserTimeoutMs);
}

void BackendConn::Start(LoginCallback cb) {
  loginCb_ = std::move(cb);
  auto self = shared_from_this();
  loginTimer_.expires_after(kLoginTimeout);
  loginTimer_.async_wait([this, self](const boost::system::error_code& tec) {
    if (tec || (state_ != State::kConnecting && state_ != State::kLogin)) return;
    Close("connect and login to " + login_.host + ":" + std::to_string(login_.port) + " timed out after " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kLoginTimeout).count()) + " s");
  });
  // The answer holds this connection (as Asio's resolve handler did): closed
  // meanwhile (its session ended, the login timed out), it is dropped unread.
  auto resolved = [this, self](const boost::system::error_code& ec, Endpoints endpoints) {
    Connect(ec, std::move(endpoints));
  };
  const auto port = uint16_t(login_.port);
  if (resolver_) return resolver_->Resolve(login_.host, port, std::move(resolved));
  if (auto ep = NumericEndpoint(login_.host, port)) return resolved({}, Endpoints{*ep});
  resolved(asio::error::operation_not_supported, {});
}

void BackendConn::Connect(const boost::system::error_code& resolve_error, Endpoints endpoints) {
  if (state_ == State::kClosed) return;
  if (resolve_error) return FinishLogin("cannot resolve " + login_.host + ": " + resolve_error.message());
  endpoints_ = std::move(endpoints);
  // Each address in turn until one answers, as Asio's range connect does.
  asio::async_connect(sock_, endpoints_,
                      [this, self = shared_from_this()](const boost::system::error_code& ec, const tcp::endpoint& to) {
                        if (!ec) server_ = to;
                        OnConnected(ec);
                      });
}

void BackendConn::OnConnected(const boost::system::error_code& ec) {
  if (state_ == State::kClosed) return;
  if (ec) return FinishLogin("connect to " + login_.host + ":" + std::to_string(login_.port) + " failed: " +
                             ec.message());
  SetSocketOptions();
  SetState(State::kLogin, "connected");
  std::vector<std::pair<std::string, std::string>> p = {{"user", login_.user}, {"database", login_.database}};
  for (const auto& kv : login_.extraParams) p.push_back(kv);
  std::string startup;
  AppendStartup(&startup, p);
  Send(startup);
  DoRead();
}

void BackendConn::FinishLogin(const std::string& error, const ErrorFields* pg) {
  loginTimer_.cancel();
  if (!error.empty()) {
    if (state_ != State::kClosed) {
      SetState(State::kClosed, "login failed");
      boost::system::error_code ec;
      sock_.close(ec);
    }
  } else {
    SetState(State::kReady, "login complete");
  }
  if (loginCb_) {
    auto cb = std::move(loginCb_);
    loginCb_ = nullptr;
    cb(error, pg);
  }
}

void BackendConn::ClaimLent() {
  if (poolSlot) poolSlot->backends->Claim(this);
  lent = false;
}

void BackendConn::Send(const char* data, size_t n) {
  if (state_ == State::kClosed) return;
  if (lent) ClaimLent();
  out_.pending.append(data, n);
  if (out_.writing || writeScheduled_ || corked_) return;
  // Written after the current handler: the messages a session forwards one by
  // one from the same client read (Parse, Bind, Describe, Execute, Sync) leave
  // in one write.
  writeScheduled_ = true;
  asio::post(sock_.get_executor(), [this, self = shared_from_this()] {
    writeScheduled_ = false;
    if (!out_.writing) DoWrite();
  });
}

void BackendConn::Uncork() {
  if (!corked_) return;
  corked_ = false;
  if (!out_.writing && !writeScheduled_) DoWrite();
}

void BackendConn::DoWrite() {
  if (out_.pending.empty() || state_ == State::kClosed) {
    out_.writing = false;
    return;
  }
  out_.writing = true;
  // At once, without the reactor: on loopback the kernel takes the whole
  // buffer nearly always, and no completion handler is queued (each queued
  // handler costs the worker a pass through epoll_wait). What it does not
  // take is written asynchronously, as before.
  boost::system::error_code wec;
  if (SendPendingNow(sock_.native_handle(), &out_, &wec)) return;
  if (WriteFailed(wec)) {
    // Reported after the current handler, as an asynchronous write's error
    // would be: the caller may be in the middle of its own frame loop.
    asio::post(sock_.get_executor(), [this, self = shared_from_this(), wec] {
      out_.inflight.clear();
      out_.writing = false;
      if (state_ != State::kClosed) Close("write to backend failed: " + wec.message());
    });
    return;
  }
  read_.AsyncWriteStarted();
  // Only a write left to the reactor holds the connection (not the one done at once).
  asio::async_write(sock_, asio::buffer(out_.inflight),
                    [this, self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      read_.AsyncWriteDone();
                      out_.inflight.clear();
                      if (ec) {
                        out_.writing = false;
                        if (state_ != State::kClosed) Close("write to backend failed: " + ec.message());
                        return;
                      }
                      DoWrite();
                    });
}

void BackendConn::DoRead() {
  if (reading_ || paused_ || state_ == State::kClosed) return;
  reading_ = true;
  size_t avail = 0;
  uint8_t* p = in_.Prepare(kReadChunk, &avail);
  // Its operation from the thread's handler memory (see handler_memory.h); the
  // connection's reference made in the handler itself (no local copy).
  read_.Start(sock_, p, avail,
              UseHandlerMemory([this, self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                TxGrantScope::Run([&] {  // grants handed over as this returns
                  read_.Completed(sock_, ec, n);
                  read_.EnterHandler();
                  OnRead(ec, n);
                  read_.LeaveHandler();
                });
              }));
}

void BackendConn::ResumeReading() {
  if (!paused_) return;
  paused_ = false;
  // Frames already buffered first.
  OnRead({}, 0);
}

void BackendConn::OnRead(const boost::system::error_code& ec, size_t n) {
  if (n > 0 || ec) reading_ = false;
  if (state_ == State::kClosed) return;
  if (ec) {
    Close(ec == asio::error::eof ? "backend closed the connection" : "backend read failed: " + ec.message());
    return;
  }
  in_.Commit(n);
  Frame f;
  // Bytes of a run the owner wants frame by frame (not offered as a run again).
  size_t one_by_one = 0;
  while (state_ != State::kClosed && !paused_) {
    DecodeStatus st = decoder_.Next(in_.data(), in_.size(), &f);
    if (st == DecodeStatus::kNeedMore) break;
    if (st == DecodeStatus::kError) {
      Close("backend protocol error: " + decoder_.error());
      return;
    }
    bool keep_going = true;
    size_t size = f.size;
    switch (state_) {
      case State::kLogin: keep_going = HandleLoginFrame(f); break;
      case State::kResetting: keep_going = HandleResetFrame(f); break;
      case State::kReady:
        if (owner_) {
          if (one_by_one == 0 && PlainRelayType(f.type)) {
            const size_t run = size + PlainRunLength(in_.data() + size, in_.size() - size, decoder_.maxMessage());
            if (run > size) {
              BackendOwner::RunTaken taken = owner_->OnBackendRun(this, in_.data(), run);
              if (taken == BackendOwner::RunTaken::kOneByOne) {
                one_by_one = run;
              } else {
                if (taken == BackendOwner::RunTaken::kRelayedPause) paused_ = true;
                size = run;  // consumed as a whole below
                break;
              }
            }
          }
          keep_going = owner_->OnBackendFrame(this, f);
          if (!keep_going) paused_ = true;
          keep_going = true;
        } else {
          Close("unexpected message from a backend without a session");
          return;
        }
        break;
      case State::kIdle: Close("unexpected message from an idle pooled backend"); return;
      default: break;
    }
    if (state_ == State::kClosed) return;
    one_by_one = one_by_one > size ? one_by_one - size : 0;
    in_.Consume(size);
    if (!keep_going) break;
  }
  // The owner may still point into the read buffer until told the read is
  // done (ClientSession relays runs of messages in one piece): shrunk after.
  if (state_ == State::kReady && owner_) owner_->OnBackendReadDone(this);
  // Never below what DoRead asks for: shrinking to less made every read
  // reallocate (and zero) the buffer.
  if (in_.size() == 0) in_.Shrink(kReadChunk);
  DoRead();
}

bool BackendConn::HandleLoginFrame(const Frame& f) {
  switch (f.type) {
    case 'R': {
      uint32_t code = 0;
      std::string_view data;
      if (!ParseAuthRequest(f, &code, &data)) {
        FinishLogin("malformed authentication request from backend");
        return false;
      }
      std::string out;
      if (code == 0) return true;  // AuthenticationOk; parameters follow
      if (code == 3) {  // cleartext
        if (!login_.allowCleartext)
          return FinishLogin("backend asks for a cleartext password; refused, nothing sent "
                             "(spec.proxy.backendAuth.allowCleartext is false)"),
                 false;
        if (!login_.password) return FinishLogin("backend asks for a password; none known for user " + login_.user), false;
        AppendPasswordMessage(&out, *login_.password);
      } else if (code == 5) {  // md5
        if (!login_.allowMd5)
          return FinishLogin("backend asks for an md5 password; refused, nothing sent "
                             "(spec.proxy.backendAuth.allowMd5 is false)"),
                 false;
        std::string hash = login_.password ? Md5PasswordHash(*login_.password, login_.user) : login_.md5Hash;
        if (hash.empty() || data.size() != 4)
          return FinishLogin("backend asks for md5; no password known for user " + login_.user), false;
        AppendPasswordMessage(&out, Md5Response(hash, data));
      } else if (code == 10) {  // SASL
        if (data.find("SCRAM-SHA-256") == std::string_view::npos)
          return FinishLogin("backend offers no SCRAM-SHA-256"), false;
        if (!login_.password)
          return FinishLogin("backend asks for SCRAM; no password known for user " + login_.user), false;
        scram_ = std::make_unique<ScramClient>(*login_.password, keys_);
        AppendSaslInitial(&out, "SCRAM-SHA-256", scram_->ClientFirst());
      } else if (code == 11) {
        if (!scram_) return FinishLogin("unexpected SASLContinue"), false;
        auto fin = scram_->HandleServerFirst(data);
        if (!fin.ok()) return FinishLogin(fin.error()), false;
        AppendSaslResponse(&out, *fin);
      } else if (code == 12) {
        if (!scram_) return FinishLogin("unexpected SASLFinal"), false;
        Status s = scram_->HandleServerFinal(data);
        scram_.reset();
        if (!s.ok()) return FinishLogin(s.message()), false;
        return true;
      } else {
        FinishLogin("unsupported backend authentication request " + std::to_string(code));
        return false;
      }
      Send(out);
      return true;
    }
    case 'S': {
      std::string_view k, v;
      if (ParseParameterStatus(f, &k, &v)) {
        if (k == "in_hot_standby") inHotStandby_ = v == "on";
        params_.emplace_back(std::string(k), std::string(v));
        reported.Note(k, v);
      }
      return true;
    }
    case 'K':
      (void)ParseBackendKeyData(f, &key_);
      return true;
    case 'Z':
      FinishLogin("");
      return true;
    case 'E': {
      ErrorFields e;
      (void)ParseErrorFields(f, &e);
      FinishLogin("backend refused login: " + e.message, &e);
      return false;
    }
    case 'N':
      return true;
    default:
      FinishLogin(std::string("unexpected message '") + f.type + "' during backend login");
      return false;
  }
}

void BackendConn::Reset(std::function<void(bool)> done) {
  owner_ = nullptr;
  outstanding.clear();
  seqOpen = false;
  if (state_ != State::kReady || txStatus != 'I') {
    Close("not reusable (in a transaction or not ready)");
    done(false);
    return;
  }
  SetState(State::kResetting, "session ended");
  resetCb_ = std::move(done);
  holdsTempSchema_ = false;
  resetAnswers_ = 2;
  std::string q;
  AppendQuery(&q, "SELECT pg_my_temp_schema() <> 0");
  AppendQuery(&q, "DISCARD ALL");
  Send(q);
  DoRead();
}

bool BackendConn::HandleResetFrame(const Frame& f) {
  if (f.type == 'E') {
    Close("reset before pooling failed");
    return false;
  }
  if (f.type == 'D') {
    // One column: 't' when this backend has a temporary schema.
    holdsTempSchema_ = f.bodyLen >= 7 && f.body[6] == 't';
    return true;
  }
  if (f.type == 'Z' && --resetAnswers_ == 0) {
    if (holdsTempSchema_) {
      Close("not reusable: it holds a temporary schema (DISCARD ALL keeps it)");
      return false;
    }
    SetState(State::kIdle, "reset done");
    txStatus = 'I';
    if (resetCb_) {
      auto cb = std::move(resetCb_);
      resetCb_ = nullptr;
      cb(true);
    }
  }
  return true;
}

void BackendConn::Close(const std::string& reason) {
  if (state_ == State::kClosed) return;
  State was = state_;
  SetState(State::kClosed, "close");
  loginTimer_.cancel();
  if (lent) {
    closedWhileLent = true;
    ClaimLent();  // out of the pool before its slot goes
  }
  poolSlot.reset();  // the pool's next waiter may open a backend now
  boost::system::error_code ec;
  sock_.close(ec);
  spdlog::debug("proxy: backend {}:{} connection closed: {}", login_.host, login_.port, reason);
  if (was == State::kConnecting || was == State::kLogin) {
    FinishLogin(reason);
    return;
  }
  if (resetCb_) {
    auto cb = std::move(resetCb_);
    resetCb_ = nullptr;
    cb(false);
  }
  if (owner_) {
    BackendOwner* o = owner_;
    owner_ = nullptr;
    o->OnBackendClosed(this, reason);
  }
}

bool SendCancel(asio::io_context& io, const BackendConn& backend) {
  if (!backend.server()) {
    spdlog::warn("proxy: cancel to {}:{} skipped: the backend is not connected yet", backend.login().host,
                 backend.login().port);
    return false;
  }
  auto sock = std::make_shared<tcp::socket>(io);
  auto msg = std::make_shared<std::string>();
  AppendCancelRequest(msg.get(), backend.cancelKey());
  sock->async_connect(*backend.server(), [sock, msg](const boost::system::error_code& e) {
    if (e) return;
    asio::async_write(*sock, asio::buffer(*msg), [sock, msg](const boost::system::error_code&, size_t) {
      boost::system::error_code ignored;
      sock->shutdown(tcp::socket::shutdown_send, ignored);
    });
  });
  return true;
}

}  // namespace pgvigil::proxy
