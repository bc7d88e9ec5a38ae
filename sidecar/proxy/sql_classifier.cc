#include "sidecar/proxy/sql_classifier.h"

#include <algorithm>

#include <cctype>

#include "sidecar/proxy/sql_commands.h"
#include "sidecar/proxy/sql_fast_path.h"

namespace pgvigil::proxy {

const char* ToString(SqlRoute r) {
  switch (r) {
    case SqlRoute::kEmpty: return "empty";
    case SqlRoute::kRead: return "read";
    case SqlRoute::kPrimary: return "primary";
    case SqlRoute::kAll: return "all";
    case SqlRoute::kLocal: return "local";
  }
  return "?";
}

namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80); }
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$'; }

std::string Lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

std::vector<SqlToken> LexSql(std::string_view s, bool* hint) {
  std::vector<SqlToken> out;
  LexSqlInto(s, hint, &out);
  return out;
}

void LexSqlInto(std::string_view s, bool* hint, std::vector<SqlToken>* tokens) {
  auto& out = *tokens;
  out.clear();
  size_t i = 0, n = s.size();
  while (i < n) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      size_t start = i;
      int depth = 0;
      while (i < n) {
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
      if (hint && out.empty()) {
        std::string body = Lower(s.substr(start, i - start));
        if (body.find("no load balance") != std::string::npos) *hint = true;
      }
    } else if (c == '\'' || ((c == 'e' || c == 'E') && i + 1 < n && s[i + 1] == '\'')) {
      bool escapes = c != '\'';
      if (escapes) ++i;
      ++i;
      size_t start = i;
      while (i < n) {
        if (escapes && s[i] == '\\' && i + 1 < n) {
          i += 2;
        } else if (s[i] == '\'') {
          if (i + 1 < n && s[i + 1] == '\'') {
            i += 2;
          } else {
            break;
          }
        } else {
          ++i;
        }
      }
      out.push_back({SqlToken::kString, std::string(s.substr(start, i - start))});
      if (i < n) ++i;
    } else if (c == '"') {
      size_t start = ++i;
      while (i < n && !(s[i] == '"' && !(i + 1 < n && s[i + 1] == '"'))) i += (s[i] == '"') ? 2 : 1;
      out.push_back({SqlToken::kQuotedIdent, std::string(s.substr(start, i - start))});
      if (i < n) ++i;
    } else if (c == '$' && i + 1 < n && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      size_t start = i++;
      while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      out.push_back({SqlToken::kParam, std::string(s.substr(start, i - start))});
    } else if (c == '$') {
      // Dollar quote $tag$ ... $tag$ (tag may be empty).
      size_t j = i + 1;
      while (j < n && IsIdentChar(s[j]) && s[j] != '$') ++j;
      if (j < n && s[j] == '$') {
        std::string_view tag = s.substr(i, j - i + 1);
        size_t end = s.find(tag, j + 1);
        size_t body_end = end == std::string_view::npos ? n : end;
        out.push_back({SqlToken::kString, std::string(s.substr(j + 1, body_end - j - 1))});
        i = end == std::string_view::npos ? n : end + tag.size();
      } else {
        out.push_back({SqlToken::kPunct, "$"});
        ++i;
      }
    } else if (IsIdentStart(c)) {
      size_t start = i;
      while (i < n && IsIdentChar(s[i])) ++i;
      out.push_back({SqlToken::kWord, Lower(s.substr(start, i - start))});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t start = i;
      while (i < n && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      out.push_back({SqlToken::kNumber, std::string(s.substr(start, i - start))});
    } else {
      out.push_back({SqlToken::kPunct, std::string(1, c), uint32_t(i)});
      ++i;
    }
  }
}

