// Internal to the spec parser: reads one YAML mapping field by field, recording
// every problem with its position and path, and which keys were consumed so the
// rest can be reported as unknown (with a did-you-mean). Not thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/spec_parser.h"

namespace pgvigil::spec_internal {

// Collects errors and remembers where each path was read, for checks that span
// several fields and run after reading.
class ErrorSink {
 public:
  ErrorSink(std::string file, std::vector<SpecError>* errors) : file_(std::move(file)), errors_(errors) {}
  void At(const YAML::Mark& mark, const std::string& path, const std::string& reason);
  // Reports at the position recorded for `path` (or its nearest recorded parent).
  void AtPath(const std::string& path, const std::string& reason);
  void Remember(const std::string& path, const YAML::Mark& mark) { marks_[path] = mark; }
  const std::string& file() const { return file_; }
  // When set, every field path a reader asks for (present or not) is added, with
  // list indices written "[]": the set of fields a parser knows (schema sync tests).
  void RecordFieldsIn(std::set<std::string>* asked) { asked_ = asked; }
  void Asked(const std::string& path);

 private:
  std::string file_;
  std::vector<SpecError>* errors_;
  std::map<std::string, YAML::Mark> marks_;
  std::set<std::string>* asked_ = nullptr;
};

class MapReader {
 public:
  // `node` may be undefined/null (the section is absent): every field keeps its default.
  MapReader(ErrorSink* sink, const YAML::Node& node, std::string path);
  ~MapReader();  // reports unknown keys

  const std::string& path() const { return path_; }
  bool present() const { return map_; }
  bool Has(const std::string& key) const;

  void String(const std::string& key, std::string* out, bool required = false);
  void Int(const std::string& key, int* out, int min, int max);
  void Port(const std::string& key, int* out, bool zero_allowed = false);
  void Bool(const std::string& key, bool* out);
  void Duration(const std::string& key, Millis* out, Millis min, Millis max);
  void Size(const std::string& key, uint64_t* out, uint64_t min, uint64_t max);
  void StringList(const std::string& key, std::vector<std::string>* out);
  // A mapping of names to scalar values (read as strings).
  void StringMap(const std::string& key, std::map<std::string, std::string>* out);
  // A string that must be one of `choices`; returns the index chosen or -1.
  int Choice(const std::string& key, const std::vector<std::string>& choices);
  // Raw access for nested structures (marks the key consumed).
  YAML::Node Take(const std::string& key);
  std::string Child(const std::string& key) const { return path_ + "." + key; }

 private:
  // The scalar at key, or nullptr-equivalent; reports non-scalars.
  bool Scalar(const std::string& key, YAML::Node* out, const char* expected);
  ErrorSink* sink_;
  YAML::Node node_;
  std::string path_;
  bool map_ = false;
  std::set<std::string> consumed_;
  std::map<std::string, YAML::Node> values_;
  std::map<std::string, YAML::Mark> key_marks_;
};

// The checks that span fields (spec_validate.cc), run on a spec read by any
// front end (the spec file, the Kubernetes custom resource). with_body false:
// only the metadata is checked.
void ValidateSpec(const ClusterSpec& spec, const SpecParseOptions& options, bool with_body,
                  ErrorSink* sink);
// Why postgres.parameters may not hold `name` = `value` ("" when it may): a name
// PostgreSQL would not take, a setting pgvigil manages itself, a value with a
// line break or NUL, a wal_level below replica.
std::string RefuseParameter(const std::string& name, const std::string& value);

// Closest candidate within a small edit distance, or "".
std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace pgvigil::spec_internal
