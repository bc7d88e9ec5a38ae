#include "controller/kube/quantity.h"

#include <cctype>
#include <limits>

#include "common/units.h"

namespace pgvigil::kube {

namespace {

using u128 = unsigned __int128;
constexpr u128 kMax = std::numeric_limits<uint64_t>::max();

bool Pow(u128 base, int exp, u128* out) {
  u128 r = 1;
  for (int i = 0; i < exp; ++i) {
    r *= base;
    if (r > kMax) return false;
  }
  *out = r;
  return true;
}

}  // namespace

std::optional<uint64_t> ParseQuantity(const std::string& text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '+') ++i;
  // The number: digits, optionally a '.' and more digits (at least one digit in all).
  u128 mantissa = 0;
  int fraction_digits = 0, digits = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    if (digits >= 30) return std::nullopt;  // far past any byte count
    mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
    ++digits;
    if (dot) ++fraction_digits;
  }
  if (digits == 0) return std::nullopt;
  std::string suffix = text.substr(i);
  // Value = mantissa * multiplier / 10^fraction_digits, which must be whole.
  u128 multiplier = 1;
  int divide_exp = fraction_digits;  // power of ten to divide by
  static const struct {
    const char* s;
    u128 base;
    int exp;
  } kSuffixes[] = {{"Ki", 1024, 1}, {"Mi", 1024, 2}, {"Gi", 1024, 3}, {"Ti", 1024, 4},
                   {"Pi", 1024, 5}, {"Ei", 1024, 6}, {"k", 10, 3},    {"M", 10, 6},
                   {"G", 10, 9},    {"T", 10, 12},   {"P", 10, 15},   {"E", 10, 18}};
  bool known = suffix.empty();
  for (const auto& s : kSuffixes) {
    if (suffix == s.s) {
      if (!Pow(s.base, s.exp, &multiplier)) return std::nullopt;
      known = true;
    }
  }
  if (suffix == "m") {  // milli: a thousandth
    divide_exp += 3;
    known = true;
  }
  if (!known && (suffix[0] == 'e' || suffix[0] == 'E') && suffix.size() > 1) {
    size_t j = 1;
    bool negative = false;
    if (suffix[j] == '+' || suffix[j] == '-') negative = suffix[j++] == '-';
    if (j == suffix.size() || suffix.size() - j > 2) return std::nullopt;
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(suffix[j]))) return std::nullopt;
      e = e * 10 + (suffix[j] - '0');
    }
    if (negative) {
      divide_exp += e;
    } else if (!Pow(10, e, &multiplier)) {
      return std::nullopt;
    }
    known = true;
  }
  if (!known) return std::nullopt;
  u128 value = mantissa * multiplier;
  if (mantissa != 0 && value / mantissa != multiplier) return std::nullopt;
  u128 divisor = 1;
  if (divide_exp > 38 || !Pow(10, divide_exp, &divisor)) {
    return mantissa == 0 ? std::optional<uint64_t>(0) : std::nullopt;
  }
  if (value % divisor != 0) return std::nullopt;
  value /= divisor;
  if (value > kMax) return std::nullopt;
  return static_cast<uint64_t>(value);
}

std::optional<uint64_t> ParseByteSize(const std::string& text) {
  if (auto v = ParseSize(text)) return v;
  return ParseQuantity(text);
}

}  // namespace pgvigil::kube
