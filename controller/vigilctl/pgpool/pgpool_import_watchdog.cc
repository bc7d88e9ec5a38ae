// The watchdog (members, ports, heartbeat, key) and the delegate IP. Pgpool-II
// 4.2+ lists every member as hostnameN/wd_portN/pgpool_portN with
// heartbeat_hostnameN/heartbeat_portN; before, each file named its own host
// (wd_hostname, wd_port, wd_heartbeat_port) and the others (other_pgpool_hostnameN,
// other_wd_portN, other_pgpool_portN, heartbeat_destinationN,
// heartbeat_destination_portN). pgvigil runs one member in the sidecar beside each
// PostgreSQL server, so members are matched to the backends by host.
#include <algorithm>
#include <sstream>

#include "controller/vigilctl/pgpool/pgpool_importer.h"

namespace pgvigil::pgpool::internal {

namespace {

struct Member {
  std::string host;
  const Setting* hostSetting = nullptr;
  int wdPort = 0, proxyPort = 0, heartbeatPort = 0;
  const Setting* wdPortSetting = nullptr;
  const Setting* proxyPortSetting = nullptr;
};

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string Join(const std::vector<std::string>& w, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < w.size(); ++i) out += (out.empty() ? "" : " ") + w[i];
  return out;
}

// The word after `flag` in a command ("dev enp0s8" -> enp0s8), or "".
std::string After(const std::vector<std::string>& w, const std::string& flag) {
  for (size_t i = 0; i + 1 < w.size(); ++i)
    if (w[i] == flag) return w[i + 1];
  return "";
}

int PrefixOfNetmask(const std::string& mask) {
  unsigned a, b, c, d;
  char tail;
  if (std::sscanf(mask.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4) return -1;
  uint32_t m = (a << 24) | (b << 16) | (c << 8) | d;
  int n = 0;
  while (n < 32 && (m & (0x80000000u >> n))) ++n;
  return (n == 32 || (m << n) == 0) ? n : -1;
}

}  // namespace

void Importer::Watchdog() {
  auto& sp = spec();
  auto on = Bool("use_watchdog");
  watchdogOn_ = on.value_or(false);
  sp.watchdog.enabled = watchdogOn_;
  if (on)
    Mapped(Peek("use_watchdog"), std::string("spec.watchdog.enabled: ") + (*on ? "true" : "false"));
  else
    Add(FindingKind::kNote, nullptr,
        "use_watchdog is not set (Pgpool-II's default is off): spec.watchdog.enabled: "
        "false, so no VIP and no leader election");

  // Members, in either style.
  std::vector<Member> members;
  for (int n : Indexes("hostname")) {
    Member m;
    m.hostSetting = Take(Key("hostname", n));
    m.host = m.hostSetting->value;
    if (auto p = Int(Key("wd_port", n), Unit::kNone, 1, 65535))
      m.wdPort = int(*p), m.wdPortSetting = Peek(Key("wd_port", n));
    if (auto p = Int(Key("pgpool_port", n), Unit::kNone, 1, 65535))
      m.proxyPort = int(*p), m.proxyPortSetting = Peek(Key("pgpool_port", n));
    if (auto p = Int(Key("heartbeat_port", n), Unit::kNone, 1, 65535)) m.heartbeatPort = int(*p);
    if (const Setting* hb = Take(Key("heartbeat_hostname", n));
        hb && !hb->value.empty() && Lower(hb->value) != Lower(m.host))
      Unsupported(hb, "pgvigil sends heartbeats to each member's host address (" + m.host +
                          "); a separate heartbeat address is not supported");
    else if (hb)
      Mapped(hb, "heartbeats go to " + m.host);
    if (!m.host.empty()) members.push_back(m);
  }
  if (const Setting* self = Take("wd_hostname")) {
    Member m;
    m.hostSetting = self;
    m.host = self->value;
    if (auto p = Int("wd_port", Unit::kNone, 1, 65535))
      m.wdPort = int(*p), m.wdPortSetting = Peek("wd_port");
    if (auto p = Int("wd_heartbeat_port", Unit::kNone, 1, 65535)) {
      m.heartbeatPort = int(*p);
      Mapped(Peek("wd_heartbeat_port"), "heartbeat port of " + m.host);
    }
    m.proxyPort = spec().proxy.port;
    if (!m.host.empty()) members.push_back(m);
  } else if (auto p = Int("wd_port", Unit::kNone, 1, 65535)) {
    sp.watchdog.port = int(*p);
    Mapped(Peek("wd_port"), "spec.watchdog.port: " + std::to_string(*p));
  }
  if (auto p = Int("wd_heartbeat_port", Unit::kNone, 1, 65535); p && !Peek("wd_hostname")) {
    sp.watchdog.heartbeatPort = int(*p);
    Mapped(Peek("wd_heartbeat_port"), "spec.watchdog.heartbeatPort: " + std::to_string(*p));
  }
  for (int n : Indexes("other_pgpool_hostname")) {
    Member m;
    m.hostSetting = Take(Key("other_pgpool_hostname", n));
    m.host = m.hostSetting->value;
    if (auto p = Int(Key("other_wd_port", n), Unit::kNone, 1, 65535))
      m.wdPort = int(*p), m.wdPortSetting = Peek(Key("other_wd_port", n));
    if (auto p = Int(Key("other_pgpool_port", n), Unit::kNone, 1, 65535))
      m.proxyPort = int(*p), m.proxyPortSetting = Peek(Key("other_pgpool_port", n));
    if (!m.host.empty()) members.push_back(m);
  }
  // 4.0-style heartbeat destinations: the other members' addresses and ports.
  for (int n : Indexes("heartbeat_destination")) {
    const Setting* d = Take(Key("heartbeat_destination", n));
    auto port = Int(Key("heartbeat_destination_port", n), Unit::kNone, 1, 65535);
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const Member& m) { return Lower(m.host) == Lower(d->value); });
    if (d->value.empty()) continue;
    if (it == members.end()) {
      Unsupported(d, "pgvigil sends heartbeats to each member's host address; '" + d->value +
                         "' is no watchdog host, so a separate heartbeat network is not supported");
      continue;
    }
    Mapped(d, "heartbeats go to " + it->host);
    if (port)
      it->heartbeatPort = int(*port),
      Mapped(Peek(Key("heartbeat_destination_port", n)), "heartbeat port of " + it->host);
  }
  for (const char* stem : {"heartbeat_device", "heartbeat_destination_port"})
    for (int n : Indexes(stem)) {
      const Setting* s = Take(Key(stem, n));
      if (std::string(stem) == "heartbeat_device" && !s->value.empty())
        Unsupported(s,
                    "pgvigil does not bind heartbeats to a network device: they go out by the "
                    "routing table");
    }

  // Common ports: the first member's; members that differ get a per-node port.
  auto common = [&](int Member::*field, int fallback) {
    for (const auto& m : members)
      if (m.*field) return m.*field;
    return fallback;
  };
  sp.watchdog.port = common(&Member::wdPort, sp.watchdog.port);
  sp.watchdog.heartbeatPort = common(&Member::heartbeatPort, sp.watchdog.heartbeatPort);
  std::set<int> seen;
  for (const auto& m : members) {
    int i = NodeOfHost(m.host);
    if (i < 0) {
      Unsupported(m.hostSetting,
                  "pgvigil's watchdog runs in the sidecar beside each PostgreSQL server; the "
                  "Pgpool-II host '" +
                      m.host + "' is no backend host, so it has no member");
      continue;
    }
    auto& node = sp.nodes[i];
    Mapped(m.hostSetting, "watchdog member " + node.name);
    seen.insert(i);
    if (m.wdPort && m.wdPort != sp.watchdog.port) node.watchdogPort = m.wdPort;
    if (m.heartbeatPort && m.heartbeatPort != sp.watchdog.heartbeatPort)
      node.heartbeatPort = m.heartbeatPort;
    if (m.proxyPort && m.proxyPort != sp.proxy.port) node.proxyPort = m.proxyPort;
    if (m.wdPortSetting) Mapped(m.wdPortSetting, "watchdog port of " + node.name);
    if (m.proxyPortSetting) Mapped(m.proxyPortSetting, "proxy port of " + node.name);
  }
  if (watchdogOn_ && !members.empty())
    for (size_t i = 0; i < sp.nodes.size(); ++i)
      if (!seen.count(static_cast<int>(i)))
        Add(FindingKind::kNote, nullptr,
            sp.nodes[i].name + " (" + sp.nodes[i].host +
                ") had no Pgpool-II "
                "watchdog; pgvigil runs a member beside every PostgreSQL server");
  if (members.empty() && watchdogOn_)
    Add(FindingKind::kNote, nullptr,
        "no watchdog hosts in the file: every node is a member (pgvigil runs one "
        "beside every PostgreSQL server)");

  // Timing.
  auto keepalive = Int("wd_heartbeat_keepalive", Unit::kSeconds, 1, 3600);
  auto deadtime = Int("wd_heartbeat_deadtime", Unit::kSeconds, 1, 86400);
  if (keepalive) {
    sp.watchdog.heartbeatInterval = std::chrono::seconds(std::min<int64_t>(*keepalive, 10));
    if (*keepalive > 10)
      Unsupported(Peek("wd_heartbeat_keepalive"),
                  "pgvigil sends heartbeats at least every 10 s: 10s");
    else
      Mapped(Peek("wd_heartbeat_keepalive"),
             "spec.watchdog.heartbeatInterval: " + std::to_string(*keepalive) + "s");
  }
  if (deadtime) {
    auto d = std::chrono::seconds(std::min<int64_t>(*deadtime, 300));
    if (d <= 2 * sp.watchdog.heartbeatInterval)
      d = std::chrono::duration_cast<std::chrono::seconds>(2 * sp.watchdog.heartbeatInterval) +
          std::chrono::seconds(1);
    sp.watchdog.deadTime = d;
    if (*deadtime != d.count())
      Unsupported(Peek("wd_heartbeat_deadtime"),
                  "pgvigil needs 2 x heartbeatInterval < deadTime <= 5 min: " +
                      std::to_string(d.count()) + "s");
    else
      Mapped(Peek("wd_heartbeat_deadtime"),
             "spec.watchdog.deadTime: " + std::to_string(*deadtime) + "s");
  } else if (keepalive && sp.watchdog.deadTime <= 2 * sp.watchdog.heartbeatInterval) {
    sp.watchdog.deadTime = 3 * sp.watchdog.heartbeatInterval;
    Add(FindingKind::kNote, Peek("wd_heartbeat_keepalive"),
        "spec.watchdog.deadTime raised to 3 x heartbeatInterval");
  }
  if (const Setting* m = Take("wd_lifecheck_method")) {
    if (Lower(m->value) == "heartbeat")
      Mapped(m, "pgvigil's watchdog uses authenticated heartbeats");
    else
      Unsupported(
          m, "pgvigil's watchdog checks its members by authenticated heartbeats only, not by '" +
                 m->value + "'");
  }
  // The key.
  const Setting* key = Take("wd_authkey");
  if (watchdogOn_) {
    sp.watchdog.authKeyFile = ResolvePath(opt_.secretsDir, "watchdog.key");
    if (key && !key->value.empty())
      Mapped(key, "spec.watchdog.authKeyFile: " + sp.watchdog.authKeyFile),
          Secret(sp.watchdog.authKeyFile, "the watchdog's HMAC key, the same on every host",
                 "wd_authkey (" + key->file + ":" + std::to_string(key->line) +
                     "): put its value in the file");
    else
      Secret(sp.watchdog.authKeyFile, "the watchdog's HMAC key, the same on every host",
             "Pgpool-II's watchdog ran without wd_authkey; pgvigil requires one: make a random key "
             "(openssl rand -hex 32) and copy the file to every host");
  } else if (key && !key->value.empty()) {
    Note(key, "the watchdog is off: no key needed");
  }
}

