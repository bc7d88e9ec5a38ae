// What makes a data directory a standby of a given primary: the settings the
// agent writes into postgresql.auto.conf (primary_conninfo, primary_slot_name,
// recovery_target_timeline, port) and the SQL to change them on a running
// server. Pure text manipulation.
#pragma once

#include <map>
#include <string>
#include <vector>

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

// The primary_conninfo value (libpq conninfo, values quoted).
std::string PrimaryConnInfo(const StandbySettings& s);

// GUC name -> value (unquoted) the standby needs; an empty value means "remove".
std::map<std::string, std::string> StandbyGucs(const StandbySettings& s);

// Rewrites postgresql.auto.conf text: every line setting one of `gucs` is
// dropped, then each non-empty value is appended as `name = 'value'` (quotes
// doubled). Comments and other settings are kept in order.
std::string RewriteAutoConf(const std::string& content,
                            const std::map<std::string, std::string>& gucs);

// ALTER SYSTEM statements for `gucs` (RESET for empty values), for a running server.
std::vector<std::string> AlterSystemStatements(const std::map<std::string, std::string>& gucs);

// Quotes one libpq conninfo value: '...' with ' and \ backslash-escaped.
std::string QuoteConnValue(const std::string& v);

// A SQL string literal: 'value' with quotes doubled (standard_conforming_strings).
std::string SqlLiteral(const std::string& v);

}  // namespace pgvigil
