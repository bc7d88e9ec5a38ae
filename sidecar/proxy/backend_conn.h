// One connection from the proxy to a PostgreSQL backend: connects, logs in
// (trust / SCRAM-SHA-256 as the client; cleartext and md5 only where the spec
// allows them), records the
// ParameterStatus set and BackendKeyData, then relays frames to its owner (a
// client session) or sits in its worker's idle pool after DISCARD ALL and a
// check that it holds no temporary schema. Its state changes only through
// SetState (see backend_state.h). The socket carries TCP keepalives and
// TCP_USER_TIMEOUT so a backend on a host that vanished is noticed within
// seconds, and connect + login have a deadline. Lives on one worker thread
// (io_context); not thread-safe. Held by shared_ptr.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio.hpp>

#include "sidecar/proxy/added_answers.h"
#include "sidecar/proxy/backend_state.h"
#include "sidecar/proxy/host_resolver.h"
#include "sidecar/proxy/io_buffers.h"
#include "sidecar/proxy/plain_run.h"
#include "sidecar/proxy/quiet_read.h"
#include "sidecar/proxy/scram.h"
#include "sidecar/proxy/tracked_params.h"
#include "sidecar/proxy/wire_decoder.h"
#include "sidecar/proxy/wire_messages.h"
#include "sidecar/proxy/worker_socket.h"

namespace pgvigil::proxy {

class BackendConn;
struct TxSlot;  // tx_backends.h

// A FIFO of statement names that keeps its storage: a std::deque frees and
// allocates a block every few dozen entries passing through, once every few
// transactions of a client that parses each time (transaction pooling).
class NameQueue {
 public:
  bool empty() const { return head_ == v_.size(); }
  size_t size() const { return v_.size() - head_; }
  const std::string& front() const { return v_[head_]; }
  void push_back(const std::string& name) { v_.push_back(name); }
  void pop_front() {
    if (++head_ == v_.size()) {
      v_.clear();  // keeps the capacity
      head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= v_.size()) {
      v_.erase(v_.begin(), v_.begin() + long(head_));  // never drained: the consumed half goes
      head_ = 0;
    }
  }
  std::vector<std::string>::const_iterator begin() const { return v_.begin() + long(head_); }
  std::vector<std::string>::const_iterator end() const { return v_.end(); }

 private:
  std::vector<std::string> v_;
  size_t head_ = 0;
};

// Receives a ready backend's frames. Returning false pauses reading until
// BackendConn::ResumeReading (backpressure).
class BackendOwner {
 public:
  virtual ~BackendOwner() = default;
  virtual bool OnBackendFrame(BackendConn* b, const Frame& f) = 0;
  // Two or more whole frames in a row, data[0..n), each of a type
  // PlainRelayType accepts (plain_run.h). The owner relays them unchanged
  // (kRelayed, or kRelayedPause to pause reading after them), or answers
  // kOneByOne and gets each through OnBackendFrame instead.
  enum class RunTaken : uint8_t { kOneByOne, kRelayed, kRelayedPause };
  virtual RunTaken OnBackendRun(BackendConn* b, const uint8_t* data, size_t n) = 0;
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
  // spec.proxy.backendAuth: without them a cleartext or md5 request fails the
  // login and nothing is sent (SCRAM never reveals the password).
  bool allowCleartext = false;
  bool allowMd5 = false;
};

class BackendConn : public std::enable_shared_from_this<BackendConn> {
 public:
  using State = BackendState;
  using LoginCallback = std::function<void(const std::string& error, const ErrorFields* pg_error)>;

  // resolver: its worker's (Worker::resolver), for a host given by name;
  // without one only a numeric address can be reached.
  BackendConn(boost::asio::io_context& io, BackendLogin login, int node, ScramKeyCache* keys,
              HostResolver* resolver);
  ~BackendConn();

  // Connects and logs in; cb gets "" on success, else a reason (and the
  // backend's ErrorResponse fields when it sent one).
  void Start(LoginCallback cb);
  void SetOwner(BackendOwner* owner) { owner_ = owner; }
  // Takes a connection out of the idle pool for a session.
  void Adopt(BackendOwner* owner) {
    if (!SetState(State::kReady, "taken from the idle pool")) return;
    owner_ = owner;
    txStatus = 'I';
  }
  void Send(const char* data, size_t n);
  void Send(const std::string& s) { Send(s.data(), s.size()); }
  // While corked, Send only queues; Uncork writes what was queued at once. A
  // session corks its backends while it handles one client read, so the
  // messages of that read leave in one write without a posted handler.
  void Cork() { corked_ = true; }
  void Uncork();
  void ResumeReading();
  // Checks that the backend holds no temporary schema (DISCARD ALL keeps it:
  // a later client could not PREPARE TRANSACTION there) and runs DISCARD ALL,
  // then calls done(true) when reusable (state kIdle), else closes it first.
  void Reset(std::function<void(bool)> done);
  void Close(const std::string& reason);
  // Transaction pooling: back to the pool at a transaction boundary, owned by
  // nobody, without a reset (kReady -> kIdle). False when not kReady.
  bool Park() {
    if (!SetState(State::kIdle, "parked at a transaction boundary")) return false;
    owner_ = nullptr;
    return true;
  }

