#include "sidecar/proxy/sql_commands.h"

#include <string>
#include <unordered_set>

namespace pgvigil::proxy {

const char* ToString(StmtKind k) {
  switch (k) {
    case StmtKind::kOther: return "other";
    case StmtKind::kBegin: return "begin";
    case StmtKind::kTxEnd: return "transaction end";
    case StmtKind::kRollbackTo: return "rollback to savepoint";
    case StmtKind::kSavepoint: return "savepoint";
    case StmtKind::kRelease: return "release savepoint";
    case StmtKind::kSet: return "set";
    case StmtKind::kSetLocal: return "set local";
    case StmtKind::kSetTransaction: return "set transaction";
    case StmtKind::kSetSessionCharacteristics: return "set session characteristics";
    case StmtKind::kReset: return "reset";
    case StmtKind::kResetAll: return "reset all";
    case StmtKind::kDiscardAll: return "discard all";
    case StmtKind::kDiscardOther: return "discard";
    case StmtKind::kDeallocate: return "deallocate";
    case StmtKind::kDeallocateAll: return "deallocate all";
    case StmtKind::kPrepare: return "prepare";
    case StmtKind::kDdl: return "ddl";
  }
  return "?";
}

bool IsPrimaryOnlyFunction(std::string_view n) {
  static const std::unordered_set<std::string_view> s = {
      // Transaction ids: stable, but assigning one is impossible in recovery.
      "txid_current", "txid_current_if_assigned", "pg_current_xact_id", "pg_current_xact_id_if_assigned",
      // WAL positions of a primary (errors during recovery).
      "pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn", "pg_switch_wal",
      "pg_create_restore_point", "pg_logical_emit_message",
      // Sequences.
      "nextval", "setval", "currval", "lastval",
      // Notifications and advisory locks: every session's meet on the primary.
      "pg_notify", "pg_advisory_unlock", "pg_advisory_unlock_shared", "pg_advisory_unlock_all",
      "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared", "pg_try_advisory_xact_lock",
      "pg_try_advisory_xact_lock_shared",
      // Index maintenance.
      "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range", "gin_clean_pending_list",
      // Large objects (lo_get/lo_export read, but a large object just written
      // may not be on the standby; keep every large-object call together).
      "loread", "lowrite", "lo_creat", "lo_create", "lo_open", "lo_close", "lo_import", "lo_export",
      "lo_unlink", "lo_lseek", "lo_lseek64", "lo_tell", "lo_tell64", "lo_truncate", "lo_truncate64",
      "lo_get", "lo_put", "lo_from_bytea",
      // Replication slots.
      "pg_create_physical_replication_slot", "pg_create_logical_replication_slot", "pg_drop_replication_slot",
      "pg_replication_slot_advance"};
  return s.count(n) > 0 || n.substr(0, 3) == "lo_";
}

bool IsKnownStandbySafe(std::string_view n) {
  // Keywords that may precede '(' and built-ins that are immutable, stable, or
  // volatile but harmless on a standby (random, clock_timestamp, pg_sleep ...).
  static const std::unordered_set<std::string_view> s = {
      "in", "exists", "values", "any", "all", "some", "as", "on", "using", "select", "from",
      "where", "and", "or", "not", "over", "filter", "within", "cast", "coalesce", "nullif",
      "greatest", "least", "case", "when", "then", "else", "row", "array", "join", "lateral",
      "by", "partition", "group", "order", "having", "limit", "offset", "into", "with", "table",
      "returning", "set", "union", "intersect", "except", "is", "between", "like", "ilike",
      "count", "sum", "avg", "min", "max", "now", "current_setting", "pg_sleep", "version",
      "inet_server_port", "inet_server_addr", "pg_is_in_recovery", "length",
      "lower", "upper", "substr", "substring", "abs", "round", "random", "generate_series",
      "to_char", "date_trunc", "extract", "string_agg", "array_agg", "json_agg", "jsonb_agg",
      "row_number", "rank", "lag", "lead", "pg_last_wal_replay_lsn", "pg_last_wal_receive_lsn",
      "pg_last_xact_replay_timestamp", "txid_current_snapshot", "pg_current_snapshot", "current_database",
      "current_user", "session_user", "format", "concat", "trim", "replace", "position", "md5",
      "pg_relation_size", "exp", "ln", "sqrt", "floor", "ceil", "ceiling", "mod", "power", "float8", "int4",
      "int8", "text", "numeric", "date", "timestamp", "interval", "pg_typeof", "unnest", "clock_timestamp",
      "statement_timestamp", "transaction_timestamp", "timeofday", "gen_random_uuid", "pg_sleep_for",
      "pg_sleep_until", "to_timestamp", "to_date", "to_number", "age", "date_part", "make_date",
      "json_build_object", "jsonb_build_object", "json_build_array", "jsonb_build_array", "row_to_json",
      "to_json", "to_jsonb", "bool_and", "bool_or", "every", "stddev", "variance", "percentile_cont",
      "percentile_disc", "mode", "dense_rank", "first_value", "last_value", "nth_value", "ntile",
      "cume_dist", "percent_rank", "left", "right", "lpad", "rpad", "ltrim", "rtrim", "btrim", "split_part",
      "regexp_replace", "regexp_matches", "regexp_match", "regexp_split_to_table", "regexp_split_to_array",
      "string_to_array", "array_to_string", "array_length", "cardinality", "array_position", "array_append",
      "array_cat", "array_remove", "sign", "trunc", "div", "pi", "encode", "decode", "sha256", "octet_length",
      "char_length", "character_length", "quote_ident", "quote_literal", "quote_nullable", "chr", "ascii",
      "initcap", "repeat", "reverse", "strpos", "starts_with", "translate", "pg_column_size",
      "pg_total_relation_size", "pg_table_size", "pg_indexes_size", "pg_database_size", "pg_size_pretty",
      "has_table_privilege", "has_schema_privilege", "has_database_privilege", "pg_get_userbyid",
      "pg_get_expr", "pg_get_indexdef", "pg_get_constraintdef", "pg_get_viewdef", "pg_get_functiondef",
      "pg_table_is_visible", "pg_function_is_visible", "pg_type_is_visible", "format_type", "obj_description",
      "col_description", "shobj_description", "pg_encoding_to_char", "array_upper", "array_lower",
      "array_dims", "array_ndims", "jsonb_array_elements", "json_array_elements", "jsonb_each", "json_each",
      "jsonb_object_keys", "json_object_keys", "jsonb_typeof", "json_typeof", "jsonb_set", "jsonb_agg",
      "xmlelement", "xmlforest", "xmlagg", "overlay", "isfinite", "justify_days", "justify_hours",
      "make_interval", "make_timestamp", "make_timestamptz", "pg_postmaster_start_time",
      "pg_conf_load_time", "current_schema", "current_schemas", "pg_my_temp_schema", "inet_client_addr",
      "inet_client_port", "pg_client_encoding", "num_nonnulls", "num_nulls", "width_bucket",
      // Type names with a modifier, e.g. numeric(10,2) or character varying(20).
      "decimal", "dec", "varchar", "varying", "char", "character", "bit", "float", "precision", "time",
      "timestamptz", "timetz", "nchar", "national"};
  return s.count(n) > 0;
}

namespace {

bool W(const std::vector<SqlToken>& t, size_t i, size_t e, const char* w) {
  return i < e && t[i].kind == SqlToken::kWord && t[i].text == w;
}

// Reads transaction modes (ISOLATION LEVEL ..., READ WRITE/ONLY, [NOT] DEFERRABLE)
// from t[i..e).
void ReadModes(const std::vector<SqlToken>& t, size_t i, size_t e, SqlClass* r) {
  for (; i < e; ++i) {
    if (W(t, i, e, "isolation") && W(t, i + 1, e, "level")) {
      i += 2;
      if (W(t, i, e, "serializable")) r->isolation = TxIsolation::kSerializable;
      else if (i < e) r->isolation = TxIsolation::kOther;
      if (W(t, i, e, "repeatable") || W(t, i, e, "read")) ++i;  // two-word levels
    } else if (W(t, i, e, "read") && W(t, i + 1, e, "write")) {
      r->access = TxAccess::kReadWrite;
      ++i;
    } else if (W(t, i, e, "read") && W(t, i + 1, e, "only")) {
      r->access = TxAccess::kReadOnly;
      ++i;
    }
  }
}

// The value of SET name {TO|=} value at t[i..e), lower-cased; "" when absent.
std::string SetValue(const std::vector<SqlToken>& t, size_t i, size_t e) {
  if (i < e && (W(t, i, e, "to") || (t[i].kind == SqlToken::kPunct && t[i].text == "="))) ++i;
  if (i >= e) return "";
  std::string v = t[i].text;
  for (auto& c : v) c = char(std::tolower(static_cast<unsigned char>(c)));
  // Two-word values written without quotes (repeatable read, read committed).
  if (t[i].kind == SqlToken::kWord && i + 1 < e && t[i + 1].kind == SqlToken::kWord) v += " " + t[i + 1].text;
  return v;
}

TxIsolation IsolationValue(const std::string& v) {
  if (v == "serializable") return TxIsolation::kSerializable;
  if (v.empty() || v == "default") return TxIsolation::kDefault;
  return TxIsolation::kOther;
}

bool BoolValueTrue(const std::string& v) {
  return v == "on" || v == "true" || v == "yes" || v == "1" || v == "t" || v == "y";
}

// The setting SET / RESET names at t[i], lower-cased (a quoted name too: setting
// names are compared without regard to case); SET TIME ZONE and SET NAMES are
// timezone and client_encoding. "" when absent.
std::string SettingName(const std::vector<SqlToken>& t, size_t i, size_t e) {
  if (W(t, i, e, "time") && W(t, i + 1, e, "zone")) return "timezone";
  if (W(t, i, e, "names")) return "client_encoding";
  if (i >= e || (t[i].kind != SqlToken::kWord && t[i].kind != SqlToken::kQuotedIdent)) return "";
  std::string n = t[i].text;
  for (auto& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
  return n;
}

// SET [LOCAL] search_path TO pg_temp, ... at t[i] (the setting's name): with
// pg_temp the first schema, an unqualified CREATE TABLE makes a temporary
// table, and current_schema() creates the temporary schema (which a standby
// refuses, 25006).
bool TempSchemaFirst(const std::vector<SqlToken>& t, size_t i, size_t e) {
  if (SettingName(t, i, e) != "search_path") return false;
  ++i;
  if (i < e && (W(t, i, e, "to") || (t[i].kind == SqlToken::kPunct && t[i].text == "="))) ++i;
  return i < e && t[i].kind != SqlToken::kPunct && t[i].text == "pg_temp";
}

// A statement name as PostgreSQL folds it: lower-cased word, quoted identifier as is.
std::string Name(const SqlToken& tok) { return tok.text; }

}  // namespace

bool ClassifySessionCommand(const std::vector<SqlToken>& t, size_t b, size_t e, SqlClass* out) {
  SqlClass r;
  const std::string& k = t[b].text;
  r.route = SqlRoute::kAll;
  if (k == "set") {
    size_t i = b + 1;
    r.kind = StmtKind::kSet;
    r.reason = "set";
    if (W(t, i, e, "local") || W(t, i, e, "constraints")) {
      r.kind = StmtKind::kSetLocal;
      r.reason = "set local";
      r.createsTemp = TempSchemaFirst(t, i + 1, e);
      *out = r;
      return true;
    }
    if (W(t, i, e, "transaction")) {
      r.kind = StmtKind::kSetTransaction;
      r.reason = "set transaction";
      ReadModes(t, i + 1, e, &r);
      *out = r;
      return true;
    }
    if (W(t, i, e, "session") && W(t, i + 1, e, "characteristics")) {
      r.kind = StmtKind::kSetSessionCharacteristics;
      r.reason = "set session characteristics";
      ReadModes(t, i + 2, e, &r);
      *out = r;
      return true;
    }
    if (W(t, i, e, "session")) ++i;
    std::string name = i < e ? t[i].text : "";
    r.object = SettingName(t, i, e);
    r.createsTemp = TempSchemaFirst(t, i, e);
    std::string value = SetValue(t, i + 1, e);
    if (name == "transaction_isolation" || name == "transaction_read_only") {
      r.kind = StmtKind::kSetTransaction;
      r.reason = "set transaction";
      r.object.clear();
      if (name == "transaction_isolation") r.isolation = IsolationValue(value);
      else r.access = BoolValueTrue(value) ? TxAccess::kReadOnly : TxAccess::kReadWrite;
    } else if (name == "default_transaction_isolation") {
      r.isolation = IsolationValue(value);
    }
    *out = r;
    return true;
  }
  if (k == "reset") {
    if (W(t, b + 1, e, "all")) {
      r.kind = StmtKind::kResetAll;
      r.reason = "reset all";
    } else {
      r.kind = StmtKind::kReset;
      r.reason = "reset";
      r.object = SettingName(t, b + 1, e);
      if (W(t, b + 1, e, "default_transaction_isolation")) r.isolation = TxIsolation::kDefault;
    }
    *out = r;
    return true;
  }
  if (k == "discard") {
    r.kind = W(t, b + 1, e, "all") ? StmtKind::kDiscardAll : StmtKind::kDiscardOther;
    r.reason = ToString(r.kind);
    *out = r;
    return true;
  }
  if (k == "deallocate") {
    size_t i = b + 1;
    if (W(t, i, e, "prepare")) ++i;
    if (W(t, i, e, "all")) {
      r.kind = StmtKind::kDeallocateAll;
    } else {
      r.kind = StmtKind::kDeallocate;
      if (i < e) r.object = Name(t[i]);
    }
    r.reason = ToString(r.kind);
    *out = r;
    return true;
  }
  if (k == "begin" || (k == "start" && W(t, b + 1, e, "transaction"))) {
    r.kind = StmtKind::kBegin;
    r.txBegin = true;
    r.reason = "begin";
    ReadModes(t, b + 1, e, &r);
    *out = r;
    return true;
  }
  if (k == "commit" || k == "rollback" || k == "end" || k == "abort") {
    if (W(t, b + 1, e, "prepared")) return false;  // two-phase commit: a write on the primary
    bool to = k == "rollback" && (W(t, b + 1, e, "to") || W(t, b + 2, e, "to"));
    r.kind = to ? StmtKind::kRollbackTo : StmtKind::kTxEnd;
    r.txEnd = !to;  // ROLLBACK TO SAVEPOINT does not end the transaction
    if (to) r.object = Name(t[e - 1]);  // the savepoint, its last word
    r.reason = ToString(r.kind);
    *out = r;
    return true;
  }
  if (k == "savepoint" || k == "release") {
    r.kind = k == "savepoint" ? StmtKind::kSavepoint : StmtKind::kRelease;
    if (e > b + 1) r.object = Name(t[e - 1]);  // the savepoint, its last word
    r.reason = ToString(r.kind);
    *out = r;
    return true;
  }
  return false;
}

}  // namespace pgvigil::proxy
