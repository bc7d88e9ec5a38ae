// kube-fake: an in-repo Kubernetes API-server TEST DOUBLE. It is a stand-in for
// tests, not Kubernetes: it proves client code against the API semantics a
// controller relies on (see object_store.h, statefulset_sim.h), never the real
// API server, etcd, the kubelet, DNS or kube-proxy. Results obtained with it
// are never Kubernetes results.
//
// Serves HTTPS on 127.0.0.1 (certificates from a CA generated at start) with
// the REST paths of the core group and named groups, JSON bodies, Status
// errors, chunked watch streams (JSON lines, bookmarks, timeoutSeconds, 410
// Gone), bearer tokens or client certificates, RBAC from Role/ClusterRole
// rules, and injected faults (latency, 429/503 with Retry-After, dropped
// watches, the server down). One thread per connection; every store access
// under one mutex. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "controller/kube/testing/object_store.h"
#include "controller/kube/testing/rbac.h"
#include "controller/kube/testing/request_log.h"
#include "controller/kube/testing/test_ca.h"

namespace pgvigil::kube::fake {

struct FakeOptions {
  std::string crdFile;  // a CRD to serve (e.g. the chart's); empty: built-in kinds only
  size_t historyLimit = 1000;
  std::chrono::milliseconds bookmarkInterval{1000};
  std::string pkiDir;   // where the generated certificates go (must exist)
  std::string clientCommonName = "kube-fake-client";
};

struct HttpExchange;  // kube_fake_routes.cc

class KubeFake {
 public:
  static Result<std::unique_ptr<KubeFake>> Start(const FakeOptions& options);
  ~KubeFake();
  KubeFake(const KubeFake&) = delete;
  KubeFake& operator=(const KubeFake&) = delete;

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const TestPki& pki() const { return pki_; }

  // Who may call: a bearer token or a client certificate's common name, with
  // the RBAC rules it holds (nullopt: everything is allowed). `user` names
  // the token's holder in Forbidden messages and the request log.
  void AllowToken(const std::string& token, std::optional<std::vector<PolicyRule>> rules = std::nullopt,
                  const std::string& user = "token");
  void RevokeToken(const std::string& token);
  void AllowClientCert(const std::string& common_name, std::optional<std::vector<PolicyRule>> rules = std::nullopt);

  // Faults.
  void SetLatency(std::chrono::milliseconds latency);
  // The next `count` requests answer `code` (429 or 503) with Retry-After.
  void FailNext(int count, int code, int retry_after_seconds);
  void DropWatches();        // open watch streams end abruptly (no final chunk)
  void SetDown(bool down);   // down: listener closed and every connection cut; up: same port again
  // Forces compaction: the history is forgotten and every open watch gets an
  // ERROR event with a 410 Expired Status and ends.
  void Compact();

  // The record of requests (request_log.h): every API request from now on,
  // one JSON line each; NoteControl adds a harness action in its place.
  Status SetRequestLog(const std::string& path) { return requestLog_.Open(path); }
  void NoteControl(const std::string& what) { requestLog_.Control(what); }

  // Direct access for test set-up and checks, under the server's lock.
  template <typename F>
  auto WithStore(F f) {
    std::lock_guard<std::mutex> lock(mu_);
    auto result = f(store_);
    changed_.notify_all();
    return result;
  }
  int requests() const { return requests_; }

 private:
  friend struct HttpExchange;
  explicit KubeFake(const FakeOptions& options);
  Status Listen();
  void AcceptLoop();
  void Serve(int fd);
  void CutConnections();

  FakeOptions options_;
  TestPki pki_;
  int port_ = 0;
  std::mutex mu_;  // guards store_, identities, faults, connection fds
  std::condition_variable changed_;
  ObjectStore store_;
  std::map<std::string, std::optional<std::vector<PolicyRule>>> tokens_, certs_;
  std::map<std::string, std::string> tokenUsers_;
  RequestLog requestLog_;
  std::chrono::milliseconds latency_{0};
  int failCount_ = 0, failCode_ = 503, retryAfter_ = 1;
  uint64_t dropGeneration_ = 0, compactGeneration_ = 0;
  std::atomic<bool> stopping_{false};
  bool down_ = false;
  int listenFd_ = -1;
  std::vector<int> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
  std::atomic<int> requests_{0};
  void* sslContext_ = nullptr;  // boost::asio::ssl::context, owned
};

}  // namespace pgvigil::kube::fake