  State state() const { return state_; }
  int node() const { return node_; }
  const BackendLogin& login() const { return login_; }
  const std::vector<std::pair<std::string, std::string>>& params() const { return params_; }
  CancelKey cancelKey() const { return key_; }
  // The address the connection reached (one of the host's, after a name was
  // looked up); unset before it connected.
  const std::optional<boost::asio::ip::tcp::endpoint>& server() const { return server_; }
  bool inHotStandby() const { return inHotStandby_; }
  size_t queuedBytes() const { return out_.Queued(); }

  // Per-session bookkeeping, kept here to avoid a side map.
  // A silent cycle whose rows the owner reads (ClientSession::OnCapturedRow).
  // kFailTransaction: the proxy's statement that fails this backend's part of
  // a transaction that failed on the session's other backend (its error is expected).
  // kTrackedParameter: a SET that brings the backend to its client's value of
  // a parameter that follows the client (transaction pooling, tracked_params.h).
  enum class Capture : uint8_t { kNone, kCommitLsn, kFunctionVolatility, kFailTransaction, kTrackedParameter };
  // What was sent that ends with a ReadyForQuery: one Query / FunctionCall, or
  // an extended-protocol sequence from its first message to its Sync (open
  // while seqOpen). Answers go to the oldest entry.
  struct Cycle {
    bool silent;             // the proxy's own (replayed SET, mirrored BEGIN): nothing reaches the client
    bool swallowZ = false;   // the proxy ended the client's sequence here with its own Sync
    bool sawError = false;   // an ErrorResponse came for this entry (not counting failSent's own)
    // The proxy failed this sequence with its own message before the Sync
    // (sequence_failure.h): that message's error is absorbed.
    bool failSent = false;
    Capture capture = Capture::kNone;
    // Transaction pooling: Parses sent in this entry, and how many the backend
    // completed (ParseComplete); the rest were skipped after an error.
    int parses = 0, parsesDone = 0;
    // Which ParseComplete / CloseComplete answers of this entry answer the
    // proxy's own Parses and Closes (swallowed), by their place.
    AddedAnswers added{};
    // DISCARD ALL was sent in this entry, when the client's statements were
    // up to version discardAllAt: its CommandComplete drops them
    // (ClientSession::DiscardedAll); PostgreSQL may refuse it (25001).
    bool discardAll = false;
    uint64_t discardAllAt = 0;
    uint64_t discardSetsAt = 0;  // and the session's SETs up to this number (SessionSets::numbered)
    // The SET/RESET changes of the session's sent in this entry, the first and
    // the last (SessionSets::Sent, 0 none; an extended sequence may carry
    // several); watchTags: its CommandCompletes are looked at (tags: CommandTagBits).
    uint64_t setChangeFirst = 0, setChange = 0;
    bool watchTags = false;
    uint8_t tags = 0;
    // A Query of several statements whose steps were sent (SessionSets): how
    // many statements it has, and its CommandCompletes (CommandTagCode), in order.
    uint32_t queryStatements = 0;
    std::string tagCodes = {};
    // An extended sequence: the Executes sent in it; whether steps of it were
    // sent (SessionSets: tagCodes then holds the answer of each Execute);
    // and how many Executes had been sent when watchTags was set.
    uint32_t executes = 0;
    bool sequenceSteps = false;
    uint32_t watchedFrom = 0;
  };
  std::vector<Cycle> outstanding;  // awaiting ReadyForQuery, oldest first
  bool seqOpen = false;            // outstanding.back() is an extended sequence still without Sync
  // A cycle the client waits on is outstanding (not only silent ones the proxy sent).
  bool ClientCycleOutstanding() const {
    for (const auto& c : outstanding)
      if (!c.silent) return true;
    return false;
  }
  char txStatus = 'I';
  std::atomic<uint64_t>* selectCounter = nullptr;  // this node's select_cnt (owned by ProxyShared)
  // Its node's index in a worker's routing snapshot (ClientSession::StandbyIndex),
  // for the load of it numbered nodeIndexSerial (Worker::RoutingSerial; 0: none).
  uint64_t nodeIndexSerial = 0;
  int nodeIndex = -1;
  std::string fatal;            // the last FATAL/PANIC ErrorResponse it sent (raw message)
  std::string fatalText;        // its SQLSTATE and message, for logs and reasons
  bool fatalForwarded = false;  // ... and that one reached the client already
  // Transaction pooling: the pool slot this backend holds (freed when it
  // closes), the statement names prepared on it (the proxy's own names, the
  // same for the same statement text whichever client parsed it; added when
  // the ParseComplete comes), and the names of the Parses sent and not yet
  // answered, oldest first ("" for the unnamed statement).
  std::shared_ptr<TxSlot> poolSlot;
  // Lent to its client at a transaction boundary (TxBackends::Lend): still
  // owned by it, counted idle by the pool. The first Send claims it back; a
  // Close takes it out of the pool and sets closedWhileLent (its owner then
  // drops it without a word: the client was not using it).
  bool lent = false;
  bool closedWhileLent = false;
  std::unordered_set<std::string> prepared;
  NameQueue parsesPending;
  bool HasStatement(const std::string& name) const {
    if (prepared.count(name)) return true;
    for (const auto& p : parsesPending)
      if (p == name) return true;
    return false;
  }
  // A Parse of `name` sent and not yet answered in an entry the backend
  // answers without more from the client: one ended by Sync, not the sequence
  // still open.
  bool ParsePendingBeforeOpenSequence(const std::string& name) const {
    size_t answered_anyway = 0;
    for (size_t i = 0; i + (seqOpen ? 1 : 0) < outstanding.size(); ++i)
      answered_anyway += size_t(outstanding[i].parses - outstanding[i].parsesDone);
    size_t k = 0;
    for (auto it = parsesPending.begin(); it != parsesPending.end() && k < answered_anyway; ++it, ++k)
      if (*it == name) return true;
    return false;
  }
  std::chrono::steady_clock::time_point connectedAt = std::chrono::steady_clock::now();
  // Transaction pooling: what this backend reported last of the parameters
  // that follow a client (from its login on), and the stamp of the client
  // values it is known to hold (ClientSession::paramsStamp_; 0: not known).
  TrackedValues reported;
  uint64_t paramsStamp = 0;

