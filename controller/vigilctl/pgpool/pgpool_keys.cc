// The Pgpool-II parameters the import does not turn into spec fields, and what
// pgvigil makes of each. Every parameter of Pgpool-II 3.7 to 4.6 is either handled
// by the sections of the Importer or listed here; anything else is reported as
// unknown (a typo, or a parameter newer than this table).
#include <cctype>

#include "controller/vigilctl/pgpool/pgpool_importer.h"

namespace pgvigil::pgpool::internal {

namespace {

enum class How {
  kUnnecessary,  // pgvigil does the job itself: reported when set (unless quiet)
  kUnsupported,  // pgvigil cannot honour it: reported unless the value is quiet
  kNoEffect,     // no bearing on pgvigil: never reported
};

struct Rule {
  const char* key;
  How how;
  const char* quiet;  // '|'-separated values with nothing to report ("" = the empty value)
  const char* reason;
};

const char kFailover[] =
    "pgvigil's controller promotes the best standby and fences the old primary itself";
const char kFollow[] =
    "pgvigil repoints the other standbys at the new primary itself (pg_rewind or "
    "pg_basebackup when one cannot follow)";
const char kRecovery[] =
    "pgvigil rebuilds a node itself with pg_rewind or pg_basebackup (`vigilctl recover NODE`, "
    "or on its own with spec.recovery.automatic); no scripts, no pgpool_recovery extension";
const char kEscalation[] = "pgvigil's watchdog leader brings the VIP up and down itself (spec.vip)";
const char kPool[] =
    "pgvigil's proxy is event-driven: no processes per client to size, spare or recycle";
const char kCache[] = "pgvigil has no query cache";
const char kRelcache[] = "pgvigil's proxy classifies statements without Pgpool-II's relation cache";
const char kLogFormat[] =
    "pgvigil logs to the journal or syslog (--log-format); rotation is the system's";
const char kLogWhat[] = "pgvigil does not log this; its proxy exports counters at GET /metrics";
const char kSocket[] =
    "pgvigil's proxy and REST API listen on TCP only: clients of a Unix socket connect "
    "to 127.0.0.1 instead";
const char kReplMode[] = "only for Pgpool-II's native replication mode";
const char kRouting[] =
    "pgvigil routes by statement only (writes, and functions in writeFunctions, to the "
    "primary): no routing by database, application, user or query pattern";
const char kQuorum[] = "pgvigil's quorum always counts every configured member";
const char kFiles[] = "systemd tracks pgvigil's processes; its state lives in /var/lib/pgvigil";
const char kLifecheckQuery[] = "only for wd_lifecheck_method = query; pgvigil uses heartbeats";
const char kTls[] = "pgvigil's proxy does not verify client certificates";

const Rule kRules[] = {
    // Scripts and jobs pgvigil does itself.
    {"failover_command", How::kUnnecessary, "", kFailover},
    {"failback_command", How::kUnnecessary, "",
     "pgvigil attaches a node again itself once it streams"},
    {"follow_primary_command", How::kUnnecessary, "", kFollow},
    {"follow_master_command", How::kUnnecessary, "", kFollow},
    {"recovery_1st_stage_command", How::kUnnecessary, "", kRecovery},
    {"recovery_2nd_stage_command", How::kUnnecessary, "", kRecovery},
    {"recovery_timeout", How::kUnnecessary, "90",
     "pgvigil waits for a rebuilt server itself (its progress shows "
     "in vigilctl status)"},
    {"recovery_database", How::kUnnecessary, "postgres", kRecovery},
    {"client_idle_limit_in_recovery", How::kUnnecessary, "0",
     "pgvigil rebuilds a standby without stopping clients"},
    {"wd_escalation_command", How::kUnnecessary, "", kEscalation},
    {"wd_de_escalation_command", How::kUnnecessary, "", kEscalation},
    {"search_primary_node_timeout", How::kUnnecessary, "300|5min|10",
     "pgvigil knows the primary from its register; it does not search for one after a failover"},
    {"sr_check_period", How::kUnnecessary, nullptr,
     "pgvigil observes every standby's lag continuously"},
    {"sr_check_database", How::kUnnecessary, "postgres",
     "pgvigil observes lag from pg_stat_replication"},
    {"auto_failback_interval", How::kNoEffect, nullptr, ""},
    // Process pool.
    {"num_init_children", How::kUnnecessary, nullptr, kPool},
    {"max_pool", How::kUnnecessary, nullptr, kPool},
    {"child_life_time", How::kUnnecessary, nullptr, kPool},
    {"child_max_connections", How::kUnnecessary, nullptr, kPool},
    {"connection_life_time", How::kUnnecessary, nullptr, kPool},
    {"min_spare_children", How::kUnnecessary, nullptr, kPool},
    {"max_spare_children", How::kUnnecessary, nullptr, kPool},
    {"process_management_mode", How::kUnnecessary, nullptr, kPool},
    {"process_management_strategy", How::kUnnecessary, nullptr, kPool},
    {"listen_backlog_multiplier", How::kUnnecessary, nullptr, kPool},
    {"serialize_accept", How::kUnnecessary, nullptr, kPool},
    {"reserved_connections", How::kUnnecessary, nullptr, kPool},
    {"connection_cache", How::kUnnecessary, nullptr,
     "pgvigil's proxy reuses backend connections itself"},
    {"reset_query_list", How::kUnnecessary, nullptr,
     "pgvigil's proxy resets a reused backend connection itself"},
    {"client_idle_limit", How::kUnsupported, "0", "pgvigil does not disconnect idle clients"},
    // Routing and load balancing beyond pgvigil's.
    {"statement_level_load_balance", How::kUnsupported, "off",
     "pgvigil picks a standby per session"},
    {"prefer_lower_delay_standby", How::kUnsupported, "off",
     "pgvigil skips a lagging standby (delayThreshold) but does not rank standbys by lag"},
    {"delay_threshold_by_time", How::kUnsupported, "0",
     "pgvigil's delayThreshold is in bytes of WAL only"},
    {"database_redirect_preference_list", How::kUnsupported, "", kRouting},
    {"app_name_redirect_preference_list", How::kUnsupported, "", kRouting},
    {"user_redirect_preference_list", How::kUnsupported, "", kRouting},
    {"primary_routing_query_pattern_list", How::kUnsupported, "", kRouting},
    {"black_query_pattern_list", How::kUnsupported, "", kRouting},
    {"dml_adaptive_object_relationship_list", How::kUnsupported, "",
     "pgvigil has no dml_adaptive mode"},
    {"allow_sql_comments", How::kNoEffect, nullptr, ""},
    {"ignore_leading_white_space", How::kNoEffect, nullptr, ""},
    {"log_standby_delay", How::kNoEffect, nullptr, ""},
    {"replication_delay_source_cmd", How::kUnsupported, "",
     "pgvigil measures lag from pg_stat_replication"},
    {"replication_delay_source_timeout", How::kNoEffect, nullptr, ""},
    {"relcache_expire", How::kNoEffect, nullptr, kRelcache},
    {"relcache_size", How::kNoEffect, nullptr, kRelcache},
    {"relcache_query_target", How::kNoEffect, nullptr, kRelcache},
    {"enable_shared_relcache", How::kNoEffect, nullptr, kRelcache},
    {"check_temp_table", How::kNoEffect, nullptr, kRelcache},
    {"check_unlogged_table", How::kNoEffect, nullptr, kRelcache},
    {"track_table_mutation_ttl_factor", How::kNoEffect, nullptr, ""},
    {"track_table_mutation_max_staleness", How::kNoEffect, nullptr, ""},
    {"track_table_mutation_cold_start_duration", How::kNoEffect, nullptr, ""},
    {"track_table_mutation_table_buckets", How::kNoEffect, nullptr, ""},
    {"track_table_mutation_table_size", How::kNoEffect, nullptr, ""},
    // Query cache.
    {"memory_cache_enabled", How::kUnsupported, "off", kCache},
    {"memqcache_method", How::kNoEffect, nullptr, kCache},
    {"memqcache_memcached_host", How::kNoEffect, nullptr, kCache},
    {"memqcache_memcached_port", How::kNoEffect, nullptr, kCache},
    {"memqcache_total_size", How::kNoEffect, nullptr, kCache},
    {"memqcache_max_num_cache", How::kNoEffect, nullptr, kCache},
    {"memqcache_expire", How::kNoEffect, nullptr, kCache},
    {"memqcache_auto_cache_invalidation", How::kNoEffect, nullptr, kCache},
    {"memqcache_maxcache", How::kNoEffect, nullptr, kCache},
    {"memqcache_cache_block_size", How::kNoEffect, nullptr, kCache},
    {"memqcache_oiddir", How::kNoEffect, nullptr, kCache},
    {"cache_safe_memqcache_table_list", How::kNoEffect, nullptr, kCache},
    {"cache_unsafe_memqcache_table_list", How::kNoEffect, nullptr, kCache},
    {"white_memqcache_table_list", How::kNoEffect, nullptr, kCache},
    {"black_memqcache_table_list", How::kNoEffect, nullptr, kCache},
    {"clear_memqcache_on_escalation", How::kNoEffect, nullptr, kCache},
    // Native replication mode.
    {"replicate_select", How::kNoEffect, nullptr, kReplMode},
    {"insert_lock", How::kNoEffect, nullptr, kReplMode},
    {"lobj_lock_table", How::kNoEffect, nullptr, kReplMode},
    {"replication_stop_on_mismatch", How::kNoEffect, nullptr, kReplMode},
    {"failover_if_affected_tuples_mismatch", How::kNoEffect, nullptr, kReplMode},
    // Watchdog parts pgvigil does differently.
    {"trusted_servers", How::kUnsupported, "",
     "pgvigil has no upstream-server check: a member cut off from the others loses its lease and "
     "the VIP"},
    {"trusted_server_command", How::kUnsupported, "ping -q -c3 %h",
     "pgvigil has no upstream-server check"},
    {"ping_path", How::kNoEffect, nullptr, ""},
    {"wd_priority", How::kUnsupported, "1",
     "pgvigil's leader election has no priorities (the VIP follows the leader; `vigilctl "
     "switchover` moves the "
     "primary)"},
    {"wd_interval", How::kNoEffect, nullptr, ""},
    {"wd_life_point", How::kNoEffect, nullptr, kLifecheckQuery},
    {"wd_lifecheck_query", How::kNoEffect, nullptr, kLifecheckQuery},
    {"wd_lifecheck_dbname", How::kNoEffect, nullptr, kLifecheckQuery},
    {"wd_ipc_socket_dir", How::kNoEffect, nullptr, ""},
    {"wd_monitoring_interfaces_list", How::kUnsupported, "",
     "pgvigil does not watch network interfaces: a member cut off loses its lease and the VIP"},
    {"wd_remove_shutdown_nodes", How::kUnsupported, "off", kQuorum},
    {"wd_lost_node_removal_timeout", How::kUnsupported, "0|0s", kQuorum},
    {"wd_no_show_node_removal_timeout", How::kUnsupported, "0|0s", kQuorum},
    {"wd_listen_address", How::kUnsupported, "", "pgvigil's watchdog listens on all addresses"},
    {"wd_heartbeat_listen_addresses", How::kUnsupported, "",
     "pgvigil's watchdog listens on all addresses"},
    {"wd_listen_port", How::kUnsupported, "0",
     "the watchdog port is spec.watchdog.port (or a node's)"},
    {"wd_heartbeat_listen_port", How::kUnsupported, "0",
     "the heartbeat port is spec.watchdog.heartbeatPort"},
    // Sockets and files.
    {"socket_dir", How::kUnsupported, nullptr, kSocket},
    {"unix_socket_directories", How::kUnsupported, nullptr, kSocket},
    {"pcp_socket_dir", How::kUnsupported, nullptr, kSocket},
    {"unix_socket_group", How::kNoEffect, nullptr, kSocket},
    {"unix_socket_permissions", How::kNoEffect, nullptr, kSocket},
    {"pid_file_name", How::kNoEffect, nullptr, kFiles},
    {"logdir", How::kNoEffect, nullptr, kFiles},
    {"work_dir", How::kNoEffect, nullptr, kFiles},
    // Client authentication and TLS.
    {"allow_clear_text_frontend_auth", How::kUnsupported, "off",
     "pgvigil's proxy never asks a client for a clear-text password"},
    {"ssl_ca_cert", How::kUnsupported, "", kTls},
    {"ssl_ca_cert_dir", How::kUnsupported, "", kTls},
    {"ssl_crl_file", How::kUnsupported, "", kTls},
    {"ssl_ciphers", How::kUnsupported, "high:medium:+3des:!anull|default",
     "pgvigil uses OpenSSL's default ciphers"},
    {"ssl_prefer_server_ciphers", How::kNoEffect, nullptr, ""},
    {"ssl_ecdh_curve", How::kNoEffect, nullptr, ""},
    {"ssl_dh_params_file", How::kUnsupported, "", "pgvigil uses OpenSSL's default key exchange"},
    {"ssl_passphrase_command", How::kUnsupported, "", "pgvigil needs an unencrypted key file"},
    // Logging.
    {"log_connections", How::kUnsupported, "off", kLogWhat},
    {"log_disconnections", How::kUnsupported, "off", kLogWhat},
    {"log_statement", How::kUnsupported, "off", kLogWhat},
    {"log_per_node_statement", How::kUnsupported, "off", kLogWhat},
    {"notice_per_node_statement", How::kUnsupported, "off", kLogWhat},
    {"log_client_messages", How::kUnsupported, "off", kLogWhat},
    {"log_backend_messages", How::kUnsupported, "none", kLogWhat},
    {"log_hostname", How::kNoEffect, nullptr, kLogFormat},
    {"log_pcp_processes", How::kNoEffect, nullptr, kLogFormat},
    {"log_line_prefix", How::kNoEffect, nullptr, kLogFormat},
    {"log_error_verbosity", How::kNoEffect, nullptr, kLogFormat},
    {"client_min_messages", How::kNoEffect, nullptr, kLogFormat},
    {"syslog_ident", How::kNoEffect, nullptr, kLogFormat},
    {"logging_collector", How::kNoEffect, nullptr, kLogFormat},
    {"log_directory", How::kNoEffect, nullptr, kLogFormat},
    {"log_filename", How::kNoEffect, nullptr, kLogFormat},
    {"log_file_mode", How::kNoEffect, nullptr, kLogFormat},
    {"log_truncate_on_rotation", How::kNoEffect, nullptr, kLogFormat},
    {"log_rotation_age", How::kNoEffect, nullptr, kLogFormat},
    {"log_rotation_size", How::kNoEffect, nullptr, kLogFormat},
    {"debug_level", How::kNoEffect, nullptr, kLogFormat},
    {"health_check_test", How::kNoEffect, nullptr, ""},
    // Pgpool-II 3.x parameters still found in old files.
    {"parallel_mode", How::kUnsupported, "off",
     "Pgpool-II's parallel query mode has no counterpart"},
    {"pgdb_hostname", How::kNoEffect, nullptr, ""},
    {"system_db_hostname", How::kNoEffect, nullptr, ""},
    {"system_db_port", How::kNoEffect, nullptr, ""},
    {"system_db_dbname", How::kNoEffect, nullptr, ""},
    {"system_db_schema", How::kNoEffect, nullptr, ""},
    {"system_db_user", How::kNoEffect, nullptr, ""},
    {"system_db_password", How::kNoEffect, nullptr, ""},
    {"pcp_timeout", How::kNoEffect, nullptr, ""},
    {"enable_query_cache", How::kUnsupported, "off", kCache},
};

const Rule* FindRule(const std::string& key) {
  for (const auto& r : kRules)
    if (key == r.key) return &r;
  return nullptr;
}

bool Quiet(const Rule& r, const std::string& value) {
  if (!r.quiet) return false;
  std::string v = Lower(Trim(value));
  std::string all = r.quiet;
  size_t start = 0;
  while (true) {
    size_t bar = all.find('|', start);
    std::string q = all.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (v == q) return true;
    if (q == "on" || q == "off") {
      auto b = ParseBool(v);
      if (b && q == (*b ? "on" : "off")) return true;
    }
    if (bar == std::string::npos) return false;
    start = bar + 1;
  }
}

}  // namespace

void Importer::Leftovers() {
  for (const auto& [key, s] : effective_) {
    if (Used(key)) continue;
    const Rule* r = FindRule(key);
    if (!r) {
      // "stemN" of a per-node parameter handled above (e.g. a stray other_wd_port3).
      std::string stem = key;
      while (!stem.empty() && std::isdigit(static_cast<unsigned char>(stem.back())))
        stem.pop_back();
      if (stem != key && Used(stem + "0")) {
        Warning(s, "ignored");
        continue;
      }
      Warning(s, "unknown Pgpool-II parameter (a typo, or newer than this importer): ignored");
      continue;
    }
    if (r->how == How::kNoEffect || Quiet(*r, s->value)) continue;
    if (r->how == How::kUnnecessary)
      Unnecessary(s, r->reason);
    else
      Unsupported(s, r->reason);
  }
}

}  // namespace pgvigil::pgpool::internal
