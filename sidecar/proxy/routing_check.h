// Checks a routing table published through PUT /v1/proxy/routing against the
// cluster spec the sidecar runs with (its members as they are now, see
// sidecar/live_membership.h): every node must be a spec node, at the
// spec's host and PostgreSQL port. A table naming anything else would make the
// proxy log in (with pool_passwd passwords) to an address nobody declared.
// Pure.
#pragma once

#include <string>

#include "common/result.h"
#include "common/spec.h"
#include "sidecar/proxy/proxy_api.h"

namespace pgvigil::proxy {

// Ok, or an error whose message names the field ("nodes[1].host: ...").
Status CheckRoutingAgainstSpec(const ClusterSpec& spec, const RoutingTable& table);

// The installed table once the membership changed to `spec.nodes`: nodes that
// are no longer members, or no longer at the spec's host and port, are dropped
// (named in `dropped`); a dropped primary leaves the table without one (no
// writes routed: fail closed). The generation stays.
RoutingTable KeepMembers(const ClusterSpec& spec, const RoutingTable& table, std::vector<std::string>* dropped);

}  // namespace pgvigil::proxy
