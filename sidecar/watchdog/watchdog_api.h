// What the watchdog offers the other parts of the sidecar (the agent's REST
// server, the controller beside the leader). Implemented by the watchdog
// component; reached through SidecarContext::watchdog (null when disabled).
// All methods are thread-safe; reads are snapshots at most one tick old.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/result.h"
#include "common/watchdog_detail.h"
#include "common/watchdog_register.h"

namespace pgvigil {

class WatchdogApi {
 public:
  virtual ~WatchdogApi() = default;

  // GET /v1/watchdog (common/watchdog_detail.h; the agent encodes it with ToJson).
  virtual WatchdogDetail Detail() const = 0;

  struct Leadership {
    bool leaderWithQuorum = false;  // this member is LEADER and holds the lease now
    uint64_t term = 0;              // this member's current term
    std::string leader;             // the live leader's node name; empty when none
    bool quorum = false;            // a majority of members is live as seen from here
    // This member's cluster-state register is as new as the live leader's: false
    // right after (re)joining until the leader's round is heard. A proxy must not
    // trust its routing against a stale register.
    bool registerCurrent = false;
  };
  virtual Leadership GetLeadership() const = 0;

  // Consensus on each backend (spec.nodes order): down only when a majority of the
  // live members' health checks say so.
  // {node, up, down, live, consensusDown}, as GET /v1/watchdog's backends[] show it.
  using BackendVerdict = WatchdogBackend;
  virtual std::vector<BackendVerdict> BackendConsensus() const = 0;

  // The cluster-state register as stored on this member, as GET
  // /v1/watchdog/register shows it. durable: known (on the leader) to be stored
  // by a majority.
  using RegisterValue = WatchdogRegisterValue;
  virtual RegisterValue ReadRegister() const = 0;
  // Leader with quorum only: stores doc as the next version and returns once a
  // majority of members persisted it (the version), or an error (not leader, lost
  // leadership meanwhile, document over 1024 bytes, timeout: the write may still
  // become durable later).
  virtual Result<uint64_t> WriteRegister(const web::json::value& doc,
                                         std::chrono::milliseconds timeout) = 0;

  // This member's write lease (contact_lease.h): while it runs, a majority of the
  // members recently confirmed hearing this member, so no other side can promote
  // in its place; when it has run out, a writable local primary must be fenced
  // (agent/self_fence.h). Not required in clusters of one or two members.
  struct WriteLease {
    bool required = false;
    std::chrono::steady_clock::time_point until{};  // steady clock of this process
    bool Held(std::chrono::steady_clock::time_point now) const { return !required || now < until; }
  };
  virtual WriteLease GetWriteLease() const = 0;
};

}  // namespace pgvigil
