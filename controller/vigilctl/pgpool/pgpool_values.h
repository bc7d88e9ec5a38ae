// Pgpool-II's value grammar: booleans (on/off, true/false, yes/no, 1/0 and
// unique prefixes, any case), integers in decimal, octal (0600) or hex (0x1F),
// with a unit where the parameter has one (time: us ms s min h d; memory:
// B kB MB GB TB), fractions rounded, and comma-separated lists. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgvigil::pgpool {

// The base unit of a parameter (what a bare number means).
enum class Unit { kNone, kBytes, kKilobytes, kMillis, kSeconds, kMinutes };

std::optional<bool> ParseBool(const std::string& text);
// The value in the parameter's base unit; nullopt when malformed or the unit does
// not fit (a unit on a parameter without one, "5MB" for a time).
std::optional<int64_t> ParseInt(const std::string& text, Unit unit);
std::optional<double> ParseReal(const std::string& text);
// Comma-separated items, spaces around each removed, empty items dropped.
std::vector<std::string> SplitList(const std::string& text, char separator = ',');
std::string Lower(std::string s);
std::string Trim(const std::string& s);

}  // namespace pgvigil::pgpool
