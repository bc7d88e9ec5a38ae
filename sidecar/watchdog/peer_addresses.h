// PeerAddresses: where this member sends each peer's datagrams, found by name
// (KUBERNETES.md §4.5.1). Pod addresses change when a pod is recreated, and a
// peer's DNS name may not exist yet when this member starts, so:
//  * a peer is resolved (A and AAAA) when first needed, again every refresh
//    (10 s), and sooner (after retry, 1 s) when a send to it failed, when it has
//    been silent, or while it does not resolve at all;
//  * a peer that does not resolve is unknown: nothing is sent to it, and it
//    stays "not live" for the election exactly like a silent member. It never
//    stops this member from starting;
//  * an address family the socket cannot reach (IPv6 on an IPv4-only socket) is
//    skipped.
// Who sent a datagram is never taken from these addresses: the receiver knows a
// sender only by its authenticated message (wire_message.h).
// Pure bookkeeping: times are passed in and resolution results handed in (the
// resolver runs on its own thread, see watchdog_service.cc). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>

#include "common/result.h"

namespace pgvigil {
namespace watchdog {

using Address = boost::asio::ip::address;
// Resolves a host name or numeric address to its addresses (A and AAAA), in the
// order to try them. An error or an empty list: the name does not resolve now.
using HostResolver = std::function<Result<std::vector<Address>>(const std::string& host)>;
// getaddrinfo(AF_UNSPEC): blocks for as long as the system's resolver does.
Result<std::vector<Address>> ResolveWithSystem(const std::string& host);

class PeerAddresses {
 public:
  struct Peer {
    std::string host;
    uint16_t port = 0;
  };
  struct Timing {
    int64_t refreshMs = 10000;  // re-resolve a resolved peer this often
    int64_t retryMs = 1000;     // at most this often for a flagged or unresolved peer
  };
  // self: this member's index (never resolved, never a destination).
  // ipv6: the socket can send to IPv6 addresses (dual-stack).
  PeerAddresses(std::vector<Peer> peers, int self, bool ipv6, Timing timing);
  PeerAddresses(std::vector<Peer> peers, int self, bool ipv6)
      : PeerAddresses(std::move(peers), self, ipv6, Timing{}) {}

  // The membership changed: `peers` from now on. A member at the same index
  // with the same host and port keeps its addresses; the others are resolved
  // anew (at once).
  void Replace(std::vector<Peer> peers);

  // Members to resolve now (the resolver calls Resolved for each).
  std::vector<int> Due(int64_t now) const;
  // Outcome of resolving member's host at `now`. Returns true when the address
  // the member is sent to changed (including from or to unknown).
  bool Resolved(int member, const Result<std::vector<Address>>& result, int64_t now);
  // A send to the member failed: try its next address, and resolve again soon.
  void SendFailed(int member);
  // Nothing was heard from the member for a while: resolve again soon (a pod
  // recreated under the same name has a new address).
  void Silent(int member);

  // Where to send the member's datagrams; nullopt: unknown (not resolved).
  std::optional<boost::asio::ip::udp::endpoint> Endpoint(int member) const;
  // For GET /v1/watchdog: the last resolution error ("" when resolved or not tried).
  const std::string& LastError(int member) const { return state_[size_t(member)].error; }
  bool tried(int member) const { return state_[size_t(member)].attempted >= 0; }
  int size() const { return static_cast<int>(peers_.size()); }
  const Peer& peer(int member) const { return peers_[size_t(member)]; }

 private:
  struct State {
    std::vector<Address> addresses;  // usable ones, in resolver order
    size_t current = 0;              // index into addresses
    int64_t attempted = -1;          // time of the last resolution; -1 never
    bool flagged = false;
    std::string error;
  };
  std::vector<Peer> peers_;
  const int self_;
  const bool ipv6_;
  const Timing timing_;
  std::vector<State> state_;
};

}  // namespace watchdog
}  // namespace pgvigil
