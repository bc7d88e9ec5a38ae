// Kubernetes resource quantities ("10Gi", "500M", "1.5Gi", "1e9", "4096") as a
// whole number of bytes, and the byte sizes a PostgresCluster accepts: the spec
// file's forms ("16MB", PostgreSQL's 1024-based units) or a quantity ("16Mi").
// Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgvigil::kube {

// A non-negative quantity that is a whole number (of bytes); nullopt for
// malformed text, negative values, fractions of a unit ("1500m"), overflow.
std::optional<uint64_t> ParseQuantity(const std::string& text);

// "16MB" (= 16 x 2^20, as in the spec file and postgresql.conf) or a quantity.
std::optional<uint64_t> ParseByteSize(const std::string& text);

}  // namespace pgvigil::kube
