// What makes a data directory a standby of a given primary: the settings the
// agent writes into postgresql.auto.conf (primary_conninfo, primary_slot_name,
// recovery_target_timeline, port) and the SQL to change them on a running
// server. Pure text manipulation. Two layers of quoting: each conninfo value is
// quoted for libpq inside primary_conninfo, and the whole setting is quoted for
// PostgreSQL's configuration-file lexer (or for SQL); values with control
// characters are refused, so no value can end a line and start another setting.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace pgvigil {

struct StandbySettings {
  std::string primaryHost;
  int primaryPort = 5432;
  std::string user;      // replication user
  std::string password;  // may be empty
  std::string applicationName;  // this node's name, shown in pg_stat_replication
  std::string slot;      // empty: no slot (primary_slot_name removed)
  int localPort = 0;     // this node's port; 0: leave `port` alone
};

// The primary_conninfo value (libpq conninfo, every value quoted with
// QuoteConnValue); an error naming the field when a value holds a control
// character (a newline, CR, NUL, ...), which no setting may carry.
Result<std::string> PrimaryConnInfo(const StandbySettings& s);

// GUC name -> value (unquoted) the standby needs; an empty value means "remove".
// Errors as PrimaryConnInfo.
Result<std::map<std::string, std::string>> StandbyGucs(const StandbySettings& s);

// Rewrites postgresql.auto.conf text: every line setting one of `gucs` is
// dropped, then each non-empty value is appended as `name = 'value'`
// (GucFileLiteral). Comments and other settings are kept in order. An error
// when a value holds a control character.
Result<std::string> RewriteAutoConf(const std::string& content,
                                    const std::map<std::string, std::string>& gucs);

// ALTER SYSTEM statements for `gucs` (RESET for empty values), for a running
// server, which then writes postgresql.auto.conf itself. Errors as above.
Result<std::vector<std::string>> AlterSystemStatements(const std::map<std::string, std::string>& gucs);

// Quotes one libpq conninfo value: '...' with ' and \ backslash-escaped.
std::string QuoteConnValue(const std::string& v);

// A value as postgresql.conf's lexer reads it back exactly: '...' with ' doubled
// and \ doubled (a backslash starts an escape there, as in \n).
std::string GucFileLiteral(const std::string& v);

// A SQL string literal that means `v` whatever standard_conforming_strings is:
// '...' with ' doubled, or E'...' with \ doubled too when `v` holds a backslash.
std::string SqlLiteral(const std::string& v);

// An error naming `what` when `v` holds a byte below 0x20 or 0x7f.
Status RefuseControlCharacters(const std::string& what, const std::string& v);

}  // namespace pgvigil
