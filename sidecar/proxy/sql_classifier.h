// Decides where a SQL string may run, for read/write splitting. Pure: a small
// lexer (comments, quotes, dollar quotes) plus keyword rules; no parsing of full
// SQL. When unsure it answers kPrimary: a read wrongly sent to the primary is
// slower, a write sent to a standby is an error.
#pragma once

#include <cstdint>
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
  kLocal,      // answered by the proxy itself (SHOW pool_nodes, SHOW pool_version, SHOW pools, ...)
};
const char* ToString(SqlRoute r);

// kPools / kClients / kServers: the admin console (SHOW pools, clients, servers).
enum class LocalCommand { kNone, kPoolNodes, kPoolVersion, kPools, kClients, kServers };

// What a statement does to session or transaction state; control flow in the
// session uses this, never the log string `reason`.
enum class StmtKind {
  kOther,
  kBegin,          // BEGIN / START TRANSACTION
  kTxEnd,          // COMMIT / ROLLBACK / END / ABORT
  kRollbackTo,     // ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] x
  kSavepoint,      // SAVEPOINT x
  kRelease,        // RELEASE [SAVEPOINT] x
  kSet,            // SET [SESSION] name ...: session state, replayed on a new backend
  kSetLocal,       // SET LOCAL ..., SET CONSTRAINTS: this transaction only
  kSetTransaction, // SET TRANSACTION ..., SET transaction_isolation/transaction_read_only
  kSetSessionCharacteristics,  // SET SESSION CHARACTERISTICS AS TRANSACTION ...
  kReset,          // RESET name
  kResetAll,       // RESET ALL
  kDiscardAll,     // DISCARD ALL
  kDiscardOther,   // DISCARD PLANS / SEQUENCES / TEMP
  kDeallocate,     // DEALLOCATE [PREPARE] name (name in SqlClass::object)
  kDeallocateAll,  // DEALLOCATE [PREPARE] ALL
  kPrepare,        // SQL PREPARE name (name in SqlClass::object)
  kDdl,            // CREATE / ALTER / DROP ...: may change function volatility
};
const char* ToString(StmtKind k);
// True for the kinds that the session replays on a backend that joins later.
inline bool IsSessionSet(StmtKind k) { return k == StmtKind::kSet || k == StmtKind::kReset; }
// The commands that begin, end or change a transaction block (SqlClass::steps).
inline bool IsBlockCommand(StmtKind k) {
  return k == StmtKind::kBegin || k == StmtKind::kTxEnd || k == StmtKind::kSavepoint || k == StmtKind::kRelease ||
         k == StmtKind::kRollbackTo;
}

// A transaction characteristic a statement declares: BEGIN/START TRANSACTION and
// SET TRANSACTION for the transaction; SET SESSION CHARACTERISTICS and SET/RESET
// default_transaction_isolation for the session's default (kDefault there: back
// to the server's default, read committed unless configured).
enum class TxIsolation { kUnspecified, kSerializable, kOther, kDefault };
enum class TxAccess { kUnspecified, kReadWrite, kReadOnly };

// One statement of a query of several (SqlClass::steps).
struct SqlStep {
  StmtKind kind;  // kSet, kReset, kResetAll, kBegin, kTxEnd, kSavepoint, kRelease, kRollbackTo
  uint32_t at;    // its place among the query's statements, 0 the first
  // kSet / kReset / kResetAll: the statement's text (without its ';');
  // kSavepoint / kRelease / kRollbackTo: the savepoint (SqlClass::object).
  std::string text;
};

struct SqlClass {
  SqlRoute route = SqlRoute::kPrimary;
  bool write = false;          // modifies data: the transaction "wrote" (disableOnWrite)
  bool txBegin = false;        // BEGIN / START TRANSACTION
  bool txEnd = false;          // COMMIT / ROLLBACK / END / ABORT
  // CREATE TEMP ..., or SET [LOCAL] search_path with pg_temp first (later
  // CREATEs may make temporary tables): later reads may use them
  bool createsTemp = false;
  bool noLoadBalance = false;  // /*NO LOAD BALANCE*/ hint
  LocalCommand local = LocalCommand::kNone;
  StmtKind kind = StmtKind::kOther;
  TxIsolation isolation = TxIsolation::kUnspecified;
  TxAccess access = TxAccess::kUnspecified;
  // kDeallocate / kPrepare: the statement name (case as PostgreSQL folds it);
  // kSet / kReset: the setting, lower-cased (SET TIME ZONE: timezone, SET NAMES: client_encoding);
  // kSavepoint / kRelease / kRollbackTo: the savepoint (as PostgreSQL folds it)
  std::string object;
  // A query of several statements: those of its statements that change the
  // session's settings or the transaction block, in order (none when it has
  // no SET, RESET or RESET ALL and no BEGIN, COMMIT, ROLLBACK, SAVEPOINT,
  // RELEASE or ROLLBACK TO; empty for a single statement).
  std::vector<SqlStep> steps;
  // A SELECT-like read calling functions not known to be safe on a standby:
  // the session asks pg_proc whether any is volatile (see FunctionVolatility).
  // Only filled when no function lists are configured. Lower-case unless quoted.
  std::vector<std::string> functions;
  std::string reason;          // why, for logs ("locking read", "function nextval")
  // Non-empty: the statement may leave session state on its backend that the
  // proxy cannot replay on another one (LISTEN, a session advisory lock, SQL
  // PREPARE, a cursor WITH HOLD, LOAD, set_config()); names it for messages.
  // Keyword-based and conservative: set_config(..., true) is flagged too.
  // set_config() with is_local false: kSetConfigOf and the setting when the
  // statement is one and its name a literal, else "set_config()"; with
  // is_local written true nothing (it ends with the transaction).
  std::string sessionState;
  // SQL EXECUTE name: the statement name (as PostgreSQL folds it), from any
  // statement of the query; "" for none.
  std::string executes;
  // How many statements the query string has (the fast paths: one).
  int statements = 1;
};

struct ClassifierConfig {
  // Lower-case names. When readOnlyFunctions is non-empty, a SELECT calling any
  // function not in it (nor a built-in known read-only) goes to the primary.
  std::unordered_set<std::string> readOnlyFunctions;
  std::unordered_set<std::string> writeFunctions;  // nextval, setval are always included
};

// SqlClass::sessionState of set_config('name', value, false): this and the name (lower-cased).
inline constexpr std::string_view kSetConfigOf = "set_config() of ";

// Classifies a whole query string (possibly several statements separated by ';').
SqlClass ClassifySql(std::string_view sql, const ClassifierConfig& config);

// Built-in functions that must run on the primary whatever their volatility
// (txid_current() is stable yet assigns a transaction id), or that write
// (large objects, pg_notify, advisory unlocks, index maintenance).
bool IsPrimaryOnlyFunction(std::string_view lower_name);
// Built-ins (and keywords followed by '(') known safe on a standby.
bool IsKnownStandbySafe(std::string_view lower_name);

// Lexer tokens, exposed for tests.
struct SqlToken {
  enum Kind { kWord, kPunct, kString, kNumber, kQuotedIdent, kParam } kind;
  std::string text;  // words lower-cased
  uint32_t at = 0;   // kPunct: its offset in the text
};
std::vector<SqlToken> LexSql(std::string_view sql, bool* no_load_balance_hint = nullptr);
// The same into *tokens (cleared first), reusing its storage.
void LexSqlInto(std::string_view sql, bool* no_load_balance_hint, std::vector<SqlToken>* tokens);

}  // namespace pgvigil::proxy
