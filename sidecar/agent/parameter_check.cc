#include "sidecar/agent/parameter_check.h"

#include <cerrno>
#include <cmath>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <strings.h>

namespace pgvigil {

const char* const kSettingRowsQuery =
    "SELECT coalesce(string_agg(concat_ws(E'\\t', name, vartype, coalesce(unit, ''), coalesce(min_val, ''), "
    "coalesce(max_val, ''), coalesce(array_to_string(enumvals, '|'), ''), context), E'\\n' ORDER BY name), '') "
    "FROM pg_settings";

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Fields between separators, empty ones kept (an empty unit is a field).
std::vector<std::string> Fields(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) out.emplace_back();
    else out.back().push_back(c);
  }
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// PostgreSQL's parse_bool: a prefix of true/false/yes/no, "on", "of(f)", 1, 0.
bool ParseBool(const std::string& v) {
  const size_t n = v.size();
  if (n == 0) return false;
  auto prefix_of = [&](const char* word, size_t at_least) {
    return n >= at_least && n <= std::strlen(word) && strncasecmp(v.c_str(), word, n) == 0;
  };
  switch (v[0]) {
    case 't': case 'T': return prefix_of("true", 1);
    case 'f': case 'F': return prefix_of("false", 1);
    case 'y': case 'Y': return prefix_of("yes", 1);
    case 'n': case 'N': return prefix_of("no", 1);
    case 'o': case 'O': return prefix_of("on", 2) || prefix_of("off", 2);
    case '1': case '0': return n == 1;
  }
  return false;
}

// A unit's size in bytes (memory) or microseconds (time); 0 when unknown.
// `kind` is 'm' or 't'. Unit names are case-sensitive, as in PostgreSQL.
double UnitSize(const std::string& unit, char* kind) {
  static const struct { const char* name; char kind; double size; } kUnits[] = {
      {"B", 'm', 1.0},          {"kB", 'm', 1024.0},      {"MB", 'm', 1048576.0},
      {"GB", 'm', 1073741824.0}, {"TB", 'm', 1099511627776.0},
      {"us", 't', 1.0},         {"ms", 't', 1e3},         {"s", 't', 1e6},
      {"min", 't', 60e6},       {"h", 't', 3600e6},       {"d", 't', 86400e6}};
  for (const auto& u : kUnits)
    if (unit == u.name) {
      *kind = u.kind;
      return u.size;
    }
  return 0;
}

// The setting's own unit ("8kB": 8 x kB) as a size and kind; 0 for none.
double BaseUnit(const std::string& unit, char* kind) {
  size_t i = 0;
  while (i < unit.size() && std::isdigit(static_cast<unsigned char>(unit[i]))) ++i;
  const double times = i == 0 ? 1.0 : std::strtod(unit.substr(0, i).c_str(), nullptr);
  const double size = UnitSize(unit.substr(i), kind);
  return size * times;
}

const char* UnitsOf(char kind) { return kind == 'm' ? "B, kB, MB, GB, TB" : "us, ms, s, min, h, d"; }

// A number as parse_int/parse_real read it, then an optional unit converted to
// the setting's; `why` set when it does not read.
bool ParseNumber(const SettingRow& row, const std::string& v, bool integer, double* out, std::string* why) {
  const char* s = v.c_str();
  char* end = nullptr;
  double val = 0;
  errno = 0;
  if (integer) {
    long long i = std::strtoll(s, &end, 0);
    val = static_cast<double>(i);
    if (*end == '.' || *end == 'e' || *end == 'E' || errno == ERANGE) {
      errno = 0;
      val = std::strtod(s, &end);
    }
  } else {
    val = std::strtod(s, &end);
  }
  if (end == s || errno == ERANGE || std::isnan(val)) {
    *why = integer ? "not an integer" : "not a number";
    return false;
  }
  while (IsSpace(*end)) ++end;
  std::string unit;
  while (*end && !IsSpace(*end)) unit += *end++;
  while (IsSpace(*end)) ++end;
  if (*end) {
    *why = "unexpected text after the number";
    return false;
  }
  char base_kind = 0;
  const double base = row.unit.empty() ? 0 : BaseUnit(row.unit, &base_kind);
  if (!unit.empty()) {
    if (base == 0) {
      *why = "unit '" + unit + "' given, but " + row.name + " takes no unit";
      return false;
    }
    char kind = 0;
    const double size = UnitSize(unit, &kind);
    if (size == 0 || kind != base_kind) {
      *why = "invalid unit '" + unit + "' (valid units for " + row.name + ": " + UnitsOf(base_kind) + ")";
      return false;
    }
    val = val * size / base;
  }
  if (integer) {
    val = std::rint(val);
    if (val > 2147483647.0 || val < -2147483648.0) {
      *why = "exceeds the integer range";
      return false;
    }
  }
  *out = val;
  return true;
}

