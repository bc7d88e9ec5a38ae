#include "controller/kube/testing/selectors.h"

#include <algorithm>
#include <cctype>

namespace pgvigil::kube::fake {

namespace {

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool ValidKey(const std::string& k) {
  if (k.empty() || k.size() > 316) return false;
  for (char c : k)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '/') return false;
  return true;
}

// Splits on commas outside parentheses.
std::vector<std::string> SplitTerms(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

Result<Requirement> ParseTerm(const std::string& raw) {
  std::string t = Trim(raw);
  Requirement r;
  auto bad = [&](const std::string& why) { return Result<Requirement>::Error("'" + t + "': " + why); };
  if (t.empty()) return bad("empty requirement");
  if (t[0] == '!') {
    r.key = Trim(t.substr(1));
    r.op = Requirement::Op::kNotExists;
    return ValidKey(r.key) ? Result<Requirement>(r) : bad("invalid key");
  }
  size_t ne = t.find("!="), eq = t.find('=');
  if (ne != std::string::npos || eq != std::string::npos) {
    size_t at = ne != std::string::npos ? ne : eq;
    size_t len = ne != std::string::npos ? 2 : (t.compare(eq, 2, "==") == 0 ? 2 : 1);
    r.key = Trim(t.substr(0, at));
    r.op = ne != std::string::npos ? Requirement::Op::kNotEquals : Requirement::Op::kEquals;
    r.values = {Trim(t.substr(at + len))};
    if (!ValidKey(r.key)) return bad("invalid key");
    return r;
  }
  size_t paren = t.find('(');
  if (paren != std::string::npos) {
    if (t.back() != ')') return bad("missing ')'");
    std::string head = Trim(t.substr(0, paren));
    size_t space = head.rfind(' ');
    if (space == std::string::npos) return bad("expected 'key in (...)' or 'key notin (...)'");
    r.key = Trim(head.substr(0, space));
    std::string op = head.substr(space + 1);
    if (op == "in") r.op = Requirement::Op::kIn;
    else if (op == "notin") r.op = Requirement::Op::kNotIn;
    else return bad("unknown operator '" + op + "'");
    std::string list = t.substr(paren + 1, t.size() - paren - 2);
    size_t start = 0;
    while (true) {
      size_t comma = list.find(',', start);
      std::string v = Trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!v.empty()) r.values.push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (r.values.empty()) return bad("an empty set");
    if (!ValidKey(r.key)) return bad("invalid key");
    return r;
  }
  r.key = t;
  r.op = Requirement::Op::kExists;
  return ValidKey(r.key) ? Result<Requirement>(r) : bad("invalid key");
}

bool Holds(const Requirement& r, const std::map<std::string, std::string>& labels) {
  auto it = labels.find(r.key);
  bool has = it != labels.end();
  auto in = [&] { return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end(); };
  switch (r.op) {
    case Requirement::Op::kEquals: return has && it->second == r.values[0];
    case Requirement::Op::kNotEquals: return !has || it->second != r.values[0];
    case Requirement::Op::kIn: return in();
    case Requirement::Op::kNotIn: return !in();
    case Requirement::Op::kExists: return has;
    case Requirement::Op::kNotExists: return !has;
  }
  return false;
}

}  // namespace

Result<Selector> Selector::ParseLabels(const std::string& text) {
  Selector s;
  if (Trim(text).empty()) return s;
  for (const auto& term : SplitTerms(text)) {
    auto r = ParseTerm(term);
    if (!r.ok()) return Result<Selector>::Error("invalid label selector: " + r.error());
    s.reqs_.push_back(*r);
  }
  return s;
}

Result<Selector> Selector::ParseFields(const std::string& text) {
  Selector s;
  s.fields_ = true;
  if (Trim(text).empty()) return s;
  for (const auto& term : SplitTerms(text)) {
    auto r = ParseTerm(term);
    if (!r.ok()) return Result<Selector>::Error("invalid field selector: " + r.error());
    if (r->op != Requirement::Op::kEquals && r->op != Requirement::Op::kNotEquals)
      return Result<Selector>::Error("invalid field selector: only =, == and != are supported");
    if (r->key != "metadata.name" && r->key != "metadata.namespace")
      return Result<Selector>::Error("field label not supported: " + r->key);
    s.reqs_.push_back(*r);
  }
  return s;
}

bool Selector::Matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& r : reqs_)
    if (!Holds(r, labels)) return false;
  return true;
}

bool Selector::MatchesObject(const web::json::value& object) const {
  std::map<std::string, std::string> values;
  if (object.has_object_field("metadata")) {
    const auto& meta = object.at("metadata");
    if (fields_) {
      for (const char* f : {"name", "namespace"})
        if (meta.has_string_field(f)) values[std::string("metadata.") + f] = meta.at(f).as_string();
    } else if (meta.has_object_field("labels")) {
      for (const auto& [k, v] : meta.at("labels").as_object())
        if (v.is_string()) values[k] = v.as_string();
    }
  }
  return Matches(values);
}

}  // namespace pgvigil::kube::fake
