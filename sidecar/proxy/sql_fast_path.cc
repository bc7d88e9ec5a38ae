#include "sidecar/proxy/sql_fast_path.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
constexpr std::array<bool, 256> MakeIdentChars() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[size_t(c)] = kClasses[size_t(c)] == kIdentStart || kClasses[size_t(c)] == kDigit || c == '$';
  return t;
}
constexpr std::array<bool, 256> kIdentChars = MakeIdentChars();
inline bool IsIdentChar(char c) { return kIdentChars[static_cast<unsigned char>(c)]; }
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

// The word-at-a-time scans below read 8 bytes as one integer, first byte lowest.
constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// A short word as an integer (little-endian bytes).
constexpr uint64_t Key(const char* w) {
  uint64_t k = 0;
  for (int i = 0; i < 8 && w[i]; ++i) k |= uint64_t(static_cast<unsigned char>(w[i])) << (8 * i);
  return k;
}

// A word after SELECT that the full classifier acts on without a call: a
// write or locking read (INTO, SHARE, UPDATE, ...), a system relation (pg_*,
// information_schema), set_config (session state). Also SELECT again and the
// sequence functions, as the fast path always refused them. The word is
// s[0, n); avail: bytes readable from s (at least n).
// Inlined: called for every word of a plain SELECT.
__attribute__((always_inline)) inline bool Unsure(const char* s, size_t n, size_t avail) {
  if (n < 3) return false;
  if (Lower(s[0]) == 'p' && Lower(s[1]) == 'g' && s[2] == '_') return true;
  // Past pg_*, only words of these lengths can be one of the others.
  constexpr uint32_t kLengths = 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 10 | 1u << 18;
  if (n > 18 || !((kLengths >> n) & 1)) return false;
  if (n == 10) return IEquals({s, n}, "set_config");
  if (n == 18) return IEquals({s, n}, "information_schema");
  if (n < 4 || n > 7) return false;
  // One integer compare a word. ORing 0x20 lower-cases a letter and turns no
  // other identifier character into one, and every key is letters alone.
  uint64_t key = 0;
  if (kLittleEndian && avail >= 8) {
    std::memcpy(&key, s, 8);
    key = (key & (~uint64_t(0) >> (8 * (8 - n)))) | (0x2020202020202020ULL >> (8 * (8 - n)));
  } else {
    for (size_t i = 0; i < n; ++i) key |= uint64_t(static_cast<unsigned char>(s[i]) | 0x20) << (8 * i);
  }
  switch (n) {
    case 4: return key == Key("into");
    case 5: return key == Key("share") || key == Key("merge");
    case 6:
      return key == Key("update") || key == Key("insert") || key == Key("delete") || key == Key("select") ||
             key == Key("setval");
    default: return key == Key("nextval");
  }
}

// 0x80 in each byte of x (8 bytes of text) that is not an identifier
// character (IsIdentChar: a letter, a digit, '_', '$' or a byte >= 0x80).
// A byte v of 7 bits is >= lo when v + (0x80 - lo) has its top bit, and
// above hi when v + (0x7f - hi) has it; neither sum carries into the next byte.
inline uint64_t NonIdentBytes(uint64_t x) {
  constexpr uint64_t k1 = 0x0101010101010101ULL, kTop = 0x8080808080808080ULL, kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  const uint64_t v = x & kLow7;
  auto in = [&](uint64_t w, unsigned lo, unsigned hi) { return (w + k1 * (0x80 - lo)) & ~(w + k1 * (0x7f - hi)); };
  const uint64_t ident = x | in(v | (k1 * 0x20), 'a', 'z') | in(v, '0', '9') | in(v, '_', '_') | in(v, '$', '$');
  return ~ident & kTop;
}

// 0x80 in each byte of x that is an ASCII letter (the same arithmetic).
inline uint64_t LetterBytes(uint64_t x) {
  constexpr uint64_t k1 = 0x0101010101010101ULL, kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  const uint64_t v = (x & kLow7) | (k1 * 0x20);
  return (v + k1 * (0x80 - 'a')) & ~(v + k1 * (0x7f - 'z')) & ~x & (k1 * 0x80);
}

// The end of the identifier that starts at s[i].
inline size_t IdentEnd(std::string_view s, size_t i) {
  const size_t n = s.size();
  for (; kLittleEndian && i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    if (const uint64_t stop = NonIdentBytes(x)) return i + size_t(__builtin_ctzll(stop) / 8);
  }
  while (i < n && IsIdentChar(s[i])) ++i;
  return i;
}

