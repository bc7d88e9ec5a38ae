// GET /v1/watchdog of the sidecar (WatchdogDetail) and the watchdog's summary
// under "components.watchdog" of its GET /v1/status (WatchdogSummary): one
// member's view of the watchdog cluster. One contract for both sides: the
// sidecar's watchdog fills these values (sidecar/watchdog/detail_json.cc,
// watchdog_service.cc) and its agent encodes them; the controller
// (controller/observe/sidecar_observer.cc, vm_leadership.cc,
// kube/kube_actuator.cc, status/cluster_status.cc) and vigilctl watchdog decode
// them.
//
// GET /v1/watchdog:
// {"node", "state": LEADER|STANDBY|CANDIDATE|LOST|SHUTDOWN, "term", "leader" ("" none),
//  "quorum", "vipHeld", "leaderWithQuorum", "writeLeaseRequired",
//  "vip": {"address", "holder", "heldHere", "conflict"},
//  "members": [{"name", "host", "heartbeatPort", "apiPort", "proxyPort", "state", "self",
//               "term", "leader", "lastHeardMs" (null: never heard since this member's start),
//               this member: "writeLease", "writeLeaseRemainingMs" (-1: none required),
//               the others: "writeLeaseOver", "address" (null: its name does not resolve),
//                           "addressError"}],
//  "backends": [{"node", "up", "down", "live", "consensusDown"}],
//  "register": {"term", "version", "durableVersion", "doc" (any JSON; null: none)}}
// components.watchdog of GET /v1/status:
// {"state", "term", "leader", "quorum", "vipHeld", "members": {"<name>": "<state>"}}
//
// Decoding is tolerant, as the controller has always read these bodies (see
// common/json_fields.h): a sidecar of an older release (no write leases, no
// address, no vip.conflict, no writeLeaseRequired) reads with the defaults
// below; a field of another type reads as its default and is named in `notes`.
// Where a value is evidence for a failover a field of another type is no
// evidence: a member's lastHeardMs of another type reads as not shown, a
// writeLeaseOver of another type as no write-lease report. The only error is a
// body that is not an object or has no "members" (every sidecar has written
// it since the watchdog's first release). Pure; thread-safe (no state).
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil {

// This member's own write lease (sidecar/watchdog/contact_lease.h).
struct WatchdogOwnLease {
  bool held = false;
  int64_t remainingMs = -1;  // -1: no lease required (one or two members)
};

// What this member knows of another member's reach.
struct WatchdogPeerContact {
  bool writeLeaseOver = false;         // it can no longer hold a write lease we confirm
  std::optional<std::string> address;  // none (null): its host name does not resolve (yet)
  std::string addressError;
};

struct WatchdogMember {
  std::string name;
  std::string host;
  int heartbeatPort = 0;
  int apiPort = 0;
  int proxyPort = 0;
  std::string state;  // as this member sees it
  bool self = false;
  uint64_t term = 0;   // its term as last heard
  std::string leader;  // the leader it names; "" none
  // lastHeardShown false: no lastHeardMs (nothing may be concluded); then
  // lastHeardMs none (null): never heard since this member's start; 0 for self.
  bool lastHeardShown = false;
  std::optional<int64_t> lastHeardMs;
  std::optional<WatchdogOwnLease> ownLease;     // self, newer sidecars
  std::optional<WatchdogPeerContact> contact;  // the others, newer sidecars
};

// Consensus on one backend's PostgreSQL from the live members' health checks.
struct WatchdogBackend {
  std::string node;
  int up = 0;
  int down = 0;
  int live = 0;
  bool consensusDown = false;
};

struct WatchdogVip {
  std::string address;  // "" no VIP configured
  std::string holder;   // the live leader when a VIP is configured; "" none
  bool heldHere = false;
  std::string conflict;  // another host answering ARP for it; "" none (newer sidecars)
};

// The cluster-state register as stored on this member.
struct WatchdogRegister {
  uint64_t term = 0;
  uint64_t version = 0;
  uint64_t durableVersion = 0;  // known durable on a majority (leader only; 0 elsewhere)
  web::json::value doc;         // null until first written
};

// What both documents open with: this member's standing in the watchdog cluster.
struct WatchdogStanding {
  std::string state;  // this member's
  uint64_t term = 0;
  std::string leader;  // the live leader; "" none
  bool quorum = false;
  bool vipHeld = false;  // a VIP is configured and held here
};

struct WatchdogDetail : WatchdogStanding {
  std::string node;
  bool leaderWithQuorum = false;
  bool writeLeaseRequired = false;
  WatchdogVip vip;
  std::vector<WatchdogMember> members;
  std::vector<WatchdogBackend> backends;
  WatchdogRegister reg;  // "register"
};

struct WatchdogSummary : WatchdogStanding {
  std::map<std::string, std::string> members;  // name -> state as seen from here
};

web::json::value ToJson(const WatchdogDetail& d);
web::json::value ToJson(const WatchdogSummary& s);

// See the top of this file; `notes` (may be null) gets one line per field read
// as its default because of its type.
Result<WatchdogDetail> WatchdogDetailFromJson(const web::json::value& v,
                                              std::vector<std::string>* notes = nullptr);
WatchdogSummary WatchdogSummaryFromJson(const web::json::value& v,
                                        std::vector<std::string>* notes = nullptr);

bool operator==(const WatchdogStanding& a, const WatchdogStanding& b);
bool operator==(const WatchdogOwnLease& a, const WatchdogOwnLease& b);
bool operator==(const WatchdogPeerContact& a, const WatchdogPeerContact& b);
bool operator==(const WatchdogMember& a, const WatchdogMember& b);
bool operator==(const WatchdogBackend& a, const WatchdogBackend& b);
bool operator==(const WatchdogVip& a, const WatchdogVip& b);
bool operator==(const WatchdogRegister& a, const WatchdogRegister& b);
bool operator==(const WatchdogDetail& a, const WatchdogDetail& b);
bool operator==(const WatchdogSummary& a, const WatchdogSummary& b);

}  // namespace pgvigil
