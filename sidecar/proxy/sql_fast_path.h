// The classifier's hot paths (sql_classifier.cc runs them before its lexer):
// shapes of a statement that the full classifier is known to route in one way,
// recognised in one pass over the bytes with no allocation. Each answers false
// whenever it is not sure; the full classifier then decides. Pure.
#pragma once

#include <string_view>

#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {

// A plain "SELECT ..." the full classifier routes as a balanced read with no
// functions to look up: one statement (a trailing ';' only), no function call,
// no comment, no dollar quote, and none of the words that make a SELECT a
// write, a locking read or a read of something that differs per server (INTO,
// FOR SHARE/UPDATE, a data-modifying word, pg_* relations,
// information_schema, set_config). String literals and quoted identifiers are
// skipped as the lexer skips them (any backslash, in a string too: not sure,
// false: E'\'' is an escape string the lexer reads on past that quote).
bool PlainSelect(std::string_view sql, const ClassifierConfig& cfg);

// One INSERT, UPDATE or DELETE (no ';' but trailing ones): the full
// classifier sends it to the primary as a write whatever follows the keyword.
bool PlainDml(std::string_view sql);

// A bare BEGIN, or COMMIT/END/ROLLBACK/ABORT (one word, a trailing ';' only,
// no comment): what a transaction's first and last statements usually are.
// The full classifier gives them a fixed class (ClassifySql returns it).
enum class TxCommand { kNone, kBegin, kEnd };
TxCommand PlainTxCommand(std::string_view sql);

// Which of the three above can accept sql, from its first word alone (the
// run of ASCII letters after leading whitespace, as each of them reads it):
// SELECT, INSERT/UPDATE/DELETE, or a transaction command; kNone: none can.
// Lets the classifier try one instead of all three.
enum class FastHead { kNone, kSelect, kDml, kTx };
FastHead FastHeadOf(std::string_view sql);

}  // namespace pgvigil::proxy