// Skips a quoted token at s[i] (its opening quote q, a doubled one inside);
// npos when it is not closed, or when a string has a backslash: after an E
// the lexer reads E'..\'..' as one escape string, a quote inside it hidden.
size_t SkipQuoted(std::string_view s, size_t i, char q) {
  for (++i; i < s.size(); ++i) {
    if (q == '\'' && s[i] == '\\') return std::string_view::npos;
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

#if defined(__SSE2__)
// What PlainSelect's loop decides about the rest of a statement t (after
// "SELECT "), 16 bytes at a time: kUnsure when t is long or has a byte that
// needs the loop's care (a quote, '$', '-', '/', '\\', '(', and a few
// harmless ones near them: '#', '%', '&'), which then decides. Classes are taken
// for every byte at once, as bit masks; the words are the runs of identifier
// characters, and those starting with a letter (a digit starts a number) go
// through Unsure. A word the loop would see inside a number ("1.into") is
// looked at here as well: at worst a false, which is allowed.
enum class Verdict { kRead, kNotSure, kUnsure };
Verdict PlainSelectRest(std::string_view t) {
  const size_t n = t.size();
  if (n >= 64) return Verdict::kUnsure;  // a zero byte after the last, in the masks
  alignas(16) unsigned char buf[64] = {};
  std::memcpy(buf, t.data(), n);
  uint64_t ident = 0, digit = 0, semi = 0, care = 0;
  for (size_t k = 0; k * 16 < n; ++k) {
    const __m128i b = _mm_load_si128(reinterpret_cast<const __m128i*>(buf + 16 * k));
    auto eq = [&](char c) { return _mm_cmpeq_epi8(b, _mm_set1_epi8(c)); };
    // x in [lo, hi] (bytes as unsigned, hi - lo < 127) in two operations: x - lo
    // + 0x80 is, as a signed byte, below -128 + (hi - lo + 1) exactly then.
    auto range = [](__m128i x, char lo, char hi) {
      return _mm_cmpgt_epi8(_mm_set1_epi8(char(-128 + (hi - lo + 1))), _mm_add_epi8(x, _mm_set1_epi8(char(0x80 - lo))));
    };
    auto bits = [&](__m128i m) { return uint64_t(uint32_t(_mm_movemask_epi8(m))) << (16 * k); };
    const __m128i d = range(b, '0', '9');
    const __m128i letter = range(_mm_or_si128(b, _mm_set1_epi8(0x20)), 'a', 'z');
    // A byte >= 0x80 has its top bit, all movemask reads: b itself marks it.
    ident |= bits(_mm_or_si128(_mm_or_si128(letter, d), _mm_or_si128(b, eq('_'))));
    digit |= bits(d);
    semi |= bits(eq(';'));
    // '"' # $ % & '\'' '(' (0x22 to 0x28), '-', '/', '\\'
    care |= bits(_mm_or_si128(_mm_or_si128(range(b, '"', '('), eq('-')), _mm_or_si128(eq('/'), eq('\\'))));
  }
  if (care) return Verdict::kUnsure;
  uint64_t words = ident;
  if (semi) {  // one statement: only whitespace after its ';'
    const size_t at = size_t(__builtin_ctzll(semi));
    for (size_t i = at + 1; i < n; ++i)
      if (!IsSpace(t[i])) return Verdict::kNotSure;
    words &= (semi & -semi) - 1;
  }
  for (uint64_t starts = words & ~(words << 1) & ~digit; starts; starts &= starts - 1) {
    const unsigned at = unsigned(__builtin_ctzll(starts));
    const unsigned len = unsigned(__builtin_ctzll(~(ident >> at)));  // the run ends within the 64 bits
    if (Unsure(t.data() + at, len, n - at)) return Verdict::kNotSure;
  }
  return Verdict::kRead;
}
#endif

bool PlainSelect(std::string_view sql, const ClassifierConfig& cfg) {
  if (!cfg.readOnlyFunctions.empty() || !cfg.writeFunctions.empty()) return false;
  const size_t n = sql.size();
  size_t i = 0;
  while (i < n && IsSpace(sql[i])) ++i;
  if (n - i < 7 || !IsSpace(sql[i + 6])) return false;
  if (kLittleEndian && n - i >= 8) {  // "select" in any case, as one integer (see Unsure)
    uint64_t w;
    std::memcpy(&w, sql.data() + i, 8);
    if (((w & 0xffffffffffffULL) | 0x202020202020ULL) != Key("select")) return false;
  } else if (!IEquals(sql.substr(i, 6), "select")) {
    return false;
  }
#if defined(__SSE2__)
  if (kLittleEndian) {
    const Verdict v = PlainSelectRest(sql.substr(i + 7));
    if (v != Verdict::kUnsure) return v == Verdict::kRead;
  }
#endif
  for (i += 7; i < n;) {
    const char c = sql[i];
    switch (ClassOf(c)) {
      case kIdentStart: {
        const size_t start = i;
        i = IdentEnd(sql, i + 1);
        if (Unsure(sql.data() + start, i - start, n - start)) return false;
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
  // Six ASCII letters and whitespace: the keyword, as one integer (see Unsure).
  if (sql.size() - b < 7 || !IsSpace(sql[b + 6])) return false;
  uint64_t key = 0;
  for (size_t i = 0; i < 6; ++i) {
    const char c = sql[b + i];
    if (static_cast<unsigned char>((c | 0x20) - 'a') >= 26) return false;
    key |= uint64_t(static_cast<unsigned char>(c | 0x20)) << (8 * i);
  }
  if (key != Key("insert") && key != Key("update") && key != Key("delete")) return false;
  size_t semi = sql.find(';');
  if (semi != std::string_view::npos)
    for (size_t i = semi + 1; i < sql.size(); ++i)
      if (!IsSpace(sql[i])) return false;
  return true;
}

TxCommand PlainTxCommand(std::string_view sql) {
  size_t b = 0, n = sql.size();
  while (b < n && IsSpace(sql[b])) ++b;
  size_t e = b;
  while (e < n && ((sql[e] >= 'a' && sql[e] <= 'z') || (sql[e] >= 'A' && sql[e] <= 'Z'))) ++e;
  std::string_view k = sql.substr(b, e - b);
  size_t i = e;
  while (i < n && IsSpace(sql[i])) ++i;
  if (i < n && sql[i] == ';') ++i;
  while (i < n && IsSpace(sql[i])) ++i;
  if (i != n) return TxCommand::kNone;  // anything else (a comment, options, a second statement)
  if (IEquals(k, "begin")) return TxCommand::kBegin;
  if (IEquals(k, "end") || IEquals(k, "commit") || IEquals(k, "rollback") || IEquals(k, "abort"))
    return TxCommand::kEnd;
  return TxCommand::kNone;
}

FastHead FastHeadOf(std::string_view sql) {
  const size_t n = sql.size();
  size_t i = 0;
  while (i < n && IsSpace(sql[i])) ++i;
  auto letter = [](char c) { return static_cast<unsigned char>((c | 0x20) - 'a') < 26; };
  uint64_t key = 0;  // the word lower-cased, as Key() spells it
  size_t len = 0;
  if (kLittleEndian && n - i >= 9) {  // its first 8 bytes as one integer
    uint64_t w;
    std::memcpy(&w, sql.data() + i, 8);
    if (const uint64_t other = ~LetterBytes(w) & 0x8080808080808080ULL) {
      len = size_t(__builtin_ctzll(other) / 8);
      key = (w | 0x2020202020202020ULL) & ((uint64_t(1) << (8 * len)) - 1);
    } else {
      if (letter(sql[i + 8])) return FastHead::kNone;  // longer than any of the words
      len = 8;
      key = w | 0x2020202020202020ULL;
    }
  } else {
    for (; i < n && letter(sql[i]); ++i, ++len) {
      if (len == 8) return FastHead::kNone;
      key |= uint64_t(static_cast<unsigned char>(sql[i] | 0x20)) << (8 * len);
    }
  }
  switch (len) {
    case 3: return key == Key("end") ? FastHead::kTx : FastHead::kNone;
    case 5: return key == Key("begin") || key == Key("abort") ? FastHead::kTx : FastHead::kNone;
    case 6:
      if (key == Key("select")) return FastHead::kSelect;
      if (key == Key("insert") || key == Key("update") || key == Key("delete")) return FastHead::kDml;
      return key == Key("commit") ? FastHead::kTx : FastHead::kNone;
    case 8: return key == Key("rollback") ? FastHead::kTx : FastHead::kNone;
    default: return FastHead::kNone;
  }
}

}  // namespace pgvigil::proxy
