#include "sidecar/agent/pg_output_parse.h"

#include <cctype>
#include <sstream>

namespace pgvigil {

namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Reads digits at *i into *out; false when there are none or they overflow.
bool ReadNumber(const std::string& s, size_t* i, uint64_t* out) {
  size_t start = *i;
  uint64_t n = 0;
  while (*i < s.size() && std::isdigit(static_cast<unsigned char>(s[*i]))) {
    uint64_t d = static_cast<uint64_t>(s[*i] - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
    ++*i;
  }
  *out = n;
  return *i > start;
}

bool Expect(const std::string& s, size_t* i, const std::string& word) {
  if (s.compare(*i, word.size(), word) != 0) return false;
  *i += word.size();
  return true;
}

}  // namespace

std::optional<ControlData> ParseControlData(const std::string& output) {
  ControlData c;
  bool have_state = false;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = Trim(line.substr(0, colon));
    std::string val = Trim(line.substr(colon + 1));
    if (key == "Database cluster state") {
      c.clusterState = val;
      have_state = true;
    } else if (key == "Latest checkpoint's TimeLineID") {
      size_t i = 0;
      uint64_t n = 0;
      if (ReadNumber(val, &i, &n)) c.timeline = n;
    } else if (key == "wal_log_hints setting") {
      c.walLogHints = val == "on";
    } else if (key == "Data page checksum version") {
      c.checksums = !val.empty() && val != "0";
    }
  }
  if (!have_state) return std::nullopt;
  return c;
}

std::optional<CopyProgress> ParseCopyProgress(const std::string& raw) {
  std::string s = Trim(raw);
  size_t i = 0;
  uint64_t done_kb = 0, total_kb = 0, pct = 0;
  if (!ReadNumber(s, &i, &done_kb) || !Expect(s, &i, "/") || !ReadNumber(s, &i, &total_kb) ||
      !Expect(s, &i, " kB (") || !ReadNumber(s, &i, &pct) || !Expect(s, &i, "%)"))
    return std::nullopt;
  if (pct > 100) pct = 100;
  CopyProgress p;
  p.doneBytes = done_kb * 1024;
  p.totalBytes = total_kb * 1024;
  p.percent = static_cast<int>(pct);
  return p;
}

std::vector<ReplicaSeen> ParseReplicaRows(const std::string& text) {
  std::vector<ReplicaSeen> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    const size_t t1 = line.find('\t');
    const size_t t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos) continue;
    out.push_back({line.substr(0, t1), line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1)});
  }
  return out;
}

}  // namespace pgvigil
