// See peer_addresses.h.
#include "sidecar/watchdog/peer_addresses.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

namespace pgvigil {
namespace watchdog {

Result<std::vector<Address>> ResolveWithSystem(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) return Result<std::vector<Address>>::Error(gai_strerror(rc));
  std::vector<Address> out;
  for (addrinfo* a = list; a; a = a->ai_next) {
    Address addr;
    if (a->ai_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      boost::asio::ip::address_v4::bytes_type b;
      std::copy_n(reinterpret_cast<const unsigned char*>(&sin->sin_addr), 4, b.begin());
      addr = boost::asio::ip::address_v4(b);
    } else if (a->ai_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      boost::asio::ip::address_v6::bytes_type b;
      std::copy_n(reinterpret_cast<const unsigned char*>(&sin6->sin6_addr), 16, b.begin());
      addr = boost::asio::ip::address_v6(b, sin6->sin6_scope_id);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  }
  ::freeaddrinfo(list);
  if (out.empty()) return Result<std::vector<Address>>::Error("no IPv4 or IPv6 address");
  return out;
}

PeerAddresses::PeerAddresses(std::vector<Peer> peers, int self, bool ipv6, Timing timing)
    : peers_(std::move(peers)), self_(self), ipv6_(ipv6), timing_(timing), state_(peers_.size()) {}

void PeerAddresses::Replace(std::vector<Peer> peers) {
  std::vector<State> state(peers.size());
  for (size_t i = 0; i < peers.size() && i < peers_.size(); ++i)
    if (peers[i].host == peers_[i].host && peers[i].port == peers_[i].port) state[i] = std::move(state_[i]);
  peers_ = std::move(peers);
  state_ = std::move(state);
}

std::vector<int> PeerAddresses::Due(int64_t now) const {
  std::vector<int> due;
  for (int i = 0; i < size(); ++i) {
    if (i == self_) continue;
    const State& s = state_[size_t(i)];
    const bool quick = s.flagged || s.addresses.empty();
    if (s.attempted < 0 || now - s.attempted >= (quick ? timing_.retryMs : timing_.refreshMs))
      due.push_back(i);
  }
  return due;
}

bool PeerAddresses::Resolved(int member, const Result<std::vector<Address>>& result, int64_t now) {
  State& s = state_[size_t(member)];
  const auto before = Endpoint(member);
  s.attempted = now;
  s.flagged = false;
  std::vector<Address> usable;
  if (result.ok())
    for (const Address& a : *result)
      if (a.is_v4() || ipv6_) usable.push_back(a);
  if (usable.empty()) {
    s.error = !result.ok() ? result.error()
                           : "resolves only to IPv6 addresses and this member's socket is IPv4 only";
    s.addresses.clear();
    s.current = 0;
  } else {
    s.error.clear();
    // Keep sending where we did while that address is still among the answers.
    size_t keep = 0;
    if (before) {
      auto it = std::find(usable.begin(), usable.end(), s.addresses[s.current]);
      if (it != usable.end()) keep = size_t(it - usable.begin());
    }
    s.addresses = std::move(usable);
    s.current = keep;
  }
  return before != Endpoint(member);
}

void PeerAddresses::SendFailed(int member) {
  State& s = state_[size_t(member)];
  s.flagged = true;
  if (!s.addresses.empty()) s.current = (s.current + 1) % s.addresses.size();
}

void PeerAddresses::Silent(int member) { state_[size_t(member)].flagged = true; }

std::optional<boost::asio::ip::udp::endpoint> PeerAddresses::Endpoint(int member) const {
  const State& s = state_[size_t(member)];
  if (s.addresses.empty()) return std::nullopt;
  Address a = s.addresses[s.current];
  // A dual-stack socket sends to IPv4 peers through their mapped IPv6 address.
  if (ipv6_ && a.is_v4())
    a = boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, a.to_v4());
  return boost::asio::ip::udp::endpoint(a, peers_[size_t(member)].port);
}

}  // namespace watchdog
}  // namespace pgvigil
