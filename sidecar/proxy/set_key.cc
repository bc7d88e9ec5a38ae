#include "sidecar/proxy/set_key.h"

#include <cstddef>
#include <vector>

#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {

namespace {

using Tokens = std::vector<SqlToken>;

bool Word(const Tokens& t, size_t i, size_t e, std::string_view w) {
  return i < e && t[i].kind == SqlToken::kWord && t[i].text == w;
}
bool Punct(const Tokens& t, size_t i, size_t e, std::string_view p) {
  return i < e && t[i].kind == SqlToken::kPunct && t[i].text == p;
}

void AsciiLower(std::string* s) {
  for (auto& c : *s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
}

// One part of a parameter name at t[i]: a word (the lexer lower-cased it) or
// a quoted identifier (no doubled quote inside, not empty). False otherwise.
bool NamePart(const Tokens& t, size_t i, size_t e, std::string* out) {
  if (i >= e) return false;
  if (t[i].kind == SqlToken::kWord) {
    *out += t[i].text;
    return true;
  }
  if (t[i].kind != SqlToken::kQuotedIdent || t[i].text.empty() || t[i].text.find('"') != std::string::npos)
    return false;
  *out += t[i].text;
  return true;
}

// A name (parts joined by '.') from t[*i]; *i is then past it. "" when none.
std::string Name(const Tokens& t, size_t* i, size_t e) {
  std::string n;
  if (!NamePart(t, *i, e, &n)) return "";
  ++*i;
  while (Punct(t, *i, e, ".")) {
    n += '.';
    if (!NamePart(t, *i + 1, e, &n)) return "";
    *i += 2;
  }
  AsciiLower(&n);
  return n;
}

// The tokens of a SET value list: words, strings, numbers, quoted
// identifiers, commas and signs; at least one.
bool ValueList(const Tokens& t, size_t i, size_t e) {
  if (i >= e) return false;
  for (; i < e; ++i) {
    const SqlToken& k = t[i];
    if (k.kind == SqlToken::kPunct ? !(k.text == "," || k.text == "-" || k.text == "+")
                                   : k.kind == SqlToken::kParam)
      return false;
  }
  return true;
}

// Parameters never keyed (set_key.h says why).
bool Unkeyed(const std::string& n) {
  static const char* const kNames[] = {
      "role", "session_authorization", "client_encoding", "names", "standard_conforming_strings",
      "backslash_quote", "datestyle", "default_text_search_config", "log_statement_stats", "log_parser_stats",
      "log_planner_stats", "log_executor_stats", "seed", "all"};
  for (const char* k : kNames)
    if (n == k) return true;
  return n.rfind("transaction", 0) == 0;
}

}  // namespace

std::string SetKey(std::string_view sql) {
  if (sql.find("--") != std::string_view::npos || sql.find("/*") != std::string_view::npos ||
      sql.find('\\') != std::string_view::npos)
    return "";
  const Tokens t = LexSql(sql);
  // One statement: ';' only at the end.
  size_t e = t.size();
  while (e > 0 && Punct(t, e - 1, e, ";")) --e;
  for (size_t i = 0; i < e; ++i)
    if (Punct(t, i, e, ";")) return "";
  std::string key;
  if (Word(t, 0, e, "set")) {
    size_t i = 1;
    // SET LOCAL (this transaction only), and SESSION as the first part of a
    // dotted name (not certain how PostgreSQL's grammar takes it).
    if (Word(t, i, e, "local") || (Word(t, i, e, "session") && Punct(t, i + 1, e, "."))) return "";
    if (Word(t, i, e, "session")) ++i;
    if (Word(t, i, e, "time") && Word(t, i + 1, e, "zone")) {
      key = "timezone";
      if (!ValueList(t, i + 2, e)) return "";
    } else {
      key = Name(t, &i, e);
      if (!(Word(t, i, e, "to") || Punct(t, i, e, "=")) || !ValueList(t, i + 1, e)) return "";
    }
  } else if (Word(t, 0, e, "reset")) {
    size_t i = 1;
    if (Word(t, i, e, "time") && Word(t, i + 1, e, "zone") && i + 2 == e) {
      key = "timezone";
    } else {
      key = Name(t, &i, e);
      if (i != e) return "";
    }
  }
  if (key.empty() || Unkeyed(key)) return "";
  return key;
}

}  // namespace pgvigil::proxy
