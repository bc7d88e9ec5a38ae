// postgres.parameters checked against the running server's pg_settings before
// anything is stored or applied, the way PostgreSQL's own parser would read
// each value (guc.c: parse_bool, parse_int, parse_real, enum lookup):
//  - a name must exist in pg_settings, or be a placeholder ("ext.name",
//    which PostgreSQL accepts for extensions);
//  - bool: on/off/true/false/yes/no/1/0 and the prefixes PostgreSQL takes
//    (t, tr, f, y, n, of), any case;
//  - integer/real: a number (strtol base 0 / strtod; an integer may be
//    fractional, rounded), then an optional unit (B, kB, MB, GB, TB for
//    memory; us, ms, s, min, h, d for time) converted to the setting's own
//    unit (pg_settings.unit: "8kB", "ms", ...), then min_val..max_val;
//  - enum: one of enumvals, any case, or a value PostgreSQL takes without
//    listing it (the bool spellings where on/off are listed; wal_level's
//    archive/hot_standby; the message levels' debug);
//  - string: tried by the server itself where that has no effect and no
//    catalog behind it (SessionTrials: set_config(name, value, true) runs the
//    setting's check hook, TimeZone 'Mars/Olympus'); otherwise anything (a
//    check hook may still refuse it at reload: the sidecar then puts the
//    previous settings back, refused_parameters.h).
// Pure: the rows come from ParseSettingRows over the query's text
// (postgres_parameters.h reads it).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace pgvigil {

// One pg_settings row, as far as a value check needs it.
struct SettingRow {
  std::string name;     // as pg_settings spells it ("TimeZone")
  std::string vartype;  // bool, integer, real, enum, string
  std::string unit;     // "", "kB", "8kB", "ms", "s", "min", ...
  std::string minVal, maxVal;
  std::vector<std::string> enumvals;
  std::string context;  // user, superuser, sighup, postmaster, ...
};
// Rows keyed by lower-cased name (PostgreSQL's names are case-insensitive).
using SettingTable = std::map<std::string, SettingRow>;

// The query whose single text value ParseSettingRows reads: one line per
// setting, fields separated by tabs, enumvals by '|'.
extern const char* const kSettingRowsQuery;
SettingTable ParseSettingRows(const std::string& text);

// "" when PostgreSQL would take `value` for `row`; otherwise why not.
std::string CheckSetting(const SettingRow& row, const std::string& value);

struct ParameterProblem {
  std::string name, value, reason;
};
// Every setting of `params` PostgreSQL would refuse, in name order.
std::vector<ParameterProblem> CheckParameters(const SettingTable& table,
                                              const std::map<std::string, std::string>& params);
// The string settings of `params` a session may set (context user or
// superuser), so set_config(name, value, true) in a throwaway session tries
// the value's check hook without any effect; not those whose check reads the
// connected database's catalog (default_tablespace, temp_tablespaces,
// default_text_search_config, default_table_access_method): from a file
// PostgreSQL takes a name that does not exist there.
std::map<std::string, std::string> SessionTrials(const SettingTable& table,
                                                 const std::map<std::string, std::string>& params);
// "shared_buffers: value '12XB': <reason>; ..." for a reply or an Event.
std::string DescribeProblems(const std::vector<ParameterProblem>& problems);

}  // namespace pgvigil
