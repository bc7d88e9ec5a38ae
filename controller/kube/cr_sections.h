// Internal to the custom-resource conversion (cluster_resource.cc): the spec
// sections a PostgresCluster shares with the VM spec file, read with the spec
// parser's readers (common/spec_reader.h) so messages read alike. Not thread-safe.
#pragma once

#include <string>

#include "common/spec_reader.h"
#include "controller/kube/cluster_resource.h"

namespace pgvigil::kube::cr_internal {

using spec_internal::ErrorSink;
using spec_internal::MapReader;

// Reports `key` as refused when it is set (to anything but null).
void Refuse(MapReader& r, const std::string& key, const std::string& reason, ErrorSink* sink);

// An int-or-string byte size: "16MB", "16Mi" or a number of bytes.
void ByteSize(MapReader& r, const std::string& key, uint64_t* out, uint64_t min, uint64_t max,
              ErrorSink* sink);

// postgres, healthCheck, failover, recovery, replication, proxy, watchdog, api:
// into res->spec, with every Secret reference added to res->secrets and the
// spec's ...File pointed at its mounted file.
void ReadSharedSections(MapReader& spec, ClusterResource* res, ErrorSink* sink);

bool IsDnsSubdomain(const std::string& s);

}  // namespace pgvigil::kube::cr_internal
