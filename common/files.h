// Small file helpers used across components.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace pgvigil {

Result<std::string> ReadFile(const std::string& path);
// A file that may not exist yet (state kept between runs): its content, or
// nullopt when there is no such file; any other failure is ReadFile's error.
Result<std::optional<std::string>> ReadFileIfPresent(const std::string& path);
// A secret (password, token, key): file content with trailing newline/space removed.
// Refused when CheckSecretFileMode refuses the file.
Result<std::string> ReadSecretFile(const std::string& path);
// A file holding a secret must be readable by its owner only, as PostgreSQL
// requires of its TLS key: refused (an error naming the file and its mode) when
// any permission bit is set for others, or for the group, except that a file
// owned by root may be group-readable (0640: a service group reads it). Refused
// rather than warned about, like libpq, which does not use a group- or
// world-readable ~/.pgpass: a secret others can read is not a secret any more.
Status CheckSecretFileMode(const std::string& path);
// Writes via a temporary file, fsync and rename, so readers see old or new, never half.
Status WriteFileAtomic(const std::string& path, const std::string& content, int mode = 0600);

}  // namespace pgvigil
