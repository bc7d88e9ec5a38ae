// ClientSession: I/O, startup, authentication, login and teardown. The routed
// relay of the ready state is in session_routing.cc.
#include "sidecar/proxy/session.h"

#include <cstring>

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "sidecar/proxy/handler_memory.h"
#include "sidecar/proxy/send_now.h"
#include "sidecar/proxy/tx_backends.h"

namespace pgvigil::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH: the largest password or SASL message
// body it reads before authentication; the length word counts itself too.
constexpr uint32_t kMaxAuthMessage = 65535 + 4;
// How often the warning about unauthenticated connections closed by the proxy
// may repeat (per worker).
constexpr auto kUnauthWarnEvery = std::chrono::seconds(10);
}  // namespace

ClientSession::ClientSession(Worker* worker, WorkerSocket sock)
    : worker_(worker), shared_(worker->shared), sock_(std::move(sock)) {
  boost::system::error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  if (!ec) {
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    peer_ = a.to_string();
  }
  sock_.set_option(tcp::no_delay(true), ec);
  sock_.non_blocking(true, ec);  // FlushClient tries SendNow first; would_block, never blocks
  read_.Init(sock_);
}

ClientSession::~ClientSession() {
  if (cancelRegistered_) shared_->UnregisterCancel((uint64_t(cancelKey_.pid) << 32) | cancelKey_.secret);
}

void ClientSession::Start() {
  keepAlive_ = shared_from_this();
  if (worker_->sessions.insert(this).second) worker_->openSessions.fetch_add(1, std::memory_order_relaxed);
  // A real client must keep getting in while silent sockets fill the limit:
  // the oldest unauthenticated connection makes room.
  const size_t share = shared_->UnauthenticatedShare();
  while (!worker_->unauthenticated.empty() && worker_->unauthenticated.size() >= share)
    worker_->unauthenticated.front()->CloseUnauthenticated(true);
  unauthIt_ = worker_->unauthenticated.insert(worker_->unauthenticated.end(), this);
  unauthenticated_ = true;
  shared_->metrics->unauthenticated.Set(++shared_->unauthenticatedCount);
  DoRead();
}

void ClientSession::LeaveUnauthenticated() {
  if (!unauthenticated_) return;
  unauthenticated_ = false;
  worker_->unauthenticated.erase(unauthIt_);
  shared_->metrics->unauthenticated.Set(--shared_->unauthenticatedCount);
}

void ClientSession::CloseUnauthenticated(bool evicted) {
  if (state_ == State::kClosed || !unauthenticated_) return;
  (evicted ? shared_->metrics->unauthEvicted : shared_->metrics->unauthTimedOut).Inc();
  auto now = std::chrono::steady_clock::now();
  worker_->unauthClosedSinceWarn++;
  if (now - worker_->unauthWarnedAt >= kUnauthWarnEvery) {
    spdlog::warn("proxy: closed {} connection(s) that had not finished authentication in the last {} s "
                 "(latest from {}: {}; limits: proxy.authenticationTimeout {} ms, "
                 "proxy.maxUnauthenticatedConnections {})",
                 worker_->unauthClosedSinceWarn, kUnauthWarnEvery.count(), peer_.empty() ? "?" : peer_,
                 evicted ? "the oldest, to make room" : "timed out",
                 shared_->spec.proxy.authenticationTimeout.count(), shared_->spec.proxy.maxUnauthenticatedConnections);
    worker_->unauthWarnedAt = now;
    worker_->unauthClosedSinceWarn = 0;
  }
  Close(evicted ? "oldest unauthenticated connection closed: proxy.maxUnauthenticatedConnections reached"
                : "authentication not finished within proxy.authenticationTimeout",
        spdlog::level::debug);
}

void ClientSession::SetState(State s) {
  if (state_ == State::kClosed || int(s) < int(state_)) return;  // never back
  state_ = s;
}

