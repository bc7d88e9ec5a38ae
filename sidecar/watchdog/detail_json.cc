#include "sidecar/watchdog/detail_json.h"

namespace pgvigil {
namespace watchdog {

using web::json::value;

namespace {
std::string NameOf(const ClusterSpec& spec, int index) {
  return index >= 0 && index < static_cast<int>(spec.nodes.size()) ? spec.nodes[index].name : "";
}
}  // namespace

value ParseRegisterDoc(const std::string& doc) {
  if (doc.empty()) return value::null();
  try {
    return value::parse(doc);
  } catch (const std::exception&) {
    return value::null();
  }
}

WatchdogApi::Leadership BuildLeadership(const ClusterSpec& spec, const Election& e, int64_t now) {
  WatchdogApi::Leadership l;
  l.leaderWithQuorum = e.HasLease(now);
  l.term = e.term();
  l.leader = NameOf(spec, e.leader(now));
  l.quorum = e.HasQuorum(now);
  l.registerCurrent = e.RegisterCurrent(now);
  return l;
}

std::vector<WatchdogApi::BackendVerdict> BuildVerdicts(const ClusterSpec& spec, const Election& e,
                                                       int64_t now) {
  std::vector<WatchdogApi::BackendVerdict> out;
  for (size_t b = 0; b < spec.nodes.size(); ++b) {
    BackendConsensus c = e.Consensus(static_cast<int>(b), now);
    out.push_back({spec.nodes[b].name, c.up, c.down, c.live, c.consensusDown});
  }
  return out;
}

WatchdogStanding BuildStanding(const ClusterSpec& spec, const Election& e, int64_t now) {
  WatchdogStanding v;
  v.state = ToString(e.Display(e.config().self, now));
  v.term = e.term();
  v.leader = NameOf(spec, e.leader(now));
  v.quorum = e.HasQuorum(now);
  v.vipHeld = spec.vip.enabled() && e.vipHeld();
  return v;
}

WatchdogSummary BuildSummary(const ClusterSpec& spec, const Election& e, int64_t now) {
  WatchdogSummary v;
  static_cast<WatchdogStanding&>(v) = BuildStanding(spec, e, now);
  for (int m = 0; m < e.config().members && m < static_cast<int>(spec.nodes.size()); ++m)
    v.members[spec.nodes[m].name] = ToString(e.Display(m, now));
  return v;
}

WatchdogDetail BuildDetail(const ClusterSpec& spec, const Election& e, int64_t now,
                           uint64_t durable_version) {
  const int self = e.config().self;
  const int leader = e.leader(now);
  WatchdogDetail v;
  static_cast<WatchdogStanding&>(v) = BuildStanding(spec, e, now);
  v.node = NameOf(spec, self);
  v.leaderWithQuorum = e.HasLease(now);
  v.vip.address = spec.vip.address;
  // The VIP follows the live leader; shown only when this member sees one.
  v.vip.holder = spec.vip.enabled() ? NameOf(spec, leader) : "";
  v.vip.heldHere = spec.vip.enabled() && e.vipHeld();
  for (int m = 0; m < e.config().members; ++m) {
    const NodeSpec& n = spec.nodes[m];
    WatchdogMember j;
    j.name = n.name;
    j.host = n.host;
    j.heartbeatPort = spec.HeartbeatPort(n);
    j.apiPort = spec.ApiPort(n);
    j.proxyPort = spec.ProxyPort(n);
    j.state = ToString(e.Display(m, now));
    j.self = m == self;
    j.lastHeardShown = true;
    if (m == self) {
      j.term = e.term();
      j.leader = NameOf(spec, leader);
      j.lastHeardMs = 0;
    } else {
      const PeerView& p = e.peer(m);
      j.term = p.term;
      j.leader = NameOf(spec, p.leader);
      if (p.heard) j.lastHeardMs = now - p.lastHeard;
    }
    v.members.push_back(j);
  }
  v.backends = BuildVerdicts(spec, e, now);
  v.reg.term = e.reg().term;
  v.reg.version = e.reg().version;
  v.reg.durableVersion = durable_version;
  v.reg.doc = ParseRegisterDoc(e.reg().doc);
  return v;
}

}  // namespace watchdog
}  // namespace pgvigil
