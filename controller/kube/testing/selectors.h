// Label selectors (=, ==, !=, in, notin, exists, !key) and the field selectors
// kube-fake serves (metadata.name, metadata.namespace with = == !=), as in the
// API's labelSelector/fieldSelector query parameters. Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <cpprest/json.h>

#include "common/result.h"

namespace pgvigil::kube::fake {

struct Requirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kNotExists };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;
};

class Selector {
 public:
  // Empty text selects everything. Errors name the offending part (HTTP 400).
  static Result<Selector> ParseLabels(const std::string& text);
  static Result<Selector> ParseFields(const std::string& text);
  bool Matches(const std::map<std::string, std::string>& labels) const;
  // Labels (or, for a field selector, the supported fields) of an object.
  bool MatchesObject(const web::json::value& object) const;

 private:
  std::vector<Requirement> reqs_;
  bool fields_ = false;
};

}  // namespace pgvigil::kube::fake
