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

value BuildSummary(const ClusterSpec& spec, const Election& e, int64_t now) {
  const int self = e.config().self;
  value v = value::object();
  v["state"] = value::string(ToString(e.Display(self, now)));
  v["term"] = value::number(e.term());
  v["leader"] = value::string(NameOf(spec, e.leader(now)));
  v["quorum"] = value::boolean(e.HasQuorum(now));
  v["vipHeld"] = value::boolean(spec.vip.enabled() && e.vipHeld());
  value members = value::object();  // name -> state, as seen from here
  for (int m = 0; m < e.config().members && m < static_cast<int>(spec.nodes.size()); ++m)
    members[spec.nodes[m].name] = value::string(ToString(e.Display(m, now)));
  v["members"] = members;
  return v;
}

value BuildDetail(const ClusterSpec& spec, const Election& e, int64_t now,
                  uint64_t durable_version) {
  const int self = e.config().self;
  const int leader = e.leader(now);
  value v = BuildSummary(spec, e, now);
  v["node"] = value::string(NameOf(spec, self));
  v["leaderWithQuorum"] = value::boolean(e.HasLease(now));
  value vip = value::object();
  vip["address"] = value::string(spec.vip.address);
  // The VIP follows the live leader; shown only when this member sees one.
  vip["holder"] = value::string(spec.vip.enabled() ? NameOf(spec, leader) : "");
  vip["heldHere"] = value::boolean(spec.vip.enabled() && e.vipHeld());
  v["vip"] = vip;
  value members = value::array();
  for (int m = 0; m < e.config().members; ++m) {
    const NodeSpec& n = spec.nodes[m];
    value j = value::object();
    j["name"] = value::string(n.name);
    j["host"] = value::string(n.host);
    j["heartbeatPort"] = value::number(spec.HeartbeatPort(n));
    j["apiPort"] = value::number(spec.ApiPort(n));
    j["proxyPort"] = value::number(spec.ProxyPort(n));
    j["state"] = value::string(ToString(e.Display(m, now)));
    j["self"] = value::boolean(m == self);
    if (m == self) {
      j["term"] = value::number(e.term());
      j["leader"] = value::string(NameOf(spec, leader));
      j["lastHeardMs"] = value::number(0);
    } else {
      const PeerView& p = e.peer(m);
      j["term"] = value::number(p.term);
      j["leader"] = value::string(NameOf(spec, p.leader));
      j["lastHeardMs"] = p.heard ? value::number(now - p.lastHeard) : value::null();
    }
    members[members.size()] = j;
  }
  v["members"] = members;
  value backends = value::array();
  for (const auto& b : BuildVerdicts(spec, e, now)) {
    value j = value::object();
    j["node"] = value::string(b.node);
    j["up"] = value::number(b.up);
    j["down"] = value::number(b.down);
    j["live"] = value::number(b.live);
    j["consensusDown"] = value::boolean(b.consensusDown);
    backends[backends.size()] = j;
  }
  v["backends"] = backends;
  value reg = value::object();
  reg["term"] = value::number(e.reg().term);
  reg["version"] = value::number(e.reg().version);
  reg["durableVersion"] = value::number(durable_version);
  reg["doc"] = ParseRegisterDoc(e.reg().doc);
  v["register"] = reg;
  return v;
}

}  // namespace watchdog
}  // namespace pgvigil
