// Decides where a SQL string may run, for read/write splitting. Pure: a small
// lexer (comments, quotes, dollar quotes) plus keyword rules; no parsing of full
// SQL. When unsure it answers kPrimary: a read wrongly sent to the primary is
// slower, a write sent to a standby is an error.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace pgvigil::proxy {

enum class SqlRoute {
  kEmpty,      // only whitespace/comments
  kRead,       // may be balanced to a standby
  kPrimary,    // must run on the primary
  kAll,        // session/transaction state: every backend the session uses
  kLocal,      // answered by the proxy itself (SHOW pool_nodes, SHOW pool_version)
};
const char* ToString(SqlRoute r);

enum class LocalCommand { kNone, kPoolNodes, kPoolVersion };

struct SqlClass {
  SqlRoute route = SqlRoute::kPrimary;
  bool write = false;          // modifies data: the transaction "wrote" (disableOnWrite)
  bool txBegin = false;        // BEGIN / START TRANSACTION
  bool txEnd = false;          // COMMIT / ROLLBACK / END / ABORT
  bool createsTemp = false;    // CREATE TEMP ... : later reads may use it
  bool noLoadBalance = false;  // /*NO LOAD BALANCE*/ hint
  LocalCommand local = LocalCommand::kNone;
  std::string reason;          // why, for logs ("locking read", "function nextval")
  // Non-empty: the statement may leave session state on its backend that the
  // proxy cannot replay on another one (LISTEN, a session advisory lock, SQL
  // PREPARE, a cursor WITH HOLD, LOAD, set_config()); names it for messages.
  // Keyword-based and conservative: set_config(..., true) is flagged too.
  std::string sessionState;
};

struct ClassifierConfig {
  // Lower-case names. When readOnlyFunctions is non-empty, a SELECT calling any
  // function not in it (nor a built-in known read-only) goes to the primary.
  std::unordered_set<std::string> readOnlyFunctions;
  std::unordered_set<std::string> writeFunctions;  // nextval, setval are always included
};

// Classifies a whole query string (possibly several statements separated by ';').
SqlClass ClassifySql(std::string_view sql, const ClassifierConfig& config);

// Lexer tokens, exposed for tests.
struct SqlToken {
  enum Kind { kWord, kPunct, kString, kNumber, kQuotedIdent, kParam } kind;
  std::string text;  // words lower-cased
};
std::vector<SqlToken> LexSql(std::string_view sql, bool* no_load_balance_hint = nullptr);

}  // namespace pgvigil::proxy
