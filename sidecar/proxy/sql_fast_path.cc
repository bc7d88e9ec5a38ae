#include "sidecar/proxy/sql_fast_path.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace pgvigil::proxy {

namespace {

// One table lookup per byte; the classes follow LexSql (sql_classifier.cc).
enum Class : uint8_t {
  kPunct,       // a one-character token
  kSpace,       // isspace() in the C locale
  kIdentStart,  // a letter, '_' or a byte >= 0x80
  kDigit,
  kQuote,       // '
  kDquote,      // "
  kDollar,
  kSemicolon,
  kUnsure,      // '(' (a call), '\' (escape strings): the full classifier
  kSlash,       // "/*" starts a comment
  kDash,        // "--" starts a comment
};

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t k = kPunct;
    if (c == ' ' || (c >= '\t' && c <= '\r')) k = kSpace;
    else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80) k = kIdentStart;
    else if (c >= '0' && c <= '9') k = kDigit;
    else if (c == '\'') k = kQuote;
    else if (c == '"') k = kDquote;
    else if (c == '$') k = kDollar;
    else if (c == ';') k = kSemicolon;
    else if (c == '(' || c == '\\') k = kUnsure;
    else if (c == '/') k = kSlash;
    else if (c == '-') k = kDash;
    t[size_t(c)] = k;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClasses = MakeClasses();

inline uint8_t ClassOf(char c) { return kClasses[static_cast<unsigned char>(c)]; }
inline bool IsSpace(char c) { return ClassOf(c) == kSpace; }
inline bool IsIdentChar(char c) {
  uint8_t k = ClassOf(c);
  return k == kIdentStart || k == kDigit || c == '$';
}
inline bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != lower[i]) return false;
  return true;
}

// A word after SELECT that the full classifier acts on without a call: a
// write or locking read (INTO, SHARE, UPDATE, ...), a system relation (pg_*,
// information_schema), set_config (session state). Also SELECT again and the
// sequence functions, as the fast path always refused them.
bool Unsure(std::string_view w) {
  char b[19];
  const size_t n = w.size() < sizeof b ? w.size() : sizeof b;
  for (size_t i = 0; i < n; ++i) b[i] = Lower(w[i]);
  if (n >= 3 && b[0] == 'p' && b[1] == 'g' && b[2] == '_') return true;
  auto is = [&](const char* k) { return std::memcmp(b, k, w.size()) == 0; };
  switch (w.size()) {
    case 4: return is("into");
    case 5: return is("share") || is("merge");
    case 6: return is("update") || is("insert") || is("delete") || is("select") || is("setval");
    case 7: return is("nextval");
    case 10: return is("set_config");
    case 18: return is("information_schema");
    default: return false;
  }
}

// Skips a quoted token at s[i] (its opening quote q, a doubled one inside);
// npos when it is not closed.
size_t SkipQuoted(std::string_view s, size_t i, char q) {
  for (++i; i < s.size(); ++i) {
    if (s[i] != q) continue;
    if (i + 1 < s.size() && s[i + 1] == q) {
      ++i;
      continue;
    }
    return i + 1;
  }
  return std::string_view::npos;
}

}  // namespace

bool PlainSelect(std::string_view sql, const ClassifierConfig& cfg) {
  if (!cfg.readOnlyFunctions.empty() || !cfg.writeFunctions.empty()) return false;
  const size_t n = sql.size();
  size_t i = 0;
  while (i < n && IsSpace(sql[i])) ++i;
  if (n - i < 7 || !IEquals(sql.substr(i, 6), "select") || !IsSpace(sql[i + 6])) return false;
  for (i += 7; i < n;) {
    const char c = sql[i];
    switch (ClassOf(c)) {
      case kIdentStart: {
        const size_t start = i;
        while (i < n && IsIdentChar(sql[i])) ++i;
        if (Unsure(sql.substr(start, i - start))) return false;
        break;
      }
      case kDigit:  // a number token takes letters and '.' too (LexSql)
        while (i < n && (IsAlnum(sql[i]) || sql[i] == '.')) ++i;
        break;
      case kQuote:
      case kDquote:
        i = SkipQuoted(sql, i, c);
        if (i == std::string_view::npos) return false;
        break;
      case kDollar:  // $n parameters; a dollar quote: the full classifier
        if (i + 1 >= n || ClassOf(sql[i + 1]) != kDigit) return false;
        for (++i; i < n && ClassOf(sql[i]) == kDigit;) ++i;
        break;
      case kSemicolon:  // one statement: only whitespace may follow
        for (++i; i < n; ++i)
          if (!IsSpace(sql[i])) return false;
        return true;
      case kUnsure:
        return false;
      case kSlash:
        if (i + 1 < n && sql[i + 1] == '*') return false;
        ++i;
        break;
      case kDash:
        if (i + 1 < n && sql[i + 1] == '-') return false;
        ++i;
        break;
      default:
        ++i;
        break;
    }
  }
  return true;
}

bool PlainDml(std::string_view sql) {
  size_t b = 0;
  while (b < sql.size() && IsSpace(sql[b])) ++b;
  size_t e = b;
  while (e < sql.size() && ClassOf(sql[e]) == kIdentStart && sql[e] != '_' && (sql[e] & 0x80) == 0) ++e;
  if (e == sql.size() || !IsSpace(sql[e])) return false;
  std::string_view k = sql.substr(b, e - b);
  if (!IEquals(k, "insert") && !IEquals(k, "update") && !IEquals(k, "delete")) return false;
  size_t semi = sql.find(';');
  if (semi != std::string_view::npos)
    for (size_t i = semi + 1; i < sql.size(); ++i)
      if (!IsSpace(sql[i])) return false;
  return true;
}

}  // namespace pgvigil::proxy
