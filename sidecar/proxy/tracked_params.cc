#include "sidecar/proxy/tracked_params.h"

namespace pgvigil::proxy {

namespace {
bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
}  // namespace

int TrackedParameterIndex(std::string_view name) {
  for (size_t i = 0; i < kTrackedParameters; ++i)
    if (SameName(name, kTrackedParameterNames[i])) return int(i);
  return -1;
}

bool TrackedValues::Note(std::string_view name, std::string_view v) {
  int i = TrackedParameterIndex(name);
  if (i < 0 || (known[size_t(i)] && value[size_t(i)] == v)) return false;
  known[size_t(i)] = true;
  value[size_t(i)].assign(v.data(), v.size());
  return true;
}

uint64_t TrackedValuesIds::IdOf(const TrackedValues& v) {
  std::string key;
  for (size_t i = 0; i < kTrackedParameters; ++i) {
    if (!v.known[i]) {
      key += '-';
      continue;
    }
    key += std::to_string(v.value[i].size());
    key += ':';
    key += v.value[i];
  }
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  if (ids_.size() >= kMaxEntries) ids_.clear();
  return ids_.emplace(std::move(key), ++last_).first->second;
}

std::vector<std::string> TrackedParameterSets(const TrackedValues& client, const TrackedValues& backend) {
  std::vector<std::string> out;
  for (size_t i = 0; i < kTrackedParameters; ++i) {
    if (!client.known[i] || (backend.known[i] && backend.value[i] == client.value[i])) continue;
    std::string q = "SET ";
    q += kTrackedParameterNames[i];
    q += " = E'";
    for (char c : client.value[i]) {
      if (c == '\'' || c == '\\') q += c;
      q += c;
    }
    q += '\'';
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace pgvigil::proxy
