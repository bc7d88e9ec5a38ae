#include "common/units.h"

#include <cctype>
#include <limits>

namespace pgvigil {

namespace {

// Splits "123ms" into 123 and "ms". Fails on empty number, sign, or spaces inside.
bool SplitNumber(const std::string& text, uint64_t* number, std::string* unit) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  size_t start = i;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    n = n * 10 + digit;
    ++i;
  }
  if (i == start) return false;
  size_t end = text.size();
  while (end > i && text[end - 1] == ' ') --end;
  *number = n;
  *unit = text.substr(i, end - i);
  return unit->find(' ') == std::string::npos;
}

bool MulOk(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

}  // namespace

std::optional<Millis> ParseDuration(const std::string& text) {
  uint64_t n;
  std::string unit;
  if (!SplitNumber(text, &n, &unit)) return std::nullopt;
  uint64_t factor;
  if (unit == "ms") factor = 1;
  else if (unit == "s" || unit.empty()) factor = 1000;
  else if (unit == "m" || unit == "min") factor = 60000;
  else if (unit == "h") factor = 3600000;
  else return std::nullopt;
  uint64_t ms;
  if (!MulOk(n, factor, &ms) || ms > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  return Millis(static_cast<int64_t>(ms));
}

std::optional<uint64_t> ParseSize(const std::string& text) {
  uint64_t n;
  std::string unit;
  if (!SplitNumber(text, &n, &unit)) return std::nullopt;
  uint64_t factor;
  if (unit.empty() || unit == "B") factor = 1;
  else if (unit == "kB" || unit == "KB" || unit == "KiB") factor = 1ull << 10;
  else if (unit == "MB" || unit == "MiB") factor = 1ull << 20;
  else if (unit == "GB" || unit == "GiB") factor = 1ull << 30;
  else if (unit == "TB" || unit == "TiB") factor = 1ull << 40;
  else return std::nullopt;
  uint64_t bytes;
  if (!MulOk(n, factor, &bytes)) return std::nullopt;
  return bytes;
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string FormatSize(uint64_t bytes) {
  const char* units[] = {"TB", "GB", "MB", "kB"};
  const int shifts[] = {40, 30, 20, 10};
  for (int i = 0; i < 4; ++i) {
    uint64_t f = 1ull << shifts[i];
    if (bytes != 0 && bytes % f == 0) return std::to_string(bytes / f) + units[i];
  }
  return std::to_string(bytes);
}

}  // namespace pgvigil