namespace {

bool IsWord(const std::vector<SqlToken>& t, size_t i, const char* w) {
  return i < t.size() && t[i].kind == SqlToken::kWord && t[i].text == w;
}

// t[i] names a relation of PostgreSQL's own catalogs: pg_catalog's tables and
// views are all called pg_* (pg_class, pg_prepared_xacts, pg_stat_activity,
// pg_locks, pg_settings ...), and information_schema's views read them. Read
// on a standby they show that server (its backends, its locks, its settings)
// or lag behind another session's DDL or PREPARE TRANSACTION; Pgpool-II sends
// every read of a system catalog to the primary for the same reasons. A user
// table called pg_something is sent there too (harmless). Not the views of the
// session's own backend (pg_prepared_statements, pg_cursors): they follow the
// statement's route like any read, to the backend holding the statements.
bool IsSystemRelation(const std::vector<SqlToken>& t, size_t i, size_t e) {
  const std::string& w = t[i].text;
  if (w == "information_schema") return true;
  if (w.size() <= 3 || w.compare(0, 3, "pg_") != 0) return false;
  if (w == "pg_prepared_statements" || w == "pg_cursors") return false;
  if (w == "pg_catalog")  // pg_catalog.now(): a schema-qualified function, not a relation
    return !(i + 3 < e && t[i + 1].text == "." && t[i + 3].kind == SqlToken::kPunct && t[i + 3].text == "(");
  return true;
}

// Function calls whose answer depends on the server that runs them, where the
// client expects the one it logged in to (the primary): its backend's pid
// (BackendKeyData carries the primary backend's), and the settings that say
// whether the server is a standby (current_setting('transaction_read_only') is
// on in every standby transaction; psycopg and others compare it with the
// default), or a setting named by a parameter, which the proxy cannot see.
bool IsNodeSpecificFunction(const std::vector<SqlToken>& t, size_t i, size_t e) {
  const std::string& w = t[i].text;
  if (w == "pg_backend_pid") return true;
  if (w != "current_setting" || i + 2 >= e) return false;
  if (t[i + 2].kind == SqlToken::kParam) return true;  // a name bound later: the proxy cannot tell
  if (t[i + 2].kind != SqlToken::kString) return false;
  std::string name = t[i + 2].text;
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name == "transaction_read_only" || name == "in_hot_standby";
}

// What the call set_config(name, value, is_local) at t[i] (t[i + 1] its
// parenthesis) leaves in the session: "" when is_local is written true (it
// ends with the transaction), kSetConfigOf + the name (lower-cased) when the
// name is a string literal, else "set_config()".
std::string SetConfigState(const std::vector<SqlToken>& t, size_t i, size_t e) {
  std::vector<std::pair<size_t, size_t>> args;  // [from, to) of each argument
  size_t from = i + 2;
  int depth = 0;
  for (size_t j = i + 2; j < e; ++j) {
    if (t[j].kind != SqlToken::kPunct) continue;
    if (t[j].text == "(") {
      ++depth;
    } else if (t[j].text == ")") {
      if (depth-- == 0) {
        args.emplace_back(from, j);
        break;
      }
    } else if (t[j].text == "," && depth == 0) {
      args.emplace_back(from, j);
      from = j + 1;
    }
  }
  if (args.size() != 3) return "set_config()";
  auto lower = [](std::string v) {
    for (auto& c : v) c = char(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  const SqlToken& local = t[args[2].first];
  if (args[2].second == args[2].first + 1 &&
      ((local.kind == SqlToken::kWord && local.text == "true") ||
       (local.kind == SqlToken::kString && (lower(local.text) == "true" || lower(local.text) == "t"))))
    return "";
  const SqlToken& name = t[args[0].first];
  if (args[0].second == args[0].first + 1 && name.kind == SqlToken::kString)
    return std::string(kSetConfigOf) + lower(name.text);
  return "set_config()";
}

// Classifies one statement t[b..e).
SqlClass ClassifyOne(const std::vector<SqlToken>& t, size_t b, size_t e,
                     const ClassifierConfig& cfg) {
  SqlClass r;
  auto word = [&](size_t i, const char* w) { return i < e && IsWord(t, i, w); };
  if (b >= e) {
    r.route = SqlRoute::kEmpty;
    return r;
  }
  if (t[b].kind != SqlToken::kWord) {
    r.route = SqlRoute::kPrimary;
    r.reason = "not a keyword";
    return r;
  }
  const std::string& k = t[b].text;
  auto primary = [&](const char* why, bool write) {
    r.route = SqlRoute::kPrimary;
    r.write = write;
    r.reason = why;
    return r;
  };
  if (k == "show") {
    size_t i = b + 1;
    if (word(i, "pgpool")) ++i;  // "PGPOOL SHOW" is the other order; handled below
    if (word(i, "pool_nodes")) {
      r.route = SqlRoute::kLocal;
      r.local = LocalCommand::kPoolNodes;
      return r;
    }
    if (word(i, "pool_version")) {
      r.route = SqlRoute::kLocal;
      r.local = LocalCommand::kPoolVersion;
      return r;
    }
    // The admin console; none of these names is a PostgreSQL setting.
    if (i + 1 == e && (word(i, "pools") || word(i, "clients") || word(i, "servers"))) {
      r.route = SqlRoute::kLocal;
      r.local = word(i, "pools") ? LocalCommand::kPools : word(i, "clients") ? LocalCommand::kClients
                                                                              : LocalCommand::kServers;
      return r;
    }
    return primary("show", false);
  }
  if (k == "pgpool" && word(b + 1, "show")) {
    SqlClass inner = ClassifyOne(t, b + 1, e, cfg);
    if (inner.route == SqlRoute::kLocal) return inner;
    return primary("pgpool command", false);
  }
  if (ClassifySessionCommand(t, b, e, &r)) return r;
  if (k == "listen" || k == "unlisten" || k == "notify") {
    primary("listen/notify", false);
    if (k == "listen") r.sessionState = "LISTEN";
    return r;
  }
  if (k == "prepare" && !word(b + 1, "transaction")) {
    primary("not a read", true);
    r.kind = StmtKind::kPrepare;
    if (b + 1 < e) r.object = t[b + 1].text;
    r.sessionState = "a prepared statement (SQL PREPARE)";
    return r;
  }
  if (k == "load") {
    primary("not a read", true);
    r.sessionState = "LOAD";
    return r;
  }
  if (k == "declare") {
    primary("not a read", true);
    for (size_t i = b + 1; i + 1 < e; ++i)
      if (word(i, "with") && word(i + 1, "hold")) r.sessionState = "a cursor WITH HOLD";
    return r;
  }
  if (k == "copy") {
    for (size_t i = b + 1; i < e; ++i) {
      if (word(i, "from")) return primary("copy from", true);
      if (word(i, "to")) {
        r.route = SqlRoute::kRead;
        r.reason = "copy to";
        return r;
      }
    }
    return primary("copy", true);
  }
  if (k == "explain") {
    size_t i = b + 1;
    bool analyze = false;
    // EXPLAIN [ANALYZE] [VERBOSE] stmt | EXPLAIN ( options ) stmt
    if (i < e && t[i].kind == SqlToken::kPunct && t[i].text == "(") {
      for (; i < e && !(t[i].kind == SqlToken::kPunct && t[i].text == ")"); ++i)
        if (IsWord(t, i, "analyze")) analyze = true;
      ++i;
    }
    while (word(i, "analyze") || word(i, "analyse") || word(i, "verbose")) {
      if (!word(i, "verbose")) analyze = true;
      ++i;
    }
    SqlClass inner = ClassifyOne(t, i, e, cfg);
    if (inner.route == SqlRoute::kRead || !analyze) {
      r.route = inner.route == SqlRoute::kRead ? SqlRoute::kRead : SqlRoute::kPrimary;
      r.reason = "explain";
      if (analyze) r.functions = inner.functions;  // EXPLAIN ANALYZE runs them
      r.executes = inner.executes;                 // EXPLAIN EXECUTE name plans that statement
      return r;
    }
    return inner;
  }
  if (k == "create") {
    for (size_t i = b + 1; i < e && i < b + 4; ++i)
      if (word(i, "temp") || word(i, "temporary")) {
        r = primary("create temp", true);
        r.createsTemp = true;
        return r;
      }
    r = primary("ddl", true);
    r.kind = StmtKind::kDdl;
    // CREATE TABLE ... AS EXECUTE name [(args)] [WITH [NO] DATA]
    for (size_t i = b + 1; i + 2 < e; ++i)
      if (word(i, "as") && word(i + 1, "execute")) r.executes = t[i + 2].text;
    return r;
  }
  if (k == "alter" || k == "drop") {
    r = primary("ddl", true);
    r.kind = StmtKind::kDdl;
    return r;
  }
  if (k == "execute") {
    primary("not a read", true);
    if (b + 1 < e) r.executes = t[b + 1].text;
    return r;
  }
  bool select_like = k == "select" || k == "with" || k == "values" || k == "table";
  if (!select_like) return primary(k == "insert" || k == "update" || k == "delete" ? "dml" : "not a read", true);

  // A SELECT-like statement: look for anything that makes it a write or a locking read.
  const char* node_specific = nullptr;  // reads what differs per node: the primary's answer
  for (size_t i = b; i < e; ++i) {
    if (t[i].kind != SqlToken::kWord) continue;
    const std::string& w = t[i].text;
    const bool call = i + 1 < e && t[i + 1].kind == SqlToken::kPunct && t[i + 1].text == "(";
    if (!node_specific && !call && IsSystemRelation(t, i, e)) node_specific = "system catalog";
    if (!node_specific && call && IsNodeSpecificFunction(t, i, e)) node_specific = "node-specific function";
    // Session-level advisory locks: on the primary, so that every session's locks
    // meet in one place, and the session holds state that cannot move.
    if (w == "pg_advisory_lock" || w == "pg_advisory_lock_shared" || w == "pg_try_advisory_lock" ||
        w == "pg_try_advisory_lock_shared") {
      primary("advisory lock", false);
      r.sessionState = "an advisory lock";
      return r;
    }
    if (w == "set_config" && call) {
      std::string state = SetConfigState(t, i, e);
      if (!state.empty()) r.sessionState = r.sessionState.empty() ? state : "set_config()";
    }
    if (w == "insert" || w == "update" || w == "delete" || w == "merge") {
      // "FOR UPDATE" / "FOR NO KEY UPDATE" are locking reads; others are data-modifying CTEs.
      if (w == "update" && i > b && (IsWord(t, i - 1, "for") || IsWord(t, i - 1, "key")))
        return primary("locking read", true);
      return primary("data-modifying statement", true);
    }
    if (w == "for" && (word(i + 1, "share") || (word(i + 1, "key") && word(i + 2, "share"))))
      return primary("locking read", true);
    if (w == "into" && k == "select") return primary("select into", true);
    if (i + 1 < e && t[i + 1].kind == SqlToken::kPunct && t[i + 1].text == "(") {
      if (cfg.writeFunctions.count(w) || IsPrimaryOnlyFunction(w))
        return primary(("function " + w).c_str(), true);
      if (!cfg.readOnlyFunctions.empty()) {
        if (!cfg.readOnlyFunctions.count(w) && !IsKnownStandbySafe(w))
          return primary(("function " + w + " not known read-only").c_str(), true);
      } else if (cfg.writeFunctions.empty() && !IsKnownStandbySafe(w) && r.functions.size() < 64) {
        r.functions.push_back(w);
      }
    }
  }
  // Quoted function names ("MyFunc"(...)) keep their case.
  for (size_t i = b; i + 1 < e; ++i) {
    if (t[i].kind != SqlToken::kQuotedIdent || !(t[i + 1].kind == SqlToken::kPunct && t[i + 1].text == "(")) continue;
    if (cfg.writeFunctions.count(t[i].text) || IsPrimaryOnlyFunction(t[i].text))
      return primary(("function " + t[i].text).c_str(), true);
    if (!cfg.readOnlyFunctions.empty()) {
      if (!cfg.readOnlyFunctions.count(t[i].text))
        return primary(("function " + t[i].text + " not known read-only").c_str(), true);
    } else if (cfg.writeFunctions.empty() && r.functions.size() < 64) {
      r.functions.push_back(t[i].text);
    }
  }
  if (node_specific) {
    r.functions.clear();
    return primary(node_specific, false);
  }
  r.route = SqlRoute::kRead;
  r.reason = "read";
  return r;
}

}  // namespace

namespace {

// The fast paths' answers, returned as prvalues: built in the caller's object
// (a named local in ClassifySql's several returns is moved instead).
// The reason's length is known here: built in place, no strlen nor a call
// into the string library's assignment.
template <size_t N>
SqlClass FastClass(SqlRoute route, bool write, const char (&reason)[N]) {
  SqlClass r;
  r.route = route;
  r.write = write;
  r.reason = std::string(reason, N - 1);
  return r;
}

// A bare BEGIN, or COMMIT/END/ROLLBACK/ABORT: as ClassifySessionCommand
// classifies the word alone (sql_commands.cc).
SqlClass TxClass(bool begin) {
  SqlClass r;
  r.route = SqlRoute::kAll;
  r.kind = begin ? StmtKind::kBegin : StmtKind::kTxEnd;
  r.txBegin = begin;
  r.txEnd = !begin;
  r.reason = ToString(r.kind);
  return r;
}

}  // namespace

SqlClass ClassifySql(std::string_view sql, const ClassifierConfig& config) {
  switch (FastHeadOf(sql)) {  // the one fast path the first word allows
    case FastHead::kSelect:
      if (PlainSelect(sql, config)) return FastClass(SqlRoute::kRead, false, "read");
      break;
    case FastHead::kDml:
      if (PlainDml(sql)) return FastClass(SqlRoute::kPrimary, true, "dml");
      break;
    case FastHead::kTx:
      if (TxCommand tc = PlainTxCommand(sql); tc != TxCommand::kNone) return TxClass(tc == TxCommand::kBegin);
      break;
    case FastHead::kNone:
      break;
  }
  bool hint = false;
  // The token vector of this thread, reused: no allocation per statement once
  // it has grown (SET, SAVEPOINT, BEGIN with options ... come here); one left large by a
  // long script is let go.
  thread_local std::vector<SqlToken> tokens;
  struct Trim {
    ~Trim() {
      if (tokens.capacity() > 4096) std::vector<SqlToken>().swap(tokens);
    }
  } trim;
  LexSqlInto(sql, &hint, &tokens);
  const std::vector<SqlToken>& t = tokens;
  SqlClass all;
  all.route = SqlRoute::kEmpty;
  int statements = 0;
  bool sets = false;  // a session SET/RESET among several statements: not replayed by the proxy
  size_t b = 0;
  size_t from = 0;  // where the statement's text begins
  std::vector<SqlStep> steps;
  for (size_t i = 0; i <= t.size(); ++i) {
    if (i < t.size() && !(t[i].kind == SqlToken::kPunct && t[i].text == ";")) continue;
    SqlClass one = ClassifyOne(t, b, i, config);
    b = i + 1;
    const size_t to = i < t.size() ? t[i].at : sql.size();
    const std::string_view text = sql.substr(std::min(from, sql.size()), to - std::min(from, to));
    from = to + 1;
    if (one.route == SqlRoute::kEmpty) continue;
    ++statements;
    sets = sets || IsSessionSet(one.kind);
    if (IsSessionSet(one.kind) || one.kind == StmtKind::kResetAll)
      steps.push_back({one.kind, uint32_t(statements - 1), std::string(text)});
    else if (IsBlockCommand(one.kind))
      steps.push_back({one.kind, uint32_t(statements - 1), one.object});
    if (statements == 1) {
      all = one;
      continue;
    }
    // Several statements: a read only if every one is; anything else runs on the primary.
    all.write = all.write || one.write;
    all.createsTemp = all.createsTemp || one.createsTemp;
    all.txBegin = all.txBegin || one.txBegin;
    all.kind = StmtKind::kOther;  // several statements: routed as a whole, never special-cased
    all.object.clear();
    if (all.isolation == TxIsolation::kUnspecified) all.isolation = one.isolation;
    if (all.access == TxAccess::kUnspecified) all.access = one.access;
    all.functions.insert(all.functions.end(), one.functions.begin(), one.functions.end());
    if (all.sessionState.empty()) all.sessionState = one.sessionState;
    if (all.executes.empty()) all.executes = one.executes;
    all.txEnd = one.txEnd || (all.txEnd && !one.txBegin);
    if (!(all.route == SqlRoute::kRead && one.route == SqlRoute::kRead)) {
      if (all.route != SqlRoute::kPrimary) all.reason = "multi-statement";
      all.route = SqlRoute::kPrimary;
      all.local = LocalCommand::kNone;
    }
  }
  all.statements = statements;
  if (statements > 1) all.steps = std::move(steps);
  if (statements > 1 && sets && all.sessionState.empty()) all.sessionState = "a SET in a multi-statement query";
  // A parameter that follows the client is followed for a set_config() alone in its statement only.
  if (statements > 1 && all.sessionState.rfind(kSetConfigOf, 0) == 0) all.sessionState = "set_config()";
  if (hint && all.route == SqlRoute::kRead) {
    all.route = SqlRoute::kPrimary;
    all.noLoadBalance = true;
    all.reason = "no load balance hint";
  }
  return all;
}

}  // namespace pgvigil::proxy
