// Small file helpers used across components.
#pragma once

#include <string>

#include "common/result.h"

namespace pgvigil {

Result<std::string> ReadFile(const std::string& path);
// A secret (password, token, key): file content with trailing newline/space removed.
Result<std::string> ReadSecretFile(const std::string& path);
// Writes via a temporary file, fsync and rename, so readers see old or new, never half.
Status WriteFileAtomic(const std::string& path, const std::string& content, int mode = 0600);

}  // namespace pgvigil
