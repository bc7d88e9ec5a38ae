// Table tests for the per-statement routing decision (route_decision.h), the
// way the controller's planner is tested: each row starts from one session
// (idle, connected to the primary only, balancing on with disableOnWrite =
// transaction and readYourWrites, a primary and two eligible standbys),
// changes the statement, the session's transaction state, the routing state,
// the settings or the protocol, and asserts the rendered decision. Rows named
// "causeN" reproduce the cause N of issue 15.
#include "sidecar/proxy/route_decision.h"

#include <gtest/gtest.h>

#include <functional>

namespace pgvigil::proxy {
namespace {

struct In {
  CycleSummary c;
  SessionView s;
  ClusterView k;
  BalanceSettings b;
};

// The cycle a client sends: sql classified as the session would, in protocol p.
CycleSummary Cycle(const std::string& sql, Protocol p = Protocol::kSimple) {
  SqlClass cls = ClassifySql(sql, ClassifierConfig{});
  CycleSummary c;
  c.protocol = p;
  c.local = cls.route == SqlRoute::kLocal;
  c.needPrimary = cls.route == SqlRoute::kPrimary || cls.route == SqlRoute::kLocal;
  c.broadcast = cls.route == SqlRoute::kAll;
  c.write = cls.write;
  c.txBegin = cls.txBegin;
  c.reads = cls.route == SqlRoute::kRead ? 1 : 0;
  c.kind = cls.kind;
  c.isolation = cls.isolation;
  c.access = cls.access;
  c.functionsUnknown = !cls.functions.empty();
  return c;
}

In Base() {
  In in;
  in.s.primaryConnected = true;
  in.k.standbysEligible = 2;
  in.k.standbysAtFloor = 2;
  return in;
}

// The session's standby is connected and part of the open transaction.
void StandbyInTx(In& in) {
  in.s.txStatus = 'T';
  in.s.standbyConnected = in.s.standbyEligible = in.s.standbyInTx = true;
  in.s.standbyTxStatus = 'T';
}

struct Row {
  const char* name;
  std::function<void(In&)> change;
  const char* want;
};

const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = {
      // --- plain statements -------------------------------------------------------
      {"read_balances", [](In& in) { in.c = Cycle("SELECT * FROM t"); }, "standby (balanced read)"},
      {"write_primary", [](In& in) { in.c = Cycle("INSERT INTO t VALUES (1)"); }, "primary (write)"},
      {"locking_read_primary", [](In& in) { in.c = Cycle("SELECT * FROM t FOR UPDATE"); }, "primary (write)"},
      {"show_pool_nodes_local", [](In& in) { in.c = Cycle("SHOW pool_nodes"); }, "local (local command)"},
      {"function_call_message_primary",
       [](In& in) {
         in.c = CycleSummary{};
         in.c.protocol = Protocol::kFunctionCall;
       },
       "primary (write)"},
      {"extended_read_balances", [](In& in) { in.c = Cycle("SELECT 1", Protocol::kExtendedSync); },
       "standby (balanced read)"},
      {"cause4_flush_read_routed_at_once", [](In& in) { in.c = Cycle("SELECT 1", Protocol::kPipelineFlush); },
       "standby (balanced read)"},
      {"cause7_flush_sequence_stays_on_its_standby",
       [](In& in) {
         in.c = Cycle("SELECT 1", Protocol::kPipelineFlush);
         in.s.pinned = Side::kStandby;
         in.s.standbyConnected = true;
       },
       "standby (extended sequence in progress)"},
      {"portal_on_standby",
       [](In& in) {
         in.c = CycleSummary{};
         in.c.protocol = Protocol::kExtendedSync;
         in.c.portal = Side::kStandby;
       },
       "standby (portal)"},
      {"balancing_off", [](In& in) {
         in.c = Cycle("SELECT 1");
         in.b.enabled = false;
       }, "primary (balancing off)"},
      {"temp_table_session", [](In& in) {
         in.c = Cycle("SELECT 1");
         in.s.tempTable = true;
       }, "primary (temp table)"},
      {"no_standby_read_primary", [](In& in) {
         in.c = Cycle("SELECT 1");
         in.k.standbysEligible = in.k.standbysAtFloor = 0;
       }, "primary (no standby)"},
      {"set_broadcast_to_connected_standby",
       [](In& in) {
         in.c = Cycle("SET search_path = a");
         in.s.standbyConnected = in.s.standbyEligible = true;
       },
       "primary+standby (broadcast)"},
      {"set_primary_alone", [](In& in) { in.c = Cycle("SET search_path = a"); }, "primary (broadcast)"},
      // --- routing state -----------------------------------------------------------
      {"no_primary_write_error",
       [](In& in) {
         in.c = Cycle("UPDATE t SET a = 1");
         in.k.hasPrimary = false;
       },
       "error (no primary)"},
      {"no_primary_read_standby",
       [](In& in) {
         in.c = Cycle("SELECT 1");
         in.k.hasPrimary = false;
         in.b.enabled = false;
       },
       "standby (read without primary)"},
      {"no_backend_at_all",
       [](In& in) {
         in.c = Cycle("SET a = 1");
         in.s.primaryConnected = false;
         in.k.hasPrimary = false;
         in.k.standbysEligible = 0;
       },
       "error (no backend)"},
      {"switchover_holds_new_transactions",
       [](In& in) {
         in.c = Cycle("BEGIN");
         in.k.holdNewTransactions = true;
       },
       "wait (new transactions held)"},
      {"switchover_new_primary_unconfirmed",
       [](In& in) {
         in.c = Cycle("INSERT INTO t VALUES (1)");
         in.k.hasPrimary = false;
         in.k.awaitPrimary = true;
       },
       "wait (awaiting the new primary)"},
      // --- transactions (cause 6) --------------------------------------------------
      {"begin_opens_on_both", [](In& in) { in.c = Cycle("BEGIN"); }, "primary+standby (begin on both) open"},
      {"begin_repeatable_read_on_both", [](In& in) { in.c = Cycle("BEGIN ISOLATION LEVEL REPEATABLE READ"); },
       "primary+standby (begin on both) open"},
      {"begin_extended_on_both", [](In& in) { in.c = Cycle("BEGIN", Protocol::kExtendedSync); },
       "primary+standby (begin on both) open"},
      {"cause10_begin_in_flush_pipeline_on_both", [](In& in) { in.c = Cycle("BEGIN", Protocol::kPipelineFlush); },
       "primary+standby (begin on both) open"},
      {"cause6_begin_serializable_primary_only",
       [](In& in) { in.c = Cycle("BEGIN ISOLATION LEVEL SERIALIZABLE"); },
       "primary (serializable transaction) tx-serializable"},
      {"cause6_start_transaction_serializable_read_only",
       [](In& in) { in.c = Cycle("START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY"); },
       "primary (serializable transaction) tx-serializable"},
      {"cause6_begin_read_write_primary_only", [](In& in) { in.c = Cycle("BEGIN READ WRITE"); },
       "primary (read write transaction) tx-read-write"},
      {"cause6_begin_under_serializable_session_default",
       [](In& in) {
         in.c = Cycle("BEGIN");
         in.s.sessionSerializable = true;
       },
       "primary (serializable transaction) tx-serializable"},
      {"cause6_begin_read_committed_overrides_session_default",
       [](In& in) {
         in.c = Cycle("BEGIN ISOLATION LEVEL READ COMMITTED");
         in.s.sessionSerializable = true;
       },
       "primary+standby (begin on both) open"},
      {"cause6_set_transaction_serializable_in_tx",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
       },
       "primary (serializable transaction) tx-serializable"},
      {"cause6_set_transaction_isolation_guc",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SET transaction_isolation = 'serializable'");
       },
       "primary (serializable transaction) tx-serializable"},
      {"cause6_set_transaction_read_write_in_tx",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SET TRANSACTION READ WRITE");
       },
       "primary (read write transaction) tx-read-write"},
      {"cause6_read_in_serializable_tx_primary",
       [](In& in) {
         StandbyInTx(in);
         in.s.txSerializable = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (serializable transaction)"},
      {"cause6_read_in_read_write_tx_primary",
       [](In& in) {
         StandbyInTx(in);
         in.s.txReadWrite = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (read write transaction)"},
      {"cause6_autocommit_read_serializable_session",
       [](In& in) {
         in.s.sessionSerializable = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (serializable session)"},
      {"cause6_serializable_tx_without_primary_error",
       [](In& in) {
         in.k.hasPrimary = false;
         in.c = Cycle("BEGIN ISOLATION LEVEL SERIALIZABLE");
       },
       "error (no primary) tx-serializable"},
      {"read_in_tx_on_its_standby",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SELECT * FROM t");
       },
       "standby (standby in transaction)"},
      {"cause6_standby_refused_begin_reads_stay_in_tx",
       [](In& in) {
         StandbyInTx(in);
         in.s.standbyTxStatus = 'I';  // its BEGIN failed: not in the transaction
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (transaction on primary)"},
      {"cause6_standby_begin_answer_pending",
       [](In& in) {
         StandbyInTx(in);
         in.s.standbyAnswersPending = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "wait (standby begin pending)"},
      {"read_in_tx_standby_not_part_of_it",
       [](In& in) {
         in.s.txStatus = 'T';
         in.s.standbyConnected = in.s.standbyEligible = true;
         in.c = Cycle("SELECT 1");
       },
       "primary (transaction on primary)"},
      // --- disableOnWrite -----------------------------------------------------------
      {"wrote_in_tx_transaction_mode",
       [](In& in) {
         StandbyInTx(in);
         in.s.wrote = true;
         in.c = Cycle("SELECT 1");
       },
       "primary (wrote in transaction)"},
      {"wrote_in_tx_off_mode_reads_standby",
       [](In& in) {
         StandbyInTx(in);
         in.s.wrote = true;
         in.b.disableOnWrite = DisableOnWrite::kOff;
         in.c = Cycle("SELECT 1");
       },
       "standby (standby in transaction)"},
      {"wrote_always_mode_idle",
       [](In& in) {
         in.s.wrote = true;
         in.b.disableOnWrite = DisableOnWrite::kAlways;
         in.c = Cycle("SELECT 1");
       },
       "primary (wrote in session)"},
      {"wrote_always_begin_primary_only",
       [](In& in) {
         in.s.wrote = true;
         in.b.disableOnWrite = DisableOnWrite::kAlways;
         in.c = Cycle("BEGIN");
       },
       "primary (broadcast)"},
      // --- read-your-writes (cause 8) ------------------------------------------------
      {"cause8_commit_lsn_pending_primary",
       [](In& in) {
         in.s.floorPending = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (commit lsn pending)"},
      {"cause8_session_standby_behind_primary",
       [](In& in) {
         in.s.standbyConnected = in.s.standbyEligible = true;
         in.s.standbyReplayLsn = 900;
         in.s.readFloor = 1000;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (read your writes)"},
      {"cause8_session_standby_caught_up",
       [](In& in) {
         in.s.standbyConnected = in.s.standbyEligible = true;
         in.s.standbyReplayLsn = 1000;
         in.s.readFloor = 1000;
         in.c = Cycle("SELECT * FROM t");
       },
       "standby (balanced read) lsn>=1000"},
      {"cause8_pick_a_standby_at_the_floor",
       [](In& in) {
         in.s.readFloor = 1000;
         in.k.standbysAtFloor = 1;
         in.c = Cycle("SELECT * FROM t");
       },
       "standby (balanced read) lsn>=1000"},
      {"cause8_no_standby_at_the_floor",
       [](In& in) {
         in.s.readFloor = 1000;
         in.k.standbysAtFloor = 0;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (read your writes)"},
      {"cause8_off_reads_balance_at_once",
       [](In& in) {
         in.s.readFloor = 1000;
         in.s.floorPending = true;
         in.k.standbysAtFloor = 0;
         in.b.readYourWrites = false;
         in.c = Cycle("SELECT * FROM t");
       },
       "standby (balanced read)"},
      {"cause8_begin_needs_standby_at_floor",
       [](In& in) {
         in.s.standbyConnected = in.s.standbyEligible = true;
         in.s.standbyReplayLsn = 10;
         in.s.readFloor = 1000;
         in.c = Cycle("BEGIN");
       },
       "primary (broadcast)"},
      {"cause8_begin_picks_standby_at_floor",
       [](In& in) {
         in.s.readFloor = 1000;
         in.k.standbysAtFloor = 1;
         in.c = Cycle("BEGIN");
       },
       "primary+standby (begin on both) lsn>=1000 open"},
      {"cause8_large_object_read_primary", [](In& in) { in.c = Cycle("SELECT lo_get(16400)"); }, "primary (write)"},
      {"cause8_prepare_transaction_primary", [](In& in) { in.c = Cycle("PREPARE TRANSACTION 'x'"); },
       "primary (write)"},
      {"cause8_commit_prepared_primary", [](In& in) { in.c = Cycle("COMMIT PREPARED 'x'"); }, "primary (write)"},
      // --- functions (cause 9) ------------------------------------------------------
      {"cause9_txid_current_primary", [](In& in) { in.c = Cycle("SELECT txid_current()"); }, "primary (write)"},
      {"cause9_pg_notify_primary", [](In& in) { in.c = Cycle("SELECT pg_notify('c', 'x')"); }, "primary (write)"},
      {"cause9_advisory_unlock_primary", [](In& in) { in.c = Cycle("SELECT pg_advisory_unlock(1)"); },
       "primary (write)"},
      {"cause9_index_maintenance_primary", [](In& in) { in.c = Cycle("SELECT brin_summarize_new_values('i')"); },
       "primary (write)"},
      {"cause9_user_function_looked_up", [](In& in) { in.c = Cycle("SELECT my_func(1)"); },
       "wait (function lookup)"},
      {"cause9_volatile_user_function_primary",
       [](In& in) {
         in.c = Cycle("SELECT my_func(1)");
         in.c.functionsUnknown = false;
         in.c.functionsVolatile = true;
       },
       "primary (volatile function)"},
      {"cause9_stable_user_function_balances",
       [](In& in) {
         in.c = Cycle("SELECT my_func(1)");
         in.c.functionsUnknown = false;
       },
       "standby (balanced read)"},
      {"cause9_builtin_read_no_lookup", [](In& in) { in.c = Cycle("SELECT lower(name), now() FROM t"); },
       "standby (balanced read)"},
      {"cause9_unknown_function_in_tx_primary_not_standby",  // psycopg test_broken: pg_terminate_backend
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("select pg_terminate_backend($1)");
       },
       "primary (function of unknown volatility in transaction)"},
      {"cause9_stable_function_in_tx_on_its_standby",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SELECT my_func(1)");
         in.c.functionsUnknown = false;
       },
       "standby (standby in transaction)"},
      {"failed_tx_read_not_on_a_standby_made_to_fail",  // the session fails the other backend's part too
       [](In& in) {
         StandbyInTx(in);
         in.s.txStatus = 'E';
         in.s.standbyTxStatus = 'E';
         in.c = Cycle("SELECT 1");
       },
       "primary (transaction on primary)"},
      // --- what differs per server: the primary's answer ------------------------------
      {"catalog_prepared_xacts_primary",  // psycopg tpc_recover after another session's PREPARE TRANSACTION
       [](In& in) { in.c = Cycle("SELECT gid FROM pg_catalog.pg_prepared_xacts"); }, "primary (write)"},
      {"catalog_stat_activity_primary_in_tx",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SELECT pid FROM pg_stat_activity");
       },
       "primary (write)"},
      {"backend_pid_primary_in_tx",  // the pid of BackendKeyData is the primary backend's
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SELECT pg_backend_pid()");
       },
       "primary (write)"},
      {"transaction_read_only_setting_primary",  // on in every standby transaction
       [](In& in) { in.c = Cycle("select current_setting($1), current_setting($2)", Protocol::kExtendedSync); },
       "primary (write)"},
      {"other_setting_balances", [](In& in) { in.c = Cycle("SELECT current_setting('search_path')"); },
       "standby (balanced read)"},
      // --- prepared statements and savepoints (cause 10) ------------------------------
      {"cause10_deallocate_parsed_on_standby_only",
       [](In& in) {
         in.c = Cycle("DEALLOCATE s1");
         in.c.deallocateTracked = in.c.parsedOnStandby = true;
         in.s.standbyConnected = true;
       },
       "standby (deallocate where parsed)"},
      {"cause10_deallocate_parsed_on_both",
       [](In& in) {
         in.c = Cycle("DEALLOCATE s1");
         in.c.deallocateTracked = in.c.parsedOnStandby = in.c.parsedOnPrimary = true;
         in.s.standbyConnected = true;
       },
       "primary+standby (deallocate where parsed)"},
      {"cause10_deallocate_parsed_nowhere_answered_locally",
       [](In& in) {
         in.c = Cycle("DEALLOCATE s1");
         in.c.deallocateTracked = true;
       },
       "local (deallocate of a statement no backend has)"},
      {"cause10_extended_deallocate_where_parsed_in_tx",  // psycopg's evictions (test_evict_lru_deallocate)
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("DEALLOCATE _pg3_1", Protocol::kExtendedSync);
         in.c.deallocateTracked = in.c.parsedOnStandby = true;
       },
       "standby (deallocate where parsed)"},
      {"cause10_extended_deallocate_nowhere_primary",
       [](In& in) {
         in.c = Cycle("DEALLOCATE s1", Protocol::kExtendedSync);
         in.c.deallocateTracked = true;
       },
       "primary (deallocate of a statement no backend has)"},
      {"cause10_deallocate_sql_prepared_primary",
       [](In& in) { in.c = Cycle("DEALLOCATE PREPARE s1"); },
       "primary (deallocate untracked)"},
      {"cause10_deallocate_all_broadcast",
       [](In& in) {
         in.c = Cycle("DEALLOCATE ALL");
         in.s.standbyConnected = true;
       },
       "primary+standby (broadcast)"},
      {"cause10_savepoint_in_flush_pipeline_mirrored",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SAVEPOINT a", Protocol::kPipelineFlush);
       },
       "primary+standby (broadcast)"},
      {"cause10_rollback_to_mirrored",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("ROLLBACK TO SAVEPOINT a", Protocol::kExtendedSync);
       },
       "primary+standby (broadcast)"},
      {"cause10_savepoint_with_write_mirrors_the_savepoint",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("SAVEPOINT a", Protocol::kExtendedSync);
         in.c.needPrimary = in.c.write = true;  // an INSERT in the same Sync
       },
       "primary+standby (write)"},
      {"savepoint_standby_not_in_tx_primary_only",
       [](In& in) {
         in.s.txStatus = 'T';
         in.s.standbyConnected = true;
         in.c = Cycle("SAVEPOINT a");
       },
       "primary (broadcast)"},
      {"commit_ends_both",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("COMMIT");
       },
       "primary+standby (broadcast)"},
  };
  return rows;
}

TEST(RouteDecisionTest, Table) {
  for (const auto& row : Rows()) {
    In in = Base();
    row.change(in);
    EXPECT_EQ(Describe(DecideRoute(in.c, in.s, in.k, in.b)), row.want) << row.name;
  }
}

// Every statement class x transaction state x routing state x setting x
// protocol: the invariants hold in every combination.
TEST(RouteDecisionTest, InvariantsOverTheWholeSpace) {
  const char* sqls[] = {"SELECT 1", "INSERT INTO t VALUES (1)", "BEGIN", "BEGIN ISOLATION LEVEL SERIALIZABLE",
                        "BEGIN READ WRITE", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SAVEPOINT a",
                        "COMMIT", "SET x = 1", "SELECT f()", "SELECT * FROM pg_prepared_xacts",
                        "SELECT pg_backend_pid()"};
  int combos = 0;
  for (const char* sql : sqls)
    for (char tx : {'I', 'T', 'E'})
      for (int routing = 0; routing < 3; ++routing)  // normal, no primary, no standby
        for (int setting = 0; setting < 4; ++setting)
          for (Protocol p : {Protocol::kSimple, Protocol::kExtendedSync, Protocol::kPipelineFlush})
            for (int flags = 0; flags < 16; ++flags) {
              In in = Base();
              in.c = Cycle(sql, p);
              in.s.txStatus = tx;
              if (tx != 'I' && (flags & 1)) StandbyInTx(in), in.s.txStatus = tx;
              in.s.txSerializable = tx != 'I' && (flags & 2);
              in.s.sessionSerializable = flags & 4;
              in.s.readFloor = (flags & 8) ? 1000 : 0;
              in.s.standbyReplayLsn = 500;
              in.k.standbysAtFloor = (flags & 8) ? 0 : 2;
              if (routing == 1) in.k.hasPrimary = false;
              if (routing == 2) in.k.standbysEligible = in.k.standbysAtFloor = 0;
              in.b.enabled = setting != 0;
              in.b.disableOnWrite = setting == 2 ? DisableOnWrite::kAlways : DisableOnWrite::kTransaction;
              in.b.readYourWrites = setting != 3;
              RouteDecision d = DecideRoute(in.c, in.s, in.k, in.b);
              ++combos;
              std::string where = std::string(sql) + " tx=" + tx + " routing=" + std::to_string(routing) +
                                  " setting=" + std::to_string(setting) + " " + ToString(p) +
                                  " flags=" + std::to_string(flags) + ": " + Describe(d);
              bool standby = d.target == RouteTarget::kStandby;
              // Writes never go to a standby.
              if (in.c.write) EXPECT_FALSE(standby) << where;
              // A serializable transaction never reads a standby.
              if (in.s.txSerializable || (tx == 'I' && in.s.sessionSerializable && !in.c.broadcast))
                EXPECT_FALSE(standby) << where;
              if (d.txSerializable || d.txReadWrite) EXPECT_NE(d.target, RouteTarget::kBoth) << where;
              // A read in a transaction goes to a standby only if that standby is in it.
              if (tx != 'I' && standby && d.reason != RouteReason::kNoPrimaryRead)
                EXPECT_TRUE(in.s.standbyInTx && in.s.standbyTxStatus == 'T') << where;
              // Read-your-writes: an autocommit read on a standby below the floor never.
              if (tx == 'I' && standby && in.b.readYourWrites && in.s.readFloor > 0 && in.k.hasPrimary)
                EXPECT_TRUE(in.s.standbyConnected ? in.s.standbyReplayLsn >= in.s.readFloor
                                                  : d.minReplayLsn >= in.s.readFloor)
                    << where;
              // A transaction's read of a function of unknown volatility is not balanced.
              if (tx != 'I' && in.c.functionsUnknown && in.k.hasPrimary) EXPECT_FALSE(standby) << where;
              // System catalogs and the backend's pid: the primary's answer while there is one.
              if (std::string(sql).find("pg_") != std::string::npos && in.k.hasPrimary) EXPECT_FALSE(standby) << where;
              // Balancing off: nothing balanced while a primary is there.
              if (!in.b.enabled && in.k.hasPrimary) EXPECT_FALSE(standby) << where;
            }
  EXPECT_GT(combos, 5000);
}

}  // namespace
}  // namespace pgvigil::proxy
