#include "controller/kube/render_json.h"

#include <regex>
#include <sstream>

namespace pgvigil::kube {

using web::json::value;

value YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      value o = value::object();
      for (const auto& kv : node) o[kv.first.Scalar()] = YamlToJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      std::vector<value> items;
      for (const auto& item : node) items.push_back(YamlToJson(item));
      return value::array(std::move(items));
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return value::string(s);  // quoted
      if (s == "null" || s == "~" || s.empty()) return value::null();
      if (s == "true" || s == "True") return value::boolean(true);
      if (s == "false" || s == "False") return value::boolean(false);
      static const std::regex kInt("[-+]?[0-9]+"),
          kFloat("[-+]?([0-9]*\\.[0-9]+|[0-9]+\\.?[0-9]*)([eE][-+]?[0-9]+)?");
      if (std::regex_match(s, kInt)) {
        try {
          return value::number(static_cast<int64_t>(std::stoll(s)));
        } catch (const std::exception&) {
          return value::string(s);  // out of range: keep the text
        }
      }
      if (std::regex_match(s, kFloat)) return value::number(std::stod(s));
      return value::string(s);
    }
    default:
      return value::null();
  }
}

namespace {

// A double-quoted YAML scalar (JSON's escapes are valid YAML escapes).
std::string Quoted(const std::string& s) { return value::string(s).serialize(); }

bool Multiline(const std::string& s) {
  return s.find('\n') != std::string::npos && s.find('\r') == std::string::npos &&
         s.find('\t') == std::string::npos && s[0] != ' ' && s[0] != '\n';
}

// Keys that read as plain strings stay unquoted ("pgvigil.io/cluster").
std::string Key(const std::string& k) {
  static const std::regex kPlain("[A-Za-z_][A-Za-z0-9_./-]*");
  if (std::regex_match(k, kPlain) && k != "true" && k != "false" && k != "null" && k != "True" &&
      k != "False" && k != "y" && k != "n")
    return k;
  return Quoted(k);
}

std::string Scalar(const value& v) {
  switch (v.type()) {
    case value::String:
      return Quoted(v.as_string());
    case value::Null:
      return "null";
    default:
      return v.serialize();  // numbers, booleans
  }
}

bool Empty(const value& v) {
  return (v.is_object() && v.size() == 0) || (v.is_array() && v.size() == 0);
}

void Emit(const value& v, int indent, std::ostringstream& out);

// `prefix` is what precedes the value on its line ("key:" or "-").
void EmitAfter(const std::string& prefix, const value& v, int indent, std::ostringstream& out) {
  const std::string pad(indent, ' ');
  if (Empty(v)) {
    out << pad << prefix << (v.is_object() ? " {}" : " []") << "\n";
  } else if (prefix == "-" && (v.is_object() || v.is_array())) {
    // "- key: value" with the item's further lines under its first key.
    std::ostringstream item;
    Emit(v, indent + 2, item);
    out << pad << "- " << item.str().substr(indent + 2);
  } else if (v.is_object() || v.is_array()) {
    out << pad << prefix << "\n";
    Emit(v, indent + 2, out);
  } else if (v.is_string() && Multiline(v.as_string())) {
    const std::string& s = v.as_string();
    // "|" keeps one final newline, "|-" none; more than one final newline: quote.
    bool ends = !s.empty() && s.back() == '\n';
    if (ends && s.size() > 1 && s[s.size() - 2] == '\n') {
      out << pad << prefix << " " << Quoted(s) << "\n";
      return;
    }
    out << pad << prefix << (ends ? " |" : " |-") << "\n";
    std::istringstream lines(ends ? s.substr(0, s.size() - 1) : s);
    for (std::string line; std::getline(lines, line);)
      out << (line.empty() ? "" : pad + "  " + line) << "\n";
  } else {
    out << pad << prefix << " " << Scalar(v) << "\n";
  }
}

void Emit(const value& v, int indent, std::ostringstream& out) {
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) EmitAfter(Key(kv.first) + ":", kv.second, indent, out);
  } else if (v.is_array()) {
    for (const auto& item : v.as_array()) EmitAfter("-", item, indent, out);
  } else {
    out << std::string(indent, ' ') << Scalar(v) << "\n";
  }
}

}  // namespace

std::string ToYamlText(const value& v) {
  std::ostringstream out;
  if (Empty(v)) return v.is_object() ? "{}\n" : "[]\n";
  Emit(v, 0, out);
  return out.str();
}

value StringMapJson(const std::map<std::string, std::string>& m) {
  value o = value::object();
  for (const auto& [k, v] : m) o[k] = value::string(v);
  return o;
}

value StringListJson(const std::vector<std::string>& items) {
  std::vector<value> out;
  for (const auto& s : items) out.push_back(value::string(s));
  return value::array(std::move(out));
}

}  // namespace pgvigil::kube
