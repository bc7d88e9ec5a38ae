#include "common/spec_reader.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"
#include "common/units.h"

namespace pgvigil::spec_internal {

void ErrorSink::At(const YAML::Mark& mark, const std::string& path, const std::string& reason) {
  SpecError e;
  e.file = file_;
  e.line = mark.is_null() ? 0 : mark.line + 1;
  e.column = mark.is_null() ? 0 : mark.column + 1;
  e.path = path;
  e.reason = reason;
  errors_->push_back(std::move(e));
}

void ErrorSink::AtPath(const std::string& path, const std::string& reason) {
  std::string p = path;
  while (true) {
    auto it = marks_.find(p);
    if (it != marks_.end()) return At(it->second, path, reason);
    auto cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p = p.substr(0, cut);
  }
  At(YAML::Mark::null_mark(), path, reason);
}

void ErrorSink::Asked(const std::string& path) {
  if (!asked_) return;
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    out.push_back(path[i]);
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') ++i;
    }
  }
  asked_->insert(out);
}

static size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                            std::tolower(static_cast<unsigned char>(b[j - 1]))
                        ? 0
                        : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

MapReader::MapReader(ErrorSink* sink, const YAML::Node& node, std::string path)
    : sink_(sink), node_(node), path_(std::move(path)) {
  if (!node_.IsDefined() || node_.IsNull()) return;
  sink_->Remember(path_, node_.Mark());
  if (!node_.IsMap()) {
    sink_->At(node_.Mark(), path_, "expected a mapping of fields");
    return;
  }
  map_ = true;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) {
      sink_->At(it->first.Mark(), path_, "field names must be plain words");
      continue;
    }
    std::string key = it->first.Scalar();
    if (values_.count(key)) {
      sink_->At(it->first.Mark(), Child(key), "duplicate field (first given at line " +
                                                   std::to_string(key_marks_[key].line + 1) + ")");
      continue;
    }
    values_[key] = it->second;
    key_marks_[key] = it->first.Mark();
    sink_->Remember(Child(key), it->second.Mark());
  }
}

MapReader::~MapReader() {
  std::vector<std::string> known(consumed_.begin(), consumed_.end());
  for (const auto& [key, value] : values_) {
    if (consumed_.count(key)) continue;
    std::string hint = DidYouMean(key, known);
    sink_->At(key_marks_[key], Child(key),
              "unknown field" + (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)"));
  }
}

bool MapReader::Has(const std::string& key) const { return values_.count(key) > 0; }

YAML::Node MapReader::Take(const std::string& key) {
  consumed_.insert(key);
  sink_->Asked(Child(key));
  auto it = values_.find(key);
  return it == values_.end() ? YAML::Node() : it->second;
}

bool MapReader::Scalar(const std::string& key, YAML::Node* out, const char* expected) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) return false;
  if (!n.IsScalar()) {
    sink_->At(n.Mark(), Child(key), std::string("expected ") + expected);
    return false;
  }
  *out = n;
  return true;
}

void MapReader::String(const std::string& key, std::string* out, bool required) {
  YAML::Node n;
  if (Scalar(key, &n, "a string")) {
    *out = n.Scalar();
    if (required && out->empty()) sink_->At(n.Mark(), Child(key), "must not be empty");
  } else if (required && map_ && !Has(key)) {
    // An absent or non-mapping section is reported by whoever owns it.
    sink_->At(node_.Mark(), Child(key), "required field is missing");
  }
}

void MapReader::Int(const std::string& key, int* out, int min, int max) {
  YAML::Node n;
  if (!Scalar(key, &n, "an integer")) return;
  const std::string& s = n.Scalar();
  long long v = 0;
  size_t used = 0;
  bool ok = !s.empty();
  try {
    v = std::stoll(s, &used, 10);
  } catch (...) {
    ok = false;
  }
  if (!ok || used != s.size()) {
    sink_->At(n.Mark(), Child(key), "expected an integer, got '" + s + "'");
    return;
  }
  if (v < min || v > max) {
    sink_->At(n.Mark(), Child(key), "out of range: " + s + " (allowed " + std::to_string(min) +
                                        ".." + std::to_string(max) + ")");
    return;
  }
  *out = static_cast<int>(v);
}

void MapReader::Port(const std::string& key, int* out, bool zero_allowed) {
  Int(key, out, zero_allowed ? 0 : 1, 65535);
}

void MapReader::Bool(const std::string& key, bool* out) {
  YAML::Node n;
  if (!Scalar(key, &n, "true or false")) return;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "yes" || s == "on") *out = true;
  else if (s == "false" || s == "no" || s == "off") *out = false;
  else sink_->At(n.Mark(), Child(key), "expected true or false, got '" + s + "'");
}

void MapReader::Duration(const std::string& key, Millis* out, Millis min, Millis max) {
  YAML::Node n;
  if (!Scalar(key, &n, "a duration such as 500ms, 5s or 2m")) return;
  auto d = ParseDuration(n.Scalar());
  if (!d) {
    sink_->At(n.Mark(), Child(key),
              "expected a duration such as 500ms, 5s or 2m, got '" + n.Scalar() + "'");
    return;
  }
  if (*d < min || *d > max) {
    sink_->At(n.Mark(), Child(key), "out of range: " + n.Scalar() + " (allowed " +
                                        FormatDuration(min) + ".." + FormatDuration(max) + ")");
    return;
  }
  *out = *d;
}

void MapReader::Size(const std::string& key, uint64_t* out, uint64_t min, uint64_t max) {
  YAML::Node n;
  if (!Scalar(key, &n, "a size such as 16MB")) return;
  auto v = ParseSize(n.Scalar());
  if (!v) {
    sink_->At(n.Mark(), Child(key), "expected a size such as 512kB, 16MB or 1GB, got '" + n.Scalar() + "'");
    return;
  }
  if (*v < min || *v > max) {
    sink_->At(n.Mark(), Child(key), "out of range: " + n.Scalar() + " (allowed " + FormatSize(min) +
                                        ".." + FormatSize(max) + ")");
    return;
  }
  *out = *v;
}

void MapReader::StringList(const std::string& key, std::vector<std::string>* out) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) {
    sink_->At(n.Mark(), Child(key), "expected a list of strings");
    return;
  }
  out->clear();
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      sink_->At(n[i].Mark(), Child(key) + "[" + std::to_string(i) + "]", "expected a string");
      continue;
    }
    out->push_back(n[i].Scalar());
  }
}

void MapReader::StringMap(const std::string& key, std::map<std::string, std::string>* out) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) {
    sink_->At(n.Mark(), Child(key), "expected a mapping of names to values");
    return;
  }
  out->clear();
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) {
      sink_->At(it->first.Mark(), Child(key), "names must be plain words");
      continue;
    }
    std::string name = it->first.Scalar();
    if (!it->second.IsScalar()) {
      sink_->At(it->second.Mark(), Child(key) + "." + name, "expected a single value (a string)");
      continue;
    }
    sink_->Remember(Child(key) + "." + name, it->first.Mark());
    (*out)[name] = it->second.Scalar();
  }
}

int MapReader::Choice(const std::string& key, const std::vector<std::string>& choices) {
  YAML::Node n;
  if (!Scalar(key, &n, "a string")) return -1;
  for (size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == n.Scalar()) return static_cast<int>(i);
  const std::string list = Join(choices);
  std::string hint = DidYouMean(n.Scalar(), choices);
  sink_->At(n.Mark(), Child(key),
            "unknown value '" + n.Scalar() + "' (one of: " + list + ")" +
                (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
  return -1;
}

}  // namespace pgvigil::spec_internal
