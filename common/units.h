// Durations ("500ms", "5s", "2m", "1h", bare number = seconds) and sizes
// ("16MB", "512kB", "1GB", bare number = bytes), as written in a spec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/spec.h"

namespace pgvigil {

std::optional<Millis> ParseDuration(const std::string& text);
std::optional<uint64_t> ParseSize(const std::string& text);
std::string FormatDuration(Millis d);  // shortest exact form: "1500ms", "5s", "2m"
std::string FormatSize(uint64_t bytes);  // "16MB" when exact, else bytes

}  // namespace pgvigil
