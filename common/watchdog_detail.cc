#include "common/watchdog_detail.h"

#include <tuple>

#include "common/json_fields.h"

namespace pgvigil {

namespace {

using web::json::value;
using Reader = JsonFieldReader;
using json_fields::IsEntry;

// lastHeardMs: shown as null (never heard) or a number; another type is no
// evidence either way, so it is noted and read as not shown.
void ReadLastHeard(const Reader& r, WatchdogMember* m) {
  if (!r.Has("lastHeardMs")) return;
  if (!r.Get("lastHeardMs")) {
    m->lastHeardShown = true;  // null
    return;
  }
  int64_t ms = 0;
  if (r.I64("lastHeardMs", &ms)) {
    m->lastHeardShown = true;
    m->lastHeardMs = ms;
  }
}

WatchdogMember ReadMember(const Reader& r) {
  WatchdogMember m;
  r.Str("name", &m.name);
  r.Str("host", &m.host);
  r.Int("heartbeatPort", &m.heartbeatPort);
  r.Int("apiPort", &m.apiPort);
  r.Int("proxyPort", &m.proxyPort);
  r.Str("state", &m.state);
  r.Bool("self", &m.self);
  r.U64("term", &m.term);
  r.Str("leader", &m.leader);
  ReadLastHeard(r, &m);
  if (r.Get("writeLease")) {
    WatchdogOwnLease own;
    r.Bool("writeLease", &own.held);
    r.I64("writeLeaseRemainingMs", &own.remainingMs);
    m.ownLease = own;
  }
  // Only a true or false writeLeaseOver is a report on the write leases.
  if (const value* over = r.Get("writeLeaseOver")) {
    if (over->is_boolean()) {
      WatchdogPeerContact c;
      c.writeLeaseOver = over->as_bool();
      if (r.Get("address")) {
        std::string address;
        r.Str("address", &address);
        c.address = address;
      }
      r.Str("addressError", &c.addressError);
      m.contact = c;
    } else {
      r.Note("writeLeaseOver", "not true or false; no write-lease report");
    }
  }
  return m;
}

value ToJson(const WatchdogMember& m) {
  value j = value::object();
  j["name"] = value::string(m.name);
  j["host"] = value::string(m.host);
  j["heartbeatPort"] = value::number(m.heartbeatPort);
  j["apiPort"] = value::number(m.apiPort);
  j["proxyPort"] = value::number(m.proxyPort);
  j["state"] = value::string(m.state);
  j["self"] = value::boolean(m.self);
  j["term"] = value::number(m.term);
  j["leader"] = value::string(m.leader);
  if (m.lastHeardShown) j["lastHeardMs"] = m.lastHeardMs ? value::number(*m.lastHeardMs) : value::null();
  if (m.ownLease) {
    j["writeLease"] = value::boolean(m.ownLease->held);
    j["writeLeaseRemainingMs"] = value::number(m.ownLease->remainingMs);
  }
  if (m.contact) {
    j["writeLeaseOver"] = value::boolean(m.contact->writeLeaseOver);
    j["address"] = m.contact->address ? value::string(*m.contact->address) : value::null();
    j["addressError"] = value::string(m.contact->addressError);
  }
  return j;
}

value StandingJson(const WatchdogStanding& s) {
  value v = value::object();
  v["state"] = value::string(s.state);
  v["term"] = value::number(s.term);
  v["leader"] = value::string(s.leader);
  v["quorum"] = value::boolean(s.quorum);
  v["vipHeld"] = value::boolean(s.vipHeld);
  return v;
}

void ReadStanding(const Reader& r, WatchdogStanding* s) {
  r.Str("state", &s->state);
  r.U64("term", &s->term);
  r.Str("leader", &s->leader);
  r.Bool("quorum", &s->quorum);
  r.Bool("vipHeld", &s->vipHeld);
}

}  // namespace

value ToJson(const WatchdogDetail& d) {
  value v = StandingJson(d);
  v["node"] = value::string(d.node);
  v["leaderWithQuorum"] = value::boolean(d.leaderWithQuorum);
  v["writeLeaseRequired"] = value::boolean(d.writeLeaseRequired);
  value vip = value::object();
  vip["address"] = value::string(d.vip.address);
  vip["holder"] = value::string(d.vip.holder);
  vip["heldHere"] = value::boolean(d.vip.heldHere);
  vip["conflict"] = value::string(d.vip.conflict);
  v["vip"] = vip;
  value members = value::array(d.members.size());
  for (size_t i = 0; i < d.members.size(); ++i) members[i] = ToJson(d.members[i]);
  v["members"] = members;
  value backends = value::array(d.backends.size());
  for (size_t i = 0; i < d.backends.size(); ++i) {
    const WatchdogBackend& b = d.backends[i];
    value j = value::object();
    j["node"] = value::string(b.node);
    j["up"] = value::number(b.up);
    j["down"] = value::number(b.down);
    j["live"] = value::number(b.live);
    j["consensusDown"] = value::boolean(b.consensusDown);
    backends[i] = j;
  }
  v["backends"] = backends;
  value reg = value::object();
  reg["term"] = value::number(d.reg.term);
  reg["version"] = value::number(d.reg.version);
  reg["durableVersion"] = value::number(d.reg.durableVersion);
  reg["doc"] = d.reg.doc;
  v["register"] = reg;
  return v;
}

value ToJson(const WatchdogSummary& s) {
  value v = StandingJson(s);
  value members = value::object();
  for (const auto& [name, state] : s.members) members[name] = value::string(state);
  v["members"] = members;
  return v;
}

Result<WatchdogDetail> WatchdogDetailFromJson(const value& v, std::vector<std::string>* notes) {
  if (!v.is_object() || !v.has_field("members"))
    return Result<WatchdogDetail>::Error("watchdog detail has no 'members' list");
  Reader r(v, "", notes);
  WatchdogDetail d;
  ReadStanding(r, &d);
  r.Str("node", &d.node);
  r.Bool("leaderWithQuorum", &d.leaderWithQuorum);
  r.Bool("writeLeaseRequired", &d.writeLeaseRequired);
  if (const value* vip = r.Get("vip")) {
    Reader x(*vip, "vip", notes);
    x.Str("address", &d.vip.address);
    x.Str("holder", &d.vip.holder);
    x.Bool("heldHere", &d.vip.heldHere);
    x.Str("conflict", &d.vip.conflict);
  }
  r.Each("members", [&](const value& item, const std::string& path) {
    if (IsEntry(item, path, notes)) d.members.push_back(ReadMember(Reader(item, path, notes)));
  });
  r.Each("backends", [&](const value& item, const std::string& path) {
    if (!IsEntry(item, path, notes)) return;
    Reader x(item, path, notes);
    WatchdogBackend b;
    x.Str("node", &b.node);
    x.Int("up", &b.up);
    x.Int("down", &b.down);
    x.Int("live", &b.live);
    x.Bool("consensusDown", &b.consensusDown);
    d.backends.push_back(b);
  });
  if (const value* reg = r.Get("register")) {
    Reader x(*reg, "register", notes);
    x.U64("term", &d.reg.term);
    x.U64("version", &d.reg.version);
    x.U64("durableVersion", &d.reg.durableVersion);
    if (const value* doc = x.Get("doc")) d.reg.doc = *doc;
  }
  return d;
}

WatchdogSummary WatchdogSummaryFromJson(const value& v, std::vector<std::string>* notes) {
  Reader r(v, "components.watchdog", notes);
  WatchdogSummary s;
  ReadStanding(r, &s);
  if (const value* members = r.Get("members")) {
    if (!members->is_object()) {
      r.Note("members", "not an object");
    } else {
      for (const auto& [name, state] : members->as_object()) {
        if (state.is_string())
          s.members[name] = state.as_string();
        else if (notes)
          notes->push_back(r.Path("members") + "." + name + ": not a string; left out");
      }
    }
  }
  return s;
}

bool operator==(const WatchdogStanding& a, const WatchdogStanding& b) {
  return std::tie(a.state, a.term, a.leader, a.quorum, a.vipHeld) ==
         std::tie(b.state, b.term, b.leader, b.quorum, b.vipHeld);
}
bool operator==(const WatchdogOwnLease& a, const WatchdogOwnLease& b) {
  return a.held == b.held && a.remainingMs == b.remainingMs;
}
bool operator==(const WatchdogPeerContact& a, const WatchdogPeerContact& b) {
  return std::tie(a.writeLeaseOver, a.address, a.addressError) ==
         std::tie(b.writeLeaseOver, b.address, b.addressError);
}
bool operator==(const WatchdogMember& a, const WatchdogMember& b) {
  return std::tie(a.name, a.host, a.heartbeatPort, a.apiPort, a.proxyPort, a.state, a.self, a.term,
                  a.leader, a.lastHeardShown, a.lastHeardMs, a.ownLease, a.contact) ==
         std::tie(b.name, b.host, b.heartbeatPort, b.apiPort, b.proxyPort, b.state, b.self, b.term,
                  b.leader, b.lastHeardShown, b.lastHeardMs, b.ownLease, b.contact);
}
bool operator==(const WatchdogBackend& a, const WatchdogBackend& b) {
  return std::tie(a.node, a.up, a.down, a.live, a.consensusDown) ==
         std::tie(b.node, b.up, b.down, b.live, b.consensusDown);
}
bool operator==(const WatchdogVip& a, const WatchdogVip& b) {
  return std::tie(a.address, a.holder, a.heldHere, a.conflict) ==
         std::tie(b.address, b.holder, b.heldHere, b.conflict);
}
bool operator==(const WatchdogRegister& a, const WatchdogRegister& b) {
  return std::tie(a.term, a.version, a.durableVersion, a.doc) ==
         std::tie(b.term, b.version, b.durableVersion, b.doc);
}
bool operator==(const WatchdogDetail& a, const WatchdogDetail& b) {
  return static_cast<const WatchdogStanding&>(a) == static_cast<const WatchdogStanding&>(b) &&
         std::tie(a.node, a.leaderWithQuorum, a.writeLeaseRequired, a.vip, a.members, a.backends,
                  a.reg) == std::tie(b.node, b.leaderWithQuorum, b.writeLeaseRequired, b.vip,
                                     b.members, b.backends, b.reg);
}
bool operator==(const WatchdogSummary& a, const WatchdogSummary& b) {
  return static_cast<const WatchdogStanding&>(a) == static_cast<const WatchdogStanding&>(b) &&
         a.members == b.members;
}

}  // namespace pgvigil