void ClientSession::DoRead() {
  if (reading_ || state_ == State::kClosed) return;
  reading_ = true;
  size_t avail = 0;
  uint8_t* p = in_.Prepare(2048, &avail);
  // The session's reference is made in the handler itself (no local copy to
  // count up and down again: this runs for every read).
  if (tls_) {
    tls_->async_read_some(asio::buffer(p, avail), [this, self = shared_from_this()](
                                                      const boost::system::error_code& ec, size_t n) {
      TxGrantScope::Run([&] { OnRead(ec, n); });  // grants handed over as this returns
    });
    return;
  }
  // Its operation from the thread's handler memory (see handler_memory.h).
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

void ClientSession::OnRead(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (state_ == State::kClosed) {
    if (drainTimer_) {
      if (!ec) return Drain();
      drainTimer_->cancel();
      boost::system::error_code ignored;
      sock_.close(ignored);
    }
    return;
  }
  if (ec) {
    bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    if (state_ == State::kStartup || state_ == State::kTls || state_ == State::kAuth) {
      // As PostgreSQL: no complaint to anyone (monitors and port scanners
      // connect and leave; psql reconnects after asking for a password).
      Close(!sawBytes_ ? "client closed the connection before sending a startup packet"
            : state_ == State::kAuth ? "client closed the connection during authentication"
            : eof ? "incomplete startup packet"
                  : "client read failed: " + ec.message(),
            spdlog::level::debug);
      return;
    }
    Close(eof ? "client disconnected without Terminate" : "client read failed: " + ec.message());
    return;
  }
  if (n > 0) sawBytes_ = true;
  in_.Commit(n);
  Process();
}

void ClientSession::Process() {
  if (processing_) return;  // re-entered from a callback; the outer loop continues
  processing_ = true;
  traceOn_ = -1;  // read when first asked (TraceOn)
  // The backends' writes wait for the end of this read's messages: one write
  // per backend, made here, not one posted per message.
  if (TxMode() && (primary_ || standby_) && shared_->RoutingVersion() != txLentRouting_)
    ReturnStaleLent(*worker_->Routing());
  const std::shared_ptr<BackendConn> corked[2] = {primary_, standby_};
  for (const auto& b : corked)
    if (b) b->Cork();
  Frame f;
  bool blocked = false;
  while (state_ != State::kClosed && state_ != State::kTls && state_ != State::kLogin) {
    // Queued for a pool backend (transaction pooling): nothing to try until
    // the grant or the queue timeout runs Process again.
    if (state_ == State::kReady && cycle_.active && (txWaiting_ || !TryDispatch())) {
      blocked = true;
      break;
    }
    if (state_ == State::kClosed) break;
    DecodeStatus st = decoder_.Next(in_.data(), in_.size(), &f);
    if (st == DecodeStatus::kNeedMore) break;
    if (st == DecodeStatus::kError) {
      OnDecodeError();
      break;
    }
    size_t size = f.size;
    bool consumed = true;
    if (state_ == State::kStartup) consumed = HandleStartupFrame(f);
    else if (state_ == State::kAuth) consumed = HandleAuthFrame(f);
    else if (state_ == State::kReady) consumed = HandleReadyFrame(f);
    if (!consumed) {
      blocked = true;
      break;
    }
    if (state_ == State::kClosed) break;
    in_.Consume(size);
    if (state_ == State::kTls) break;
  }
  FlushFollowed();
  for (const auto& b : corked)
    if (b) b->Uncork();
  // Attached during this read (AttachPooled corks them).
  for (const auto* b : {&primary_, &standby_})
    if (*b) (*b)->Uncork();
  processing_ = false;
  if (state_ == State::kClosed) return;
  if (TxMode()) MaybeReturnToPool();
  FlushClient();
  if (!blocked && state_ != State::kTls) {
    if (in_.size() == 0) in_.Shrink(2048);
    DoRead();
  }
}

void ClientSession::FlushClient() {
  FlushRelayed();
  if (out_.writing || out_.pending.empty() || state_ == State::kClosed) return;
  out_.writing = true;
  wroteToClient_ = true;
  if (!tls_) {
    // At once, as BackendConn::DoWrite: no completion handler when the kernel
    // takes it all; the rest, or an error, goes the asynchronous way.
    boost::system::error_code wec;
    if (SendPendingNow(sock_.native_handle(), &out_, &wec)) return;
    read_.AsyncWriteStarted();
  } else {
    out_.inflight.swap(out_.pending);
  }
  // Only a write left to the reactor holds the session (not the one done at once).
  auto h = [this, self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    if (!tls_) read_.AsyncWriteDone();
    out_.writing = false;
    out_.inflight.clear();
    if (state_ == State::kClosed) {
      if (!ec) return FinalWrite();
      boost::system::error_code ignored;
      sock_.close(ignored);
      return;
    }
    if (ec) {
      Close("client write failed: " + ec.message());
      return;
    }
    // Backends paused for backpressure continue now.
    if (primary_) primary_->ResumeReading();
    if (standby_) standby_->ResumeReading();
    FlushClient();
  };
  if (tls_)
    asio::async_write(*tls_, asio::buffer(out_.inflight), std::move(h));
  else
    asio::async_write(sock_, asio::buffer(out_.inflight), std::move(h));
}

void ClientSession::OnDecodeError() {
  shared_->metrics->protocolErrors.Inc();
  const std::string why = decoder_.error();
  const DecodeError kind = decoder_.errorKind();
  if (state_ == State::kStartup) {
    if (kind == DecodeError::kProtocolVersion && in_.size() >= 8) {
      uint32_t code = ReadU32(in_.data() + 4);
      Fatal("0A000",
            "unsupported frontend protocol " + std::to_string(code >> 16) + "." + std::to_string(code & 0xffff) +
                ": server supports 3.0 to 3.0",
            "unsupported frontend protocol");
      return;
    }
    // PostgreSQL logs "invalid length of startup packet" and closes without a word.
    Close("invalid length of startup packet: " + why, spdlog::level::debug);
    return;
  }
  if (state_ == State::kAuth) {
    if (kind == DecodeError::kUnknownType) {
      Fatal("08P01", "expected password response, got message type " + std::to_string(int(in_.data()[0])),
            "unexpected message during authentication");
      return;
    }
    if (kind == DecodeError::kTooLong && (authStep_ == AuthStep::kScramFirst || authStep_ == AuthStep::kScramFinal)) {
      // PostgreSQL fails the SASL exchange (the same answer as a wrong password).
      shared_->metrics->authFailedPassword.Inc();
      AuthFailed("28P01", "password authentication failed for user \"" + user_ + "\"",
                 "SASL message refused before reading it: " + why);
      return;
    }
    // A password packet of a bad length: PostgreSQL closes without a word.
    spdlog::warn("proxy: authentication of user \"{}\" from {} abandoned: {}", user_, peer_, why);
    Close("invalid password packet: " + why);
    return;
  }
  Fatal("08P01", "invalid frontend message: " + why, "protocol violation: " + why);
}

bool ClientSession::HandleStartupFrame(const Frame& f) {
  if (f.code == kSslRequestCode) {
    if (tls_ || !shared_->tls) {
      out_.pending.push_back('N');
      return true;
    }
    if (in_.size() > f.size) {
      Close("bytes received before the TLS handshake");
      return true;
    }
    SetState(State::kTls);
    tls_ = std::make_unique<asio::ssl::stream<WorkerSocket&>>(sock_, *shared_->tls);
    auto self = shared_from_this();
    static const char kYes = 'S';
    wroteToClient_ = true;
    asio::async_write(sock_, asio::buffer(&kYes, 1), [this, self](const boost::system::error_code& ec, size_t) {
      if (ec) return Close("client write failed: " + ec.message());
      tls_->async_handshake(asio::ssl::stream_base::server, [this, self](const boost::system::error_code& hec) {
        if (hec) return Close("TLS handshake failed: " + hec.message());
        state_ = State::kStartup;  // the startup packet follows, encrypted
        Process();
      });
    });
    return true;
  }
  if (f.code == kGssEncRequestCode) {
    out_.pending.push_back('N');
    return true;
  }
  if (f.code == kCancelRequestCode) {
    CancelKey k;
    if (ParseCancelRequest(f, &k)) {
      shared_->metrics->cancelRequests.Inc();
      auto t = shared_->FindCancel((uint64_t(k.pid) << 32) | k.secret);
      if (t) {
        // On the client's worker, with the backends it holds when it runs.
        t->worker->Post([session = t->session, from = peer_] {
          if (auto s = session.lock()) s->ForwardCancel(from);
        });
      } else {
        spdlog::info("proxy: cancel request from {} with an unknown key ignored", peer_);
      }
    }
    Close("cancel request handled", spdlog::level::debug);
    return true;
  }
  StartupParams p;
  if (!ParseStartupParams(f, &p)) {
    Fatal("08P01", "invalid startup packet layout: expected terminator as last byte", "malformed startup packet");
    return true;
  }
  for (auto& [k, v] : p.params) {
    if (k == "user") user_ = v;
    else if (k == "database") database_ = v;
    else if (k == "replication") {
      Fatal("08P01", "replication connections are not supported through the proxy",
            "replication connection refused");
      return true;
    } else extraParams_.emplace_back(k, v);
  }
  if (user_.empty()) {
    Fatal("28000", "no PostgreSQL user name specified in startup packet", "startup without user");
    return true;
  }
  if (database_.empty()) database_ = user_;
  if (shared_->clientCount.load() >= shared_->spec.proxy.maxClientConnections) {
    shared_->metrics->refusedMaxClients.Inc();
    Fatal("53300", "sorry, too many clients already", "maxClientConnections reached");
    return true;
  }
  decoder_.StartMessages();
  decoder_.SetMaxMessage(kMaxAuthMessage);  // refused from the length word, never buffered
  SetState(State::kAuth);
  BeginAuth();
  return true;
}

void ClientSession::BeginAuth() {
  HbaDecision d = shared_->hba->Match(peer_, tls_ != nullptr, database_, user_);
  std::string who = "host \"" + peer_ + "\", user \"" + user_ + "\", database \"" + database_ + "\"" +
                    (tls_ ? ", SSL on" : ", SSL off");
  if (d.line == 0) {
    shared_->metrics->authRejectedHba.Inc();
    AuthFailed("28000", "no pool_hba.conf entry for " + who, "no hba rule matches");
    return;
  }
  if (d.method == AuthMethod::kReject) {
    shared_->metrics->authRejectedHba.Inc();
    AuthFailed("28000", "pool_hba.conf rejects connection for " + who,
               "hba line " + std::to_string(d.line) + " rejects");
    return;
  }
  passwords_ = shared_->passwords;
  secret_ = passwords_ ? passwords_->Find(user_) : nullptr;
  if (d.method == AuthMethod::kTrust) return AuthSucceeded();
  if (d.method == AuthMethod::kMd5) {
    authStep_ = AuthStep::kMd5;
    md5Salt_ = RandomBytes(4);
    AppendAuthRequest(&out_.pending, 5, md5Salt_);
    return;
  }
  authStep_ = AuthStep::kScramFirst;
  scram_ = std::make_unique<ScramServer>(secret_ ? secret_->scram : std::nullopt, user_);
  AppendAuthRequest(&out_.pending, 10, std::string_view("SCRAM-SHA-256\0\0", 15));
}

bool ClientSession::HandleAuthFrame(const Frame& f) {
  if (f.type != 'p') {
    Fatal("08P01", "expected password response", "unexpected message during authentication");
    return true;
  }
  const std::string wrong = "password authentication failed for user \"" + user_ + "\"";
  if (authStep_ == AuthStep::kMd5) {
    std::string_view resp;
    if (!ParsePasswordMessage(f, &resp)) {
      Fatal("08P01", "malformed password message", "malformed password message");
      return true;
    }
    bool match = false;
    if (secret_ && !secret_->md5Hash.empty()) {
      const std::string want = Md5Response(secret_->md5Hash, md5Salt_);
      match = resp.size() == want.size() && CRYPTO_memcmp(resp.data(), want.data(), want.size()) == 0;
    }
    if (!match) {
      shared_->metrics->authFailedPassword.Inc();
      AuthFailed("28P01", wrong, secret_ ? "md5: wrong password" : "md5: unknown user");
      return true;
    }
    AuthSucceeded();
    return true;
  }
  if (authStep_ == AuthStep::kScramFirst) {
    std::string_view mech, data;
    if (!ParseSaslInitial(f, &mech, &data) || mech != "SCRAM-SHA-256") {
      Fatal("08P01", "client selected an invalid SASL authentication mechanism", "bad SASL mechanism");
      return true;
    }
    auto sf = scram_->HandleClientFirst(data);
    if (!sf.ok()) {
      Fatal("08P01", sf.error(), "SCRAM: " + sf.error());
      return true;
    }
    authStep_ = AuthStep::kScramFinal;
    AppendAuthRequest(&out_.pending, 11, *sf);
    return true;
  }
  if (authStep_ == AuthStep::kScramFinal) {
    auto fin = scram_->HandleClientFinal(std::string_view(reinterpret_cast<const char*>(f.body), f.bodyLen));
    if (!fin.ok()) {
      shared_->metrics->authFailedPassword.Inc();
      AuthFailed("28P01", wrong, std::string("SCRAM: ") + (secret_ ? fin.error() : "unknown user"));
      return true;
    }
    AppendAuthRequest(&out_.pending, 12, *fin);
    AuthSucceeded();
    return true;
  }
  Fatal("08P01", "unexpected password message", "password message without a request");
  return true;
}

void ClientSession::AuthFailed(const std::string& sqlstate, const std::string& message,
                               const std::string& reason) {
  spdlog::warn("proxy: authentication of user \"{}\" from {} failed: {}", user_, peer_, reason);
  Fatal(sqlstate, message, "authentication failed: " + reason);
}

const std::string& ClientSession::LoginKey() const {
  if (!loginKey_.empty()) return loginKey_;  // never empty once built: it holds a '\0'
  std::string& k = loginKey_;
  k = user_ + '\0' + database_;
  for (const auto& [a, b] : extraParams_) k += '\0' + a + '=' + b;
  return k;
}

const ClientSession::PoolKeyEntry& ClientSession::FindPoolKey(const std::string& node, int index) {
  const std::string& login = LoginKey();
  auto remember = [&](const PoolKeyEntry& e) -> const PoolKeyEntry& {
    const size_t at = size_t(index);
    if (index >= 0 && index < 64) {
      if (at >= poolKeyAt_.size()) poolKeyAt_.resize(at + 1, nullptr);
      poolKeyAt_[at] = &e;
    }
    return e;
  };
  // Node names hold no '\0': a key of the right length starting with the node
  // and a '\0' is that node's.
  for (const auto& e : poolKeys_) {
    const std::string& k = e.key;
    if (k.size() == node.size() + 1 + login.size() && k[node.size()] == '\0' &&
        std::memcmp(k.data(), node.data(), node.size()) == 0)
      return remember(e);
  }
  PoolKeyEntry& e = poolKeys_.emplace_back();
  e.key = node;
  e.key += '\0';
  e.key += login;
  if (TxMode()) e.tx = worker_->tx->Ref(e.key, index);  // dropped in ReleaseBackends
  return remember(e);
}

void ClientSession::AuthSucceeded() {
  LeaveUnauthenticated();
  decoder_.SetMaxMessage(kDefaultMaxMessage);
  scram_.reset();
  counted_ = true;
  int clients = ++shared_->clientCount;
  shared_->metrics->clients.Set(clients);
  if (clients > shared_->spec.proxy.maxClientConnections) {
    shared_->metrics->refusedMaxClients.Inc();
    Fatal("53300", "sorry, too many clients already", "maxClientConnections reached");
    return;
  }
  shared_->metrics->authOk.Inc();
  AppendAuthRequest(&out_.pending, 0);
  SetState(State::kLogin);
  cancelTargets_ = std::make_shared<CancelTargets>();
  cancelTargets_->worker = worker_;
  cancelTargets_->session = weak_from_this();
  // Always with a backend (pooled or new), so BackendKeyData carries a real pid.
  ConnectForLogin();
}

void ClientSession::ConnectForLogin() {
  if (TxMode()) {
    // Transaction pooling: a login like one seen before needs no backend (the
    // cancel key's pid is then the proxy's own).
    auto it = worker_->paramCache.find(LoginKey());
    if (it != worker_->paramCache.end()) return SendLoginCompletion(it->second);
  }
  auto r = worker_->Routing();
  if (r->primary >= 0 && !loginAvoidPrimary_) {
    Connect(Target::kPrimary, r->primary, *r);
    return;
  }
  int n = ChooseLoadBalanceNode(*r);
  if (n < 0) {
    if (!loginPrimaryError_.empty())
      Fatal("08006", "cannot connect to the primary: " + loginPrimaryError_, "no backend for login");
    else
      Fatal("08006", "no backend available: " + r->noPrimaryReason, "no backend for login");
    return;
  }
  Connect(Target::kStandby, n, *r);
}

void ClientSession::SendLoginCompletion(const std::vector<std::pair<std::string, std::string>>& params) {
  for (const auto& [k, v] : params) AppendParameterStatus(&out_.pending, k, v);
  clientParams_.NoteAll(params);
  paramsStamp_ = worker_->paramsIds.IdOf(clientParams_);
  // The pid is the login backend's own (pg_backend_pid(), NOTIFY's sender and
  // pg_stat_activity agree with it); the secret is the proxy's, from a CSPRNG,
  // mapped to whatever backends the session uses when a cancel comes.
  const std::shared_ptr<BackendConn>& login = primary_ ? primary_ : standby_;
  for (int attempt = 0; !cancelRegistered_ && attempt < 16; ++attempt) {
    std::string r = RandomBytes(8);
    uint32_t random_pid = ReadU32(reinterpret_cast<const uint8_t*>(r.data())) & 0x7fffffff;
    cancelKey_.pid = login && login->cancelKey().pid ? login->cancelKey().pid : random_pid;
    cancelKey_.secret = ReadU32(reinterpret_cast<const uint8_t*>(r.data()) + 4);
    cancelRegistered_ = shared_->RegisterCancel((uint64_t(cancelKey_.pid) << 32) | cancelKey_.secret, cancelTargets_);
  }
  AppendBackendKeyData(&out_.pending, cancelKey_);
  AppendReadyForQuery(&out_.pending, 'I');
  SetState(State::kReady);
  spdlog::debug("proxy: session for user \"{}\" database \"{}\" from {} ready", user_, database_, peer_);
  auto self = shared_from_this();
  asio::post(worker_->io, [this, self] { Process(); });
}

void ClientSession::Fatal(const std::string& sqlstate, const std::string& message, const std::string& reason) {
  if (state_ == State::kClosed) return;
  AppendError(&out_.pending, "FATAL", sqlstate, message);
  Close(reason);
}

void ClientSession::Terminate(const std::string& sqlstate, const std::string& message,
                              const std::string& reason) {
  Fatal(sqlstate, message, reason);
}

void ClientSession::Close(const std::string& reason, spdlog::level::level_enum level) {
  if (state_ == State::kClosed) return;
  FlushRelayed();  // a backend's answers read before the end reach the client first
  state_ = State::kClosed;
  bool normal = reason == "client sent Terminate";
  spdlog::log(normal ? spdlog::level::debug : level, "proxy: closing session of user \"{}\" from {}: {}",
              user_.empty() ? "?" : user_, peer_, reason);
  ReleaseBackends();
  UpdateBusyCount();
  if (worker_->sessions.erase(this)) worker_->openSessions.fetch_sub(1, std::memory_order_relaxed);
  LeaveUnauthenticated();
  if (counted_) {
    counted_ = false;
    shared_->metrics->clients.Set(--shared_->clientCount);
  }
  if (retryTimer_) retryTimer_->cancel();
  // Released after the current handler: callers up the stack still use `this`.
  asio::post(worker_->io, [keep = std::move(keepAlive_)] {});
  // Deliver what is queued (the final error) after any write in flight, then close.
  if (!out_.writing) FinalWrite();
}

void ClientSession::FinalWrite() {
  auto self = shared_from_this();
  // After the last message: stop sending, then drain what the client still sends
  // (for up to 2 s) so its kernel does not turn our FIN into a reset that would
  // discard the error before the client reads it.
  // Nothing ever sent (a connection closed silently before or during startup):
  // nothing can be lost to a reset, so the descriptor goes at once.
  const bool linger = wroteToClient_ || !out_.pending.empty();
  auto finish = [this, self, linger](const boost::system::error_code&, size_t) {
    boost::system::error_code ec;
    if (tls_ || !linger) {
      sock_.close(ec);
      return;
    }
    sock_.shutdown(WorkerSocket::shutdown_send, ec);
    drainTimer_ = std::make_shared<asio::steady_timer>(worker_->io, std::chrono::seconds(2));
    drainTimer_->async_wait([this, self](const boost::system::error_code&) {
      boost::system::error_code ignored;
      sock_.close(ignored);
    });
    Drain();
  };
  if (out_.pending.empty()) {
    finish({}, 0);
    return;
  }
  out_.writing = true;
  out_.inflight.swap(out_.pending);
  if (tls_)
    asio::async_write(*tls_, asio::buffer(out_.inflight), finish);
  else
    asio::async_write(sock_, asio::buffer(out_.inflight), finish);
}

void ClientSession::Drain() {
  // A separate buffer: a read still pending on in_ may complete later.
  if (reading_) return;  // OnRead continues the drain
  reading_ = true;
  auto self = shared_from_this();
  sock_.async_read_some(asio::buffer(drainBuf_), [this, self](const boost::system::error_code& ec, size_t) {
    reading_ = false;
    if (ec) {
      if (drainTimer_) drainTimer_->cancel();
      boost::system::error_code ignored;
      sock_.close(ignored);
      return;
    }
    Drain();
  });
}

void ClientSession::ReleaseBackends() {
  bool clean = copyTarget_ == Target::kNone && pinned_ == Target::kNone;
  if (TxMode()) LeaveQueue();
  if (queueTimer_) queueTimer_->cancel();  // it holds the session
  for (Target t : {Target::kPrimary, Target::kStandby}) {
    std::shared_ptr<BackendConn> b = std::move(Conn(t));
    Conn(t).reset();
    if (!b) continue;
    b->SetOwner(nullptr);
    if (!clean || !b->outstanding.empty() || b->txStatus != 'I' || b->state() != BackendConn::State::kReady) {
      b->Close("session ended while the backend was busy");
      continue;
    }
    if (TxMode()) {
      // Pinned: it may hold the client's session state; closed, never shared.
      if (!txPinned_.empty()) b->Close("pinned client left (it held " + txPinned_ + ")");
      else worker_->tx->Release(std::move(b));  // a lent one too
      continue;
    }
    if (noPool_) {
      b->Close("session ran LOAD: a library DISCARD ALL cannot unload");
      continue;
    }
    std::string key = PoolKey(b->login().node, b->node()).key;
    Worker* w = worker_;
    // Weakly held, as in Connect: a callback stored in b must not own b.
    b->Reset([w, wb = std::weak_ptr<BackendConn>(b), key](bool ok) {
      if (auto b = wb.lock(); ok && b) w->PutIdle(key, b);
    });
  }
  if (TxMode()) {
    // The session's references to its pools (PoolKey): a queued wait was
    // cancelled and its backends released above.
    for (auto& e : poolKeys_)
      if (e.tx) worker_->tx->Unref(e.tx), e.tx = nullptr;
  }
}

void ClientSession::ForwardCancel(const std::string& from) {
  int sent = 0;
  if (state_ != State::kClosed) {
    for (const auto* b : {&primary_, &standby_}) {
      // A lent backend (transaction pooling) runs nothing of the client's.
      if (!*b || (*b)->lent) continue;
      if (SendCancel(worker_->io, **b)) sent++;
    }
  }
  spdlog::info("proxy: cancel request from {} forwarded to {} backend(s)", from, sent);
}

}  // namespace pgvigil::proxy