 private:
  // The one place the state changes; refuses (logs, returns false) moves
  // BackendTransitionAllowed does not allow. Inline (Adopt and Park run for
  // nearly every transaction in transaction pooling), the refusal out of line.
  bool SetState(State to, const char* why) {
    if (!BackendTransitionAllowed(state_, to)) return RefuseState(to, why);
    state_ = to;
    return true;
  }
  bool RefuseState(State to, const char* why);
  void DoRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void DoWrite();
  bool HandleLoginFrame(const Frame& f);
  bool HandleResetFrame(const Frame& f);
  void FinishLogin(const std::string& error, const ErrorFields* pg = nullptr);
  void Connect(const boost::system::error_code& resolve_error, Endpoints endpoints);
  void OnConnected(const boost::system::error_code& ec);
  void SetSocketOptions();
  void ClaimLent();

  WorkerSocket sock_;
  BackendLogin login_;
  int node_;
  ScramKeyCache* keys_;
  HostResolver* resolver_;
  Endpoints endpoints_;  // the host's addresses, tried in order by the connect
  std::optional<boost::asio::ip::tcp::endpoint> server_;  // the one that answered
  State state_ = State::kConnecting;
  BackendOwner* owner_ = nullptr;
  LoginCallback loginCb_;
  std::function<void(bool)> resetCb_;
  int resetAnswers_ = 0;     // ReadyForQuery still expected by Reset
  bool holdsTempSchema_ = false;
  boost::asio::steady_timer loginTimer_;
  std::unique_ptr<ScramClient> scram_;
  ReadBuffer in_;
  QuietRead read_;
  WriteQueue out_;
  WireDecoder decoder_{Direction::kBackend};
  bool reading_ = false, paused_ = false;
  bool writeScheduled_ = false;  // a DoWrite is posted
  bool corked_ = false;          // see Cork()
  std::vector<std::pair<std::string, std::string>> params_;
  CancelKey key_;
  bool inHotStandby_ = false;
};

// Sends a CancelRequest on a fresh connection to the address the backend's own
// connection reached (fire and forget); false, with a warning, for a backend
// not connected yet. By address, so a backend named by host name (Kubernetes)
// is cancelled with no lookup, and on the very server it runs on.
bool SendCancel(boost::asio::io_context& io, const BackendConn& backend);

}  // namespace pgvigil::proxy
