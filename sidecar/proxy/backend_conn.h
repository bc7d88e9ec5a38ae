// One connection from the proxy to a PostgreSQL backend: connects, logs in
// (trust / cleartext / md5 / SCRAM-SHA-256 as the client), records the
// ParameterStatus set and BackendKeyData, then relays frames to its owner (a
// client session) or sits in its worker's idle pool after DISCARD ALL. Lives on
// one worker thread (io_context); not thread-safe. Held by shared_ptr.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>

#include "sidecar/proxy/io_buffers.h"
#include "sidecar/proxy/scram.h"
#include "sidecar/proxy/wire_decoder.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy {

class BackendConn;

// Receives a ready backend's frames. Returning false pauses reading until
// BackendConn::ResumeReading (backpressure).
class BackendOwner {
 public:
  virtual ~BackendOwner() = default;
  virtual bool OnBackendFrame(BackendConn* b, const Frame& f) = 0;
  virtual void OnBackendReadDone(BackendConn* b) = 0;  // after a read's frames: flush
  virtual void OnBackendClosed(BackendConn* b, const std::string& reason) = 0;
};

struct BackendLogin {
  std::string host;
  int port = 5432;
  std::string node;  // spec/routing node name
  std::string user, database;
  std::vector<std::pair<std::string, std::string>> extraParams;  // application_name, ...
  std::optional<std::string> password;  // plain, for SCRAM/md5/cleartext
  std::string md5Hash;                  // enough for md5 when no plain password
};

class BackendConn : public std::enable_shared_from_this<BackendConn> {
 public:
  enum class State { kConnecting, kLogin, kReady, kResetting, kIdle, kClosed };
  using LoginCallback = std::function<void(const std::string& error, const ErrorFields* pg_error)>;

  BackendConn(boost::asio::io_context& io, BackendLogin login, int node, ScramKeyCache* keys);
  ~BackendConn();

  // Connects and logs in; cb gets "" on success, else a reason (and the
  // backend's ErrorResponse fields when it sent one).
  void Start(LoginCallback cb);
  void SetOwner(BackendOwner* owner) { owner_ = owner; }
  // Takes a connection out of the idle pool for a session.
  void Adopt(BackendOwner* owner) {
    owner_ = owner;
    state_ = State::kReady;
    txStatus = 'I';
  }
  void Send(const char* data, size_t n);
  void Send(const std::string& s) { Send(s.data(), s.size()); }
  void ResumeReading();
  // Runs DISCARD ALL, then calls done(true) when reusable (state kIdle).
  void Reset(std::function<void(bool)> done);
  void Close(const std::string& reason);

  State state() const { return state_; }
  int node() const { return node_; }
  const BackendLogin& login() const { return login_; }
  const std::vector<std::pair<std::string, std::string>>& params() const { return params_; }
  CancelKey cancelKey() const { return key_; }
  bool inHotStandby() const { return inHotStandby_; }
  size_t queuedBytes() const { return out_.Queued(); }

  // Per-session bookkeeping, kept here to avoid a side map.
  struct Cycle {
    bool silent;
  };
  std::vector<Cycle> outstanding;  // cycles sent, awaiting ReadyForQuery, oldest first
  // A cycle the client waits on is outstanding (not only silent ones the proxy sent).
  bool ClientCycleOutstanding() const {
    for (const auto& c : outstanding)
      if (!c.silent) return true;
    return false;
  }
  int skipParseComplete = 0;       // answers to Parses the proxy injected
  int skipCloseComplete = 0;
  char txStatus = 'I';
  std::atomic<uint64_t>* selectCounter = nullptr;  // this node's select_cnt (owned by ProxyShared)

 private:
  void DoRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void DoWrite();
  bool HandleLoginFrame(const Frame& f);
  bool HandleResetFrame(const Frame& f);
  void FinishLogin(const std::string& error, const ErrorFields* pg = nullptr);

  boost::asio::ip::tcp::socket sock_;
  BackendLogin login_;
  int node_;
  ScramKeyCache* keys_;
  State state_ = State::kConnecting;
  BackendOwner* owner_ = nullptr;
  LoginCallback loginCb_;
  std::function<void(bool)> resetCb_;
  std::unique_ptr<ScramClient> scram_;
  ReadBuffer in_;
  WriteQueue out_;
  WireDecoder decoder_{Direction::kBackend};
  bool reading_ = false, paused_ = false;
  std::vector<std::pair<std::string, std::string>> params_;
  CancelKey key_;
  bool inHotStandby_ = false;
};

// Sends a CancelRequest to a backend on a fresh connection (fire and forget).
void SendCancel(boost::asio::io_context& io, const std::string& host, int port, CancelKey key);

}  // namespace pgvigil::proxy
