// See vip_release.h.
#include "sidecar/watchdog/vip_release.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "common/process.h"

namespace pgvigil {
namespace watchdog {

bool AddressConfigured(const std::string& ip) {
  in_addr want{};
  if (inet_pton(AF_INET, ip.c_str(), &want) != 1) return false;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    found = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr == want.s_addr;
  }
  freeifaddrs(list);
  return found;
}

int ReleaseVip(const VipSpec& vip, std::ostream& out, std::ostream& err) {
  if (!vip.enabled()) {
    out << "release-vip: the spec has no VIP\n";
    return 0;
  }
  if (!AddressConfigured(vip.ip())) {
    out << "release-vip: VIP " << vip.address << " is not configured on this host\n";
    return 0;
  }
  std::vector<std::string> argv = SplitCommandLine(vip.Expand(vip.downCommand));
  if (argv.empty()) {
    err << "release-vip: spec.vip.downCommand is empty; VIP " << vip.address << " stays\n";
    return 1;
  }
  ProcessOptions opt;
  opt.timeout = std::chrono::seconds(5);
  opt.keepAmbientCapabilities = true;  // ip needs CAP_NET_ADMIN (packaged unit, no root)
  auto r = RunProcess(argv, opt);
  if (!r.ok()) {
    err << "release-vip: '" << vip.Expand(vip.downCommand) << "' could not run: " << r.error() << "\n";
    return 1;
  }
  if (AddressConfigured(vip.ip())) {
    err << "release-vip: '" << vip.Expand(vip.downCommand) << "' " << r->Describe()
        << " and VIP " << vip.address << " is still configured: " << r->outputTail << "\n";
    return 1;
  }
  out << "release-vip: VIP " << vip.address << " removed from " << vip.interface << "\n";
  return 0;
}

}  // namespace watchdog
}  // namespace pgvigil
