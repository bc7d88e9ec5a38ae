// vigilctl watchdog: the watchdog members as one sidecar sees them, like
// Pgpool-II's pcp_watchdog_info: a summary line, then one line per member (name,
// host:port, state), then the backends' consensus health, from the sidecar's
// GET /v1/watchdog (common/watchdog_detail.h). -o json prints that body unchanged.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "common/rest_client.h"
#include "common/watchdog_detail.h"
#include "controller/vigilctl/commands.h"

namespace pgvigil {
namespace {

std::string Format(const WatchdogDetail& d) {
  std::ostringstream out;
  out << d.members.size() << " members, quorum " << (d.quorum ? "YES" : "NO") << ", leader "
      << (d.leader.empty() ? "(none)" : d.leader) << ", term " << d.term;
  if (!d.vip.address.empty())
    out << ", VIP " << d.vip.address << " on " << (d.vip.holder.empty() ? "(nobody)" : d.vip.holder);
  out << "  [as seen by " << d.node << "]\n\n";
  out << std::left << std::setw(12) << "NAME" << std::setw(24) << "HOST:PORT" << std::setw(11)
      << "STATE" << std::setw(7) << "TERM" << std::setw(12) << "LEADER" << "LAST HEARD\n";
  for (const WatchdogMember& m : d.members) {
    std::string heard = m.lastHeardMs ? std::to_string(*m.lastHeardMs) + "ms ago" : "never";
    if (m.self) heard = "(this node)";
    out << std::setw(12) << m.name << std::setw(24) << (m.host + ":" + std::to_string(m.proxyPort))
        << std::setw(11) << m.state << std::setw(7) << m.term << std::setw(12)
        << (m.leader.empty() ? "-" : m.leader) << heard << "\n";
  }
  if (!d.backends.empty()) {
    out << "\n" << std::setw(12) << "BACKEND" << std::setw(14) << "CONSENSUS" << std::setw(6)
        << "UP" << std::setw(6) << "DOWN" << "LIVE MEMBERS\n";
    for (const WatchdogBackend& b : d.backends)
      out << std::setw(12) << b.node << std::setw(14) << (b.consensusDown ? "DOWN" : "up")
          << std::setw(6) << b.up << std::setw(6) << b.down << b.live << "\n";
  }
  return out.str();
}

}  // namespace

int CmdWatchdog(const CommandLine& cl) {
  std::string url = cl.Value("--sidecar", "http://127.0.0.1:9898");
  std::string output = cl.Value("-o", cl.Value("--output", "text"));
  if (!cl.Unknown().empty() || !cl.Positional().empty() || (output != "text" && output != "json")) {
    std::cerr << "usage: vigilctl watchdog [--sidecar URL] [-o text|json]\n";
    return 2;
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  RestClient client(url, "");
  auto reply = client.Get("/v1/watchdog");
  if (!reply.ok()) {
    std::cerr << "vigilctl watchdog: " << url << ": " << reply.error() << "\n";
    return 1;
  }
  if (reply->status != 200 || !reply->body.is_object()) {
    std::cerr << "vigilctl watchdog: " << url << "/v1/watchdog: " << DescribeFailure(*reply) << "\n";
    return 1;
  }
  if (output == "json") {
    std::cout << reply->body.serialize() << "\n";
    return 0;
  }
  auto detail = WatchdogDetailFromJson(reply->body);
  if (!detail.ok()) {
    std::cerr << "vigilctl watchdog: " << url << "/v1/watchdog: " << detail.error() << "\n";
    return 1;
  }
  std::cout << Format(*detail);
  return 0;
}

}  // namespace pgvigil
