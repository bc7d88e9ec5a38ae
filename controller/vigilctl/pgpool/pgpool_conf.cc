// The pgpool.conf tokenizer follows Pgpool-II's lexer rule for rule: at each point
// the longest token wins, and on a tie the earlier rule (key, string, unquoted
// string, integer, real, '=').
#include "controller/vigilctl/pgpool/pgpool_conf.h"

#include <algorithm>

namespace pgvigil::pgpool {

namespace {

enum class Tok { kKey, kString, kUnquoted, kInteger, kReal, kEquals, kEol, kBad };

struct Token {
  Tok kind = Tok::kEol;
  std::string text;           // raw text
  std::string value;          // string without quotes
  bool doubledQuote = false;  // a '' inside the string (pgvigil's reading, not Pgpool-II's)
  bool spaceBefore = false;
};

bool IsLetter(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool IsLetterOrDigit(unsigned char c) { return IsLetter(c) || std::isdigit(c); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

size_t KeyLength(const std::string& s, size_t p) {
  if (!IsLetter(s[p])) return 0;
  size_t j = p + 1;
  while (j < s.size() && IsLetterOrDigit(s[j])) ++j;
  return j - p;
}

size_t UnquotedLength(const std::string& s, size_t p) {
  if (!IsLetter(s[p])) return 0;
  size_t j = p + 1;
  while (j < s.size() &&
         (IsLetterOrDigit(s[j]) || std::string("-._:/").find(s[j]) != std::string::npos))
    ++j;
  return j - p;
}

// Longest match of '([^'\n]|\\.)*' (doubled: also '' inside). 0 when none.
size_t StringLength(const std::string& s, size_t p, bool doubled) {
  if (s[p] != '\'') return 0;
  std::vector<bool> inside(s.size() + 2, false);
  inside[p + 1] = true;
  size_t best = 0;
  for (size_t j = p + 1; j < s.size(); ++j) {
    if (!inside[j]) continue;
    char c = s[j];
    if (c != '\'') inside[j + 1] = true;
    if (c == '\\' && j + 1 < s.size()) inside[j + 2] = true;
    if (c == '\'') {
      best = j + 1 - p;
      if (doubled && j + 1 < s.size() && s[j + 1] == '\'') inside[j + 2] = true;
    }
  }
  return best;
}

size_t IntegerLength(const std::string& s, size_t p) {
  size_t j = p;
  if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
  size_t digits = j;
  if (j + 2 < s.size() && s.compare(j, 2, "0x") == 0 && IsHex(s[j + 2])) {
    j += 2;
    while (j < s.size() && IsHex(s[j])) ++j;
  } else {
    while (j < s.size() && IsDigit(s[j])) ++j;
  }
  if (j == digits) return 0;
  while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
  return j - p;
}

size_t RealLength(const std::string& s, size_t p) {
  size_t j = p;
  if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
  while (j < s.size() && IsDigit(s[j])) ++j;
  if (j >= s.size() || s[j] != '.') return 0;
  ++j;
  while (j < s.size() && IsDigit(s[j])) ++j;
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    size_t k = j + 1;
    if (k < s.size() && (s[k] == '-' || s[k] == '+')) ++k;
    size_t d = k;
    while (k < s.size() && IsDigit(s[k])) ++k;
    if (k > d) j = k;
  }
  return j - p;
}

// Splits one line (no newline) into tokens; a comment ends it.
std::vector<Token> Tokenize(const std::string& line) {
  std::vector<Token> out;
  size_t p = 0;
  bool space = true;
  while (p < line.size()) {
    char c = line[p];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++p;
      space = true;
      continue;
    }
    if (c == '#') break;
    Token t;
    t.spaceBefore = space;
    space = false;
    size_t lengths[] = {KeyLength(line, p),      StringLength(line, p, false),
                        UnquotedLength(line, p), IntegerLength(line, p),
                        RealLength(line, p),     c == '=' ? 1u : 0u};
    size_t best = 0, which = 0;
    for (size_t i = 0; i < 6; ++i)
      if (lengths[i] > best) best = lengths[i], which = i;
    if (c == '\'') {
      size_t doubled = StringLength(line, p, true);
      if (doubled > best) best = doubled, which = 1, t.doubledQuote = true;
    }
    if (best == 0) {
      t.kind = Tok::kBad;
      t.text = std::string(1, c);
      out.push_back(t);
      return out;
    }
    t.kind = static_cast<Tok>(which);
    t.text = line.substr(p, best);
    if (t.kind == Tok::kString) {
      std::string inner = t.text.substr(1, t.text.size() - 2);
      if (t.doubledQuote) {
        std::string v;
        for (size_t i = 0; i < inner.size(); ++i) {
          v += inner[i];
          if (inner[i] == '\'' && i + 1 < inner.size() && inner[i + 1] == '\'') ++i;
        }
        inner = v;
      }
      t.value = inner;
    } else {
      t.value = t.text;
    }
    out.push_back(t);
    p += best;
  }
  return out;
}

bool IsValueToken(Tok k) {
  return k == Tok::kKey || k == Tok::kString || k == Tok::kUnquoted || k == Tok::kInteger ||
         k == Tok::kReal;
}

class Parser {
 public:
  Parser(const FileLoader& load, PgpoolConf* out) : load_(load), out_(out) {}

