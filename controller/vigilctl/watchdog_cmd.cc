// vigilctl watchdog: the watchdog members as one sidecar sees them, like
// Pgpool-II's pcp_watchdog_info: a summary line, then one line per member (name,
// host:port, state), then the backends' consensus health. -o json prints the
// sidecar's GET /v1/watchdog body unchanged.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "common/rest_client.h"
#include "controller/vigilctl/commands.h"

namespace pgvigil {
namespace {

using web::json::value;

std::string Str(const value& v, const char* key) {
  return v.has_field(key) && v.at(key).is_string() ? v.at(key).as_string() : "";
}

std::string Num(const value& v, const char* key) {
  if (!v.has_field(key) || !v.at(key).is_number()) return "-";
  return std::to_string(v.at(key).as_number().to_int64());
}

bool Flag(const value& v, const char* key) {
  return v.has_field(key) && v.at(key).is_boolean() && v.at(key).as_bool();
}

std::string Format(const value& d) {
  std::ostringstream out;
  const value empty = value::array();
  const value& members = d.has_field("members") ? d.at("members") : empty;
  const value vip = d.has_field("vip") ? d.at("vip") : value::object();
  std::string leader = Str(d, "leader");
  out << members.size() << " members, quorum " << (Flag(d, "quorum") ? "YES" : "NO")
      << ", leader " << (leader.empty() ? "(none)" : leader) << ", term " << Num(d, "term");
  if (!Str(vip, "address").empty())
    out << ", VIP " << Str(vip, "address") << " on "
        << (Str(vip, "holder").empty() ? "(nobody)" : Str(vip, "holder"));
  out << "  [as seen by " << Str(d, "node") << "]\n\n";
  out << std::left << std::setw(12) << "NAME" << std::setw(24) << "HOST:PORT" << std::setw(11)
      << "STATE" << std::setw(7) << "TERM" << std::setw(12) << "LEADER" << "LAST HEARD\n";
  for (size_t i = 0; i < members.size(); ++i) {
    const value& m = members.at(i);
    std::string heard = m.has_field("lastHeardMs") && m.at("lastHeardMs").is_number()
                            ? Num(m, "lastHeardMs") + "ms ago"
                            : "never";
    if (Flag(m, "self")) heard = "(this node)";
    out << std::setw(12) << Str(m, "name") << std::setw(24)
        << (Str(m, "host") + ":" + Num(m, "proxyPort")) << std::setw(11) << Str(m, "state")
        << std::setw(7) << Num(m, "term") << std::setw(12)
        << (Str(m, "leader").empty() ? "-" : Str(m, "leader")) << heard << "\n";
  }
  if (d.has_field("backends") && d.at("backends").size() > 0) {
    const value& b = d.at("backends");
    out << "\n" << std::setw(12) << "BACKEND" << std::setw(14) << "CONSENSUS" << std::setw(6)
        << "UP" << std::setw(6) << "DOWN" << "LIVE MEMBERS\n";
    for (size_t i = 0; i < b.size(); ++i) {
      const value& x = b.at(i);
      out << std::setw(12) << Str(x, "node") << std::setw(14)
          << (Flag(x, "consensusDown") ? "DOWN" : "up") << std::setw(6) << Num(x, "up")
          << std::setw(6) << Num(x, "down") << Num(x, "live") << "\n";
    }
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
  } else {
    std::cout << Format(reply->body);
  }
  return 0;
}

}  // namespace pgvigil
