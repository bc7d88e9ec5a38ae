// Transaction pooling: which prepared statements a client may reach on a
// backend that other clients share, and the errors PostgreSQL gives where
// the proxy answers for the backend (pure).
//
// A shared backend holds, besides what the client prepared, the proxy's names
// for every client's named statements (kProxyStatementPrefix and a number:
// Worker::StatementName) and the unnamed statement of whichever client used
// it last. A fresh PostgreSQL session has none of these: a client's Bind or
// Describe of a statement it has not got, or its SQL EXECUTE / DEALLOCATE of
// one of the proxy's names, must get PostgreSQL's 26000 from the proxy, never
// reach the backend (where it would run, describe or drop another client's
// statement).
#pragma once

#include <string>
#include <string_view>

#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {

inline constexpr std::string_view kProxyStatementPrefix = "pgvigil_s";

// The prefix followed by one or more digits.
bool IsProxyStatementName(std::string_view name);

// A Bind or Describe of statement `name`, which the client has not got: true
// when the backend may hold someone else's statement by that name, so the
// proxy answers 26000 itself. The unnamed statement and the proxy's names
// always; any name of a client that does not keep its backends (it has no
// SQL PREPAREd statements there: PREPARE is refused unless it pins). A pinned
// client's other names go to its backend, which may hold its SQL PREPAREd
// statement of that name.
bool ForeignStatement(std::string_view name, bool pinned);

inline constexpr const char* kMissingStatementState = "26000";  // invalid_sql_statement_name
// PostgreSQL's text: "unnamed prepared statement does not exist", or
// "prepared statement "NAME" does not exist".
std::string MissingStatementMessage(std::string_view name);

// A failed transaction block: PostgreSQL answers every statement but one that
// ends the block (COMMIT, ROLLBACK, ROLLBACK TO SAVEPOINT) with 25P02 and runs
// nothing, before looking at what the statement names.
inline constexpr const char* kAbortedTxState = "25P02";  // in_failed_sql_transaction
inline constexpr const char* kAbortedTxMessage =
    "current transaction is aborted, commands ignored until end of transaction block";
bool RefusedInAbortedTx(StmtKind kind);

}  // namespace pgvigil::proxy