  void File(const std::string& text, const std::string& path, int depth) {
    int lineno = 0;
    size_t start = 0;
    while (start <= text.size()) {
      size_t nl = text.find('\n', start);
      std::string line =
          text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      ++lineno;
      Line(line, path, lineno, depth);
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }

 private:
  void Error(const std::string& file, int line, const std::string& text) {
    out_->messages.push_back({true, file, line, text});
  }
  void Warn(const std::string& file, int line, const std::string& text) {
    out_->messages.push_back({false, file, line, text});
  }

  void Line(const std::string& line, const std::string& path, int lineno, int depth) {
    std::vector<Token> toks = Tokenize(line);
    size_t i = 0;
    while (i < toks.size()) {
      const Token& k = toks[i];
      if (k.kind == Tok::kBad) {
        Error(path, lineno,
              "syntax error at '" + k.text + "' (quote values that are not a word or number)");
        return;
      }
      if (k.kind != Tok::kKey) {
        Error(path, lineno, "syntax error: expected a parameter name, found '" + k.text + "'");
        return;
      }
      ++i;
      if (i < toks.size() && toks[i].kind == Tok::kEquals) ++i;
      if (i >= toks.size() || !IsValueToken(toks[i].kind)) {
        std::string found = i < toks.size() ? "'" + toks[i].text + "'" : "the end of the line";
        Error(path, lineno, "syntax error: no value for '" + k.text + "' (found " + found + ")");
        return;
      }
      const Token& v = toks[i++];
      if (v.doubledQuote)
        Warn(path, lineno,
             "'" + k.text +
                 "': '' inside a quoted value read as one quote; Pgpool-II "
                 "itself ends the value at the first of the two quotes and rejects the line");
      if (i < toks.size() && !toks[i].spaceBefore && toks[i].kind != Tok::kBad) {
        Error(path, lineno,
              "syntax error: '" + toks[i].text + "' right after the value '" + v.text + "' of '" +
                  k.text + "' (quote the whole value)");
        return;
      }
      if (k.text == "include") {
        Include(v.value, path, lineno, depth);
      } else {
        out_->settings.push_back({k.text, v.value, path, lineno, v.kind == Tok::kString});
      }
    }
  }

  void Include(const std::string& name, const std::string& from, int lineno, int depth) {
    if (depth >= 10) {
      Error(from, lineno, "include '" + name + "': more than 10 nested includes");
      return;
    }
    std::string path = ResolvePath(DirName(from), name);
    if (!load_) {
      Error(from, lineno, "include '" + path + "': includes cannot be read here");
      return;
    }
    auto text = load_(path);
    if (!text.ok()) {
      Error(from, lineno, "include '" + path + "': " + text.error());
      return;
    }
    File(*text, path, depth + 1);
  }

  const FileLoader& load_;
  PgpoolConf* out_;
};

}  // namespace

bool PgpoolConf::ok() const {
  return std::none_of(messages.begin(), messages.end(),
                      [](const ConfMessage& m) { return m.error; });
}

std::map<std::string, const Setting*> PgpoolConf::Effective() const {
  std::map<std::string, const Setting*> out;
  for (const auto& s : settings) out[s.key] = &s;
  return out;
}

PgpoolConf ParsePgpoolConf(const std::string& text, const std::string& path,
                           const FileLoader& load) {
  PgpoolConf out;
  Parser(load, &out).File(text, path, 0);
  // A key set more than once: the last one counts, as in Pgpool-II.
  std::map<std::string, const Setting*> seen;
  for (const auto& s : out.settings) {
    auto [it, fresh] = seen.emplace(s.key, &s);
    if (!fresh) {
      out.messages.push_back({false, s.file, s.line,
                              "'" + s.key +
                                  "' is set again (the last setting wins; the earlier one is at " +
                                  it->second->file + ":" + std::to_string(it->second->line) + ")"});
      it->second = &s;
    }
  }
  return out;
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string ResolvePath(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  return dir == "/" ? "/" + path : dir + "/" + path;
}

}  // namespace pgvigil::pgpool
