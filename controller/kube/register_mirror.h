// The state in the status, mirrored to the watchdog register (KUBERNETES.md
// §4.1): after each state write (status CAS) the same document goes to the
// register through the sidecar that is watchdog LEADER (PUT
// /v1/watchdog/register under the term, as the VM controller writes it), so
// the proxies' write fence keeps working in this mode: a proxy whose table
// is older than a register naming another primary, or naming its primary
// fenced, fails writes closed (sidecar/proxy/routing.h, WriteFenceReason).
// Best effort and never in the way: the status is the state; Offer returns at
// once, a thread of its own sends the newest document (an older one is never
// sent after a newer one) and tries again every `retry` until it lands, so a
// register left behind (which could fence a primary the status no longer
// fences) catches up as soon as a watchdog leader with quorum answers. A
// refusal for a stale term (a newer controller) drops it. Failures are logged
// when they start or change (StandingDecision), and when it lands again.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <cpprest/json.h>

#include "controller/standing_decision.h"

namespace pgvigil::kube {

class RegisterMirror {
 public:
  // `where`: the cluster, for the log ("db/demo").
  explicit RegisterMirror(std::string where, std::chrono::milliseconds retry = std::chrono::milliseconds(1000));
  ~RegisterMirror();
  RegisterMirror(const RegisterMirror&) = delete;
  RegisterMirror& operator=(const RegisterMirror&) = delete;

  // The newest state document, written under `term`; `urls` are the
  // sidecars' API URLs to try in order (the watchdog leader's first when
  // known: the others refuse a register write), `token` their API token.
  void Offer(web::json::value doc, uint64_t term, std::vector<std::string> urls, std::string token);
  // The sequence number of the newest offer done with: landed, or dropped
  // for a stale term (offers count from 1; a later one may have replaced an
  // earlier one before it was sent). For tests.
  uint64_t landed() const;

 private:
  void Loop();

  const std::string where_;
  const std::chrono::milliseconds retry_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t offered_ = 0, landed_ = 0;  // offer sequence numbers
  web::json::value doc_;
  uint64_t term_ = 0;
  std::vector<std::string> urls_;
  std::string token_;
  StandingDecision failing_;  // mirror thread only
  std::thread thread_;
};

}  // namespace pgvigil::kube
