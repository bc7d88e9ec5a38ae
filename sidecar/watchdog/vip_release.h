// `pgvigil-sidecar release-vip -f SPEC`: removes the spec's VIP from this host if
// it is configured here, with the spec's downCommand. For a service manager's
// stop hook, which runs even after the whole sidecar (VIP guard included) was
// SIGKILLed (systemd: ExecStopPost=/usr/bin/pgvigil-sidecar release-vip -f
// /etc/pgvigil/cluster.yaml), and for the lab's supervisor. Safe to run at any
// time on a host whose sidecar is not running: only the leader's sidecar may
// hold the VIP, and a stopped sidecar is not the leader.
#pragma once

#include <ostream>
#include <string>

#include "common/spec.h"

namespace pgvigil {
namespace watchdog {

// Whether `ip` (IPv4, no prefix) is configured on any interface of this host
// (network namespace).
bool AddressConfigured(const std::string& ip);

// Exit status: 0 when the VIP is not (or no longer) configured here, 1 when the
// down command failed or the address is still there. Messages go to out / err.
int ReleaseVip(const VipSpec& vip, std::ostream& out, std::ostream& err);

}  // namespace watchdog
}  // namespace pgvigil