std::string Show(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return std::to_string(v);
}

}  // namespace

SettingTable ParseSettingRows(const std::string& text) {
  SettingTable table;
  for (const std::string& line : Fields(text, '\n')) {
    std::vector<std::string> f = Fields(line, '\t');
    if (f.size() < 5 || f[0].empty()) continue;
    SettingRow r;
    r.name = f[0];
    r.vartype = f[1];
    r.unit = f[2];
    r.minVal = f[3];
    r.maxVal = f[4];
    if (f.size() > 5 && !f[5].empty()) r.enumvals = Fields(f[5], '|');
    if (f.size() > 6) r.context = f[6];
    table[Lower(r.name)] = std::move(r);
  }
  return table;
}

std::string CheckSetting(const SettingRow& row, const std::string& value) {
  if (row.vartype == "bool")
    return ParseBool(value) ? "" : "not a boolean (on, off, true, false, yes, no, 1, 0)";
  if (row.vartype == "enum") {
    for (const std::string& e : row.enumvals)
      if (strcasecmp(e.c_str(), value.c_str()) == 0) return "";
    // Values PostgreSQL takes but does not list in enumvals: the bool
    // spellings of on/off (synchronous_commit, huge_pages, ...), wal_level's
    // archive and hot_standby (replica), the message levels' debug (debug2).
    bool takes_bool = false, replica = false, debug2 = false;
    for (const std::string& e : row.enumvals) {
      takes_bool |= e == "on" || e == "off";
      replica |= e == "replica";
      debug2 |= e == "debug2";
    }
    if (takes_bool && ParseBool(value)) return "";
    if (replica && (strcasecmp(value.c_str(), "archive") == 0 || strcasecmp(value.c_str(), "hot_standby") == 0))
      return "";
    if (debug2 && strcasecmp(value.c_str(), "debug") == 0) return "";
    std::string list;
    for (const std::string& e : row.enumvals) list += (list.empty() ? "" : ", ") + e;
    return "not one of " + list;
  }
  if (row.vartype == "integer" || row.vartype == "real") {
    const bool integer = row.vartype == "integer";
    double v = 0;
    std::string why;
    if (!ParseNumber(row, value, integer, &v, &why)) return why;
    char* end = nullptr;
    const double lo = row.minVal.empty() ? -HUGE_VAL : std::strtod(row.minVal.c_str(), &end);
    const double hi = row.maxVal.empty() ? HUGE_VAL : std::strtod(row.maxVal.c_str(), &end);
    if (v < lo || v > hi)
      return Show(v) + (row.unit.empty() ? "" : " " + row.unit) + " is outside the valid range " + row.minVal + ".." +
             row.maxVal;
    return "";
  }
  return "";  // string: only the server's check at reload can refuse it
}

std::vector<ParameterProblem> CheckParameters(const SettingTable& table,
                                              const std::map<std::string, std::string>& params) {
  std::vector<ParameterProblem> out;
  for (const auto& [name, value] : params) {
    auto it = table.find(Lower(name));
    if (it == table.end()) {
      if (name.find('.') != std::string::npos) continue;  // a placeholder (an extension's setting)
      out.push_back({name, value, "unrecognized configuration parameter"});
      continue;
    }
    std::string why = CheckSetting(it->second, value);
    if (!why.empty()) out.push_back({name, value, why});
  }
  return out;
}

std::map<std::string, std::string> SessionTrials(const SettingTable& table,
                                                 const std::map<std::string, std::string>& params) {
  static const char* const kCatalogChecked[] = {"default_tablespace", "temp_tablespaces",
                                                "default_text_search_config", "default_table_access_method"};
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : params) {
    auto it = table.find(Lower(name));
    if (it == table.end() || it->second.vartype != "string") continue;
    if (it->second.context != "user" && it->second.context != "superuser") continue;
    bool catalog = false;
    for (const char* c : kCatalogChecked) catalog |= it->first == c;
    if (!catalog) out[name] = value;
  }
  return out;
}

std::string DescribeProblems(const std::vector<ParameterProblem>& problems) {
  std::string out;
  for (const auto& p : problems)
    out += (out.empty() ? "" : "; ") + p.name + ": value '" + p.value + "': " + p.reason;
  return out;
}

}  // namespace pgvigil
