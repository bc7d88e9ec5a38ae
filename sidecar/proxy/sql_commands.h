// Classification of transaction and session commands (BEGIN, COMMIT, SAVEPOINT,
// SET/RESET, SET TRANSACTION, SET SESSION CHARACTERISTICS, DISCARD,
// DEALLOCATE, PREPARE) and the built-in function lists, for sql_classifier.cc.
// Pure.
#pragma once

#include <cstddef>
#include <vector>

#include "sidecar/proxy/sql_classifier.h"

namespace pgvigil::proxy {

// True when t[b..e) (a statement starting with a keyword) is one of the
// commands above; *out is then its full classification.
bool ClassifySessionCommand(const std::vector<SqlToken>& t, size_t b, size_t e, SqlClass* out);

}  // namespace pgvigil::proxy