void Importer::Vip() {
  auto& vip = spec().vip;
  const Setting* ip = Take("delegate_IP");
  if (const Setting* lower = Take("delegate_ip")) ip = lower;
  std::string up =
      String("if_up_cmd", "/usr/bin/sudo /sbin/ip addr add $_IP_$/24 dev eth0 label eth0:0");
  std::string down = String("if_down_cmd", "/usr/bin/sudo /sbin/ip addr del $_IP_$/24 dev eth0");
  std::string arping =
      String("arping_cmd", "/usr/bin/sudo /usr/sbin/arping -U $_IP_$ -w 1 -I eth0");
  std::string if_path = String("if_cmd_path", "/sbin");
  std::string arping_path = String("arping_path", "/usr/sbin");
  if (!ip || ip->value.empty()) return;
  if (!watchdogOn_) {
    Unsupported(
        ip, "Pgpool-II brings the delegate IP up only with use_watchdog = on; no VIP in the spec");
    return;
  }
  bool sudo = false;
  // Pgpool-II runs a command that does not start with '/' from if_cmd_path/arping_path;
  // pgvigil's sidecar holds CAP_NET_ADMIN/CAP_NET_RAW itself, so sudo is dropped.
  auto command = [&](const std::string& text, const std::string& dir) {
    std::vector<std::string> w = Words(text);
    size_t i = 0;
    if (i < w.size() &&
        (w[i] == "sudo" || (w[i].size() > 5 && w[i].compare(w[i].size() - 5, 5, "/sudo") == 0))) {
      sudo = true;
      ++i;
      while (i < w.size() && w[i][0] == '-') ++i;
    }
    if (i < w.size() && w[i][0] != '/') w[i] = ResolvePath(dir, w[i]);
    return Join(w, i);
  };
  vip.upCommand = command(up, if_path);
  vip.downCommand = command(down, if_path);
  vip.arpingCommand = command(arping, arping_path);
  std::vector<std::string> uw = Words(up), aw = Words(arping);
  int prefix = -1;
  auto at = up.find("$_IP_$/");
  if (at != std::string::npos) prefix = std::atoi(up.c_str() + at + 7);
  if (prefix <= 0) prefix = PrefixOfNetmask(After(uw, "netmask"));
  if (prefix <= 0 || prefix > 32) {
    prefix = 24;
    Note(Peek("if_up_cmd"), "no prefix length in if_up_cmd ($_IP_$/NN or netmask): assumed /24");
  }
  std::string iface = After(uw, "dev");
  if (iface.empty()) iface = After(aw, "-I");
  if (iface.empty() && !uw.empty()) {
    // ifconfig style: "ifconfig eth0:0 inet $_IP_$ ..."
    for (size_t i = 0; i + 1 < uw.size(); ++i)
      if (uw[i].size() >= 8 && uw[i].compare(uw[i].size() - 8, 8, "ifconfig") == 0)
        iface = uw[i + 1];
    iface = iface.substr(0, iface.find(':'));
  }
  if (!iface.empty())
    vip.interface = iface;
  else
    Note(Peek("if_up_cmd"),
         "no interface found in if_up_cmd or arping_cmd: assumed " + vip.interface);
  vip.address = ip->value + "/" + std::to_string(prefix);
  Mapped(ip, "spec.vip.address: " + vip.address + " on " + vip.interface);
  for (const char* key : {"if_up_cmd", "if_down_cmd", "arping_cmd", "if_cmd_path", "arping_path"})
    if (const Setting* s = Peek(key)) Mapped(s, "in spec.vip's commands");
  if (sudo)
    Note(Peek("if_up_cmd") ? Peek("if_up_cmd") : ip,
         "sudo left out of the VIP commands: the pgvigil-sidecar unit grants CAP_NET_ADMIN and "
         "CAP_NET_RAW "
         "(sudo would be refused under NoNewPrivileges)");
}

}  // namespace pgvigil::pgpool::internal
