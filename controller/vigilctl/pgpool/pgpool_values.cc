#include "controller/vigilctl/pgpool/pgpool_values.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace pgvigil::pgpool {

namespace {

struct UnitFactor {
  const char* name;
  Unit base;
  double factor;
};

// How many base units one of each written unit is.
const UnitFactor kUnits[] = {
    {"TB", Unit::kBytes, 1024.0 * 1024 * 1024 * 1024},
    {"GB", Unit::kBytes, 1024.0 * 1024 * 1024},
    {"MB", Unit::kBytes, 1024.0 * 1024},
    {"kB", Unit::kBytes, 1024.0},
    {"B", Unit::kBytes, 1.0},
    {"TB", Unit::kKilobytes, 1024.0 * 1024 * 1024},
    {"GB", Unit::kKilobytes, 1024.0 * 1024},
    {"MB", Unit::kKilobytes, 1024.0},
    {"kB", Unit::kKilobytes, 1.0},
    {"B", Unit::kKilobytes, 1.0 / 1024},
    {"d", Unit::kMillis, 86400000.0},
    {"h", Unit::kMillis, 3600000.0},
    {"min", Unit::kMillis, 60000.0},
    {"s", Unit::kMillis, 1000.0},
    {"ms", Unit::kMillis, 1.0},
    {"us", Unit::kMillis, 0.001},
    {"d", Unit::kSeconds, 86400.0},
    {"h", Unit::kSeconds, 3600.0},
    {"min", Unit::kSeconds, 60.0},
    {"s", Unit::kSeconds, 1.0},
    {"ms", Unit::kSeconds, 0.001},
    {"us", Unit::kSeconds, 0.000001},
    {"d", Unit::kMinutes, 1440.0},
    {"h", Unit::kMinutes, 60.0},
    {"min", Unit::kMinutes, 1.0},
    {"s", Unit::kMinutes, 1.0 / 60},
    {"ms", Unit::kMinutes, 1.0 / 60000},
    {"us", Unit::kMinutes, 1.0 / 60000000},
};

}  // namespace

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::optional<bool> ParseBool(const std::string& text) {
  std::string v = Lower(Trim(text));
  if (v.empty()) return std::nullopt;
  auto prefix_of = [&](const char* word) { return std::strncmp(word, v.c_str(), v.size()) == 0; };
  if (v == "1") return true;
  if (v == "0") return false;
  if (prefix_of("true") || prefix_of("yes")) return true;
  if (prefix_of("false") || (v.size() > 0 && prefix_of("no"))) return false;
  // "o" is ambiguous between on and off.
  if (v.size() >= 2 && prefix_of("on")) return true;
  if (v.size() >= 2 && prefix_of("off")) return false;
  return std::nullopt;
}

std::optional<int64_t> ParseInt(const std::string& text, Unit unit) {
  std::string t = Trim(text);
  if (t.empty()) return std::nullopt;
  const char* s = t.c_str();
  char* end = nullptr;
  errno = 0;
  double value = static_cast<double>(std::strtol(s, &end, 0));
  if (*end == '.' || *end == 'e' || *end == 'E' || errno == ERANGE) {
    errno = 0;
    value = std::strtod(s, &end);
  }
  if (end == s || errno == ERANGE || std::isnan(value)) return std::nullopt;
  std::string rest = Trim(end);
  if (!rest.empty()) {
    if (unit == Unit::kNone) return std::nullopt;
    const UnitFactor* found = nullptr;
    for (const auto& u : kUnits)
      if (u.base == unit && rest == u.name) found = &u;
    if (!found) return std::nullopt;
    value *= found->factor;
  }
  value = std::rint(value);
  if (value > static_cast<double>(std::numeric_limits<int64_t>::max() / 2) ||
      value < static_cast<double>(std::numeric_limits<int>::min()))
    return std::nullopt;
  return static_cast<int64_t>(value);
}

std::optional<double> ParseReal(const std::string& text) {
  std::string t = Trim(text);
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(t.c_str(), &end);
  if (*end != '\0' || errno == ERANGE || std::isnan(v)) return std::nullopt;
  return v;
}

std::vector<std::string> SplitList(const std::string& text, char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t at = text.find(separator, start);
    std::string item =
        Trim(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (!item.empty()) out.push_back(item);
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

}  // namespace pgvigil::pgpool
