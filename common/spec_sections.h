// Spec sections read the same way from the VM spec file (spec_parser.cc) and
// from a PostgresCluster (controller/kube/cr_sections.cc): one reading, one set
// of bounds. Each takes its section out of `spec` (an absent one keeps the
// defaults) and reports to `sink` with the section's path.
#pragma once

#include "common/spec.h"
#include "common/spec_reader.h"

namespace pgvigil::spec_internal {

void ReadHealthCheckSection(MapReader& spec, HealthCheckSpec* h, ErrorSink* sink);
void ReadRecoverySection(MapReader& spec, RecoverySpec* r, ErrorSink* sink);
void ReadReplicationSection(MapReader& spec, ReplicationSpec* r, ErrorSink* sink);
// proxy.pool (spec = the proxy section's reader).
void ReadProxyPoolSection(MapReader& proxy, ProxyPoolSpec* p, ErrorSink* sink);

}  // namespace pgvigil::spec_internal
