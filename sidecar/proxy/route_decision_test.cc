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
#include <vector>

#include "sidecar/proxy/route_decision_testutil.h"

namespace pgvigil::proxy {
namespace {

using route_test::Base;
using route_test::Cycle;
using route_test::In;
using route_test::StandbyDeferred;
using route_test::StandbyInTx;

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
      {"begin_defers_the_standby", [](In& in) { in.c = Cycle("BEGIN"); }, "primary (begin, standby deferred) defer"},
      {"begin_repeatable_read_defers_the_standby",
       [](In& in) { in.c = Cycle("BEGIN ISOLATION LEVEL REPEATABLE READ"); },
       "primary (begin, standby deferred) defer"},
      {"begin_extended_defers_the_standby", [](In& in) { in.c = Cycle("BEGIN", Protocol::kExtendedSync); },
       "primary (begin, standby deferred) defer"},
      {"cause10_begin_in_flush_pipeline_defers_the_standby",
       [](In& in) { in.c = Cycle("BEGIN", Protocol::kPipelineFlush); }, "primary (begin, standby deferred) defer"},
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
       "primary (begin, standby deferred) defer"},
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
      // --- the standby's BEGIN deferred to the transaction's first statement there ------
      {"deferred_first_read_opens_the_standby",
       [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("SELECT * FROM t");
       },
       "standby (standby in transaction) open"},
      {"deferred_first_read_extended_opens_the_standby",
       [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("SELECT * FROM t", Protocol::kExtendedSync);
       },
       "standby (standby in transaction) open"},
      {"deferred_no_standby_connected_opens_one_at_the_floor",
       [](In& in) {
         StandbyDeferred(in);
         in.s.standbyConnected = in.s.standbyEligible = false;
         in.s.readFloor = 1000;
         in.k.standbysAtFloor = 1;
         in.c = Cycle("SELECT * FROM t");
       },
       "standby (standby in transaction) lsn>=1000 open"},
      {"tpcb_first_write_leaves_the_standby_out",  // the session then forgets the deferral (disableOnWrite)
       [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1");
       },
       "primary (write)"},
      {"tpcb_read_after_write_primary",
       [](In& in) {
         in.s.txStatus = 'T';
         in.s.standbyConnected = in.s.standbyEligible = true;
         in.s.wrote = true;
         in.c = Cycle("SELECT abalance FROM pgbench_accounts WHERE aid = 1");
       },
       "primary (wrote in transaction)"},
      {"tpcb_end_primary_only",
       [](In& in) {
         in.s.txStatus = 'T';
         in.s.standbyConnected = in.s.standbyEligible = true;
         in.s.wrote = true;
         in.c = Cycle("END");
       },
       "primary (broadcast)"},
      {"deferred_commit_primary_only", [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("COMMIT");
       }, "primary (broadcast)"},
      {"deferred_rollback_primary_only", [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("ROLLBACK");
       }, "primary (broadcast)"},
      {"deferred_savepoint_opens_the_standby", [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("SAVEPOINT a");
       }, "primary+standby (broadcast) open"},
      {"deferred_set_local_opens_the_standby", [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("SET LOCAL search_path = a");
       }, "primary+standby (broadcast) open"},
      {"deferred_set_transaction_opens_the_standby", [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
       }, "primary+standby (broadcast) open"},
      {"deferred_session_set_opens_a_standby_not_connected_yet",
       [](In& in) {
         StandbyDeferred(in);
         in.s.standbyConnected = in.s.standbyEligible = false;
         in.c = Cycle("SET search_path = a");
       },
       "primary+standby (broadcast) open"},
      {"deferred_release_primary_only", [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("RELEASE SAVEPOINT a");
       }, "primary (broadcast)"},
      {"deferred_rollback_to_primary_only", [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("ROLLBACK TO SAVEPOINT a");
       }, "primary (broadcast)"},
      {"deferred_set_transaction_serializable_forgoes",
       [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
       },
       "primary (serializable transaction) forgo tx-serializable"},
      {"deferred_savepoint_with_write_forgoes",
       [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("SAVEPOINT a", Protocol::kExtendedSync);
         in.c.needPrimary = in.c.write = true;  // an INSERT in the same Sync
       },
       "primary (write) forgo"},
      {"deferred_savepoint_in_a_sequence_on_the_primary_opens",  // BEGIN; SAVEPOINT in one pipeline
       [](In& in) {
         StandbyDeferred(in);
         in.s.txStatus = 'I';  // the BEGIN's ReadyForQuery is not in yet
         in.s.pinned = Side::kPrimary;
         in.c = Cycle("SAVEPOINT a", Protocol::kExtendedSync);
       },
       "primary+standby (extended sequence in progress) open"},
      {"deferred_begin_bind_in_its_sequence_primary",
       [](In& in) {
         StandbyDeferred(in);
         in.s.txStatus = 'I';
         in.s.pinned = Side::kPrimary;
         in.c = Cycle("BEGIN", Protocol::kExtendedSync);
       },
       "primary (extended sequence in progress)"},
      {"deferred_read_in_a_sequence_on_the_primary_stays",
       [](In& in) {
         StandbyDeferred(in);
         in.s.pinned = Side::kPrimary;
         in.c = Cycle("SELECT 1", Protocol::kExtendedSync);
       },
       "primary (extended sequence in progress)"},
      // A DISCARD ALL behind an Execute in its sequence: PostgreSQL refuses it
      // there (25001); it goes nowhere else (first in a sequence elsewhere it
      // would run). First in its sequence it is a broadcast like any.
      {"discard_all_behind_an_execute_stays_on_the_standby",
       [](In& in) {
         in.s.pinned = Side::kStandby;
         in.s.pipelined = true;
         in.s.standbyConnected = true;
         in.c = Cycle("DISCARD ALL", Protocol::kExtendedSync);
       },
       "standby (extended sequence in progress)"},
      {"discard_all_behind_an_execute_on_the_primary_not_mirrored",
       [](In& in) {
         in.s.pinned = Side::kPrimary;
         in.s.pipelined = true;
         in.s.standbyConnected = true;
         in.c = Cycle("DISCARD ALL", Protocol::kExtendedSync);
       },
       "primary (extended sequence in progress)"},
      {"discard_all_first_in_its_sequence_mirrored",
       [](In& in) {
         in.s.pinned = Side::kPrimary;
         in.s.standbyConnected = true;
         in.c = Cycle("DISCARD ALL", Protocol::kExtendedSync);
       },
       "primary+standby (extended sequence in progress)"},
      {"deferred_failed_transaction_read_primary",
       [](In& in) {
         StandbyDeferred(in);
         in.s.txStatus = 'E';
         in.c = Cycle("SELECT 1");
       },
       "primary (transaction on primary)"},
      {"deferred_read_of_unknown_function_primary_keeps_deferral",
       [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("SELECT my_func(1)");
       },
       "primary (function of unknown volatility in transaction)"},
      {"deferred_deallocate_all_not_opening",
       [](In& in) {
         StandbyDeferred(in);
         in.c = Cycle("DEALLOCATE ALL");
       },
       "primary+standby (broadcast)"},
      {"begin_in_a_transaction_the_standby_is_in_mirrored",
       [](In& in) {
         StandbyInTx(in);
         in.c = Cycle("BEGIN");
       },
       "primary+standby (broadcast)"},
      {"begin_with_temp_table_primary_only",
       [](In& in) {
         in.s.tempTable = true;
         in.c = Cycle("BEGIN");
       },
       "primary (broadcast)"},
      {"begin_balancing_off_primary_only",
       [](In& in) {
         in.b.enabled = false;
         in.c = Cycle("BEGIN");
       },
       "primary (broadcast)"},
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
       "primary (begin, standby deferred) lsn>=1000 defer"},
      // --- read-your-writes: the commit LSN asked for only when a read could use a standby ---
      {"stale_floor_read_asks_for_the_lsn",
       [](In& in) {
         in.s.floorStale = true;
         in.s.readFloor = 1000;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (commit lsn asked) fetch-lsn"},
      {"stale_floor_extended_read_asks_for_the_lsn",
       [](In& in) {
         in.s.floorStale = true;
         in.c = Cycle("SELECT * FROM t", Protocol::kExtendedSync);
       },
       "primary (commit lsn asked) fetch-lsn"},
      {"stale_floor_write_does_not_ask",  // a session that only writes never pays the query
       [](In& in) {
         in.s.floorStale = true;
         in.c = Cycle("UPDATE t SET a = 1");
       },
       "primary (write)"},
      {"stale_floor_begin_primary_only",  // the transaction's first read asks
       [](In& in) {
         in.s.floorStale = true;
         in.c = Cycle("BEGIN");
       },
       "primary (broadcast)"},
      {"stale_floor_read_in_transaction_asks_for_the_lsn",  // BEGIN; SELECT; COMMIT after a write
       [](In& in) {
         in.s.txStatus = 'T';
         in.s.floorStale = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (transaction on primary) fetch-lsn"},
      {"stale_floor_read_after_the_transactions_write_does_not_ask",
       [](In& in) {
         in.s.txStatus = 'T';
         in.s.wrote = true;
         in.s.floorStale = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (wrote in transaction)"},
      {"stale_floor_always_sticky_does_not_ask",
       [](In& in) {
         in.s.wrote = true;
         in.b.disableOnWrite = DisableOnWrite::kAlways;
         in.s.floorStale = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (wrote in session)"},
      {"stale_floor_no_standby_does_not_ask",
       [](In& in) {
         in.s.floorStale = true;
         in.k.standbysEligible = in.k.standbysAtFloor = 0;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (no standby)"},
      {"stale_floor_balancing_off_does_not_ask",
       [](In& in) {
         in.s.floorStale = true;
         in.b.enabled = false;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (balancing off)"},
      {"stale_floor_read_your_writes_off_balances",
       [](In& in) {
         in.s.floorStale = true;
         in.b.readYourWrites = false;
         in.c = Cycle("SELECT * FROM t");
       },
       "standby (balanced read)"},
      {"stale_floor_catalog_read_primary_does_not_ask",
       [](In& in) {
         in.s.floorStale = true;
         in.c = Cycle("SELECT gid FROM pg_catalog.pg_prepared_xacts");
       },
       "primary (write)"},
      {"stale_floor_without_primary_reads_a_standby",
       [](In& in) {
         in.s.floorStale = true;
         in.k.hasPrimary = false;
         in.c = Cycle("SELECT * FROM t");
       },
       "standby (read without primary)"},
      {"stale_floor_asked_again_while_an_earlier_answer_is_pending",
       [](In& in) {
         in.s.floorStale = in.s.floorPending = true;
         in.c = Cycle("SELECT * FROM t");
       },
       "primary (commit lsn asked) fetch-lsn"},
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

}  // namespace
}  // namespace pgvigil::proxy
