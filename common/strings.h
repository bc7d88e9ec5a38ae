// Small string helpers shared by the controller and the sidecar.
#pragma once

#include <string>
#include <string_view>

namespace pgvigil {

// The items of `items` (any range of things a std::string can be appended
// with: std::string, std::string_view, const char*) in order, `sep` between
// two neighbours: "a, b, c"; "" for none. An empty item keeps its separators.
template <typename Range>
std::string Join(const Range& items, std::string_view sep = ", ") {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += sep;
    out += item;
    first = false;
  }
  return out;
}

}  // namespace pgvigil
