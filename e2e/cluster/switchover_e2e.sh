#!/usr/bin/env bash
# e2e/cluster/switchover_e2e.sh — planned switchover under a write load:
#   0. lab up, pgvigil started, standbys built; pgbench initialised through the VIP;
#   1. pgbench (4 clients, TPC-B-like, through the VIP's proxy) + the numbered-row
#      writer run; `vigilctl switchover --to TARGET` (a standby) while they do;
#   2. TARGET is the primary, the old primary and the other standby stream from it,
#      three nodes up; pgbench must exit 0 with no aborted client: the issue
#      promises "clients see a delay, not an error" when the switchover completes
#      within proxy.pauseLimit (5 s default). The proxies hold new transactions,
#      the controller waits for the transactions in progress to end before it
#      stops the old primary, and idle sessions move to the new primary;
#   3. a clean switchover loses nothing: every acknowledged row (writer) must be on
#      the new primary, and pgbench_history has one row per committed transaction.
# Own lab: PGVIGIL_LAB_NS=pgew, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pgew by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init switchover pgew
spec_async >"$E2E_OUT/spec.yaml"  # written for async replication (the lab default is sync)
e2e_lab_up "$E2E_OUT/spec.yaml"

say "0. waiting for the standbys"
check "0. three nodes up, server1 primary" wait_until 90 three_up_one_primary server1
for s in server2 server3; do check "0. $s streams from server1" wait_until 30 streams_from "$s" server1; done
say "0. pgbench -i through the VIP"
if inns client env PGCONNECT_TIMEOUT=5 "$PG_BIN/pgbench" -h $VIP -p 9999 -U postgres -i -s 1 -q postgres \
     >"$E2E_OUT/pgbench-init.log" 2>&1; then
  pass "0. pgbench -i through the VIP"
else
  fail "0. pgbench -i through the VIP failed"; tail -n 5 "$E2E_OUT/pgbench-init.log"
fi

start_checker
start_writer
old=$(cluster_primary)
target=server2
[[ $old == server2 ]] && target=server3
other=""
for s in "${SERVERS[@]}"; do [[ $s != "$old" && $s != "$target" ]] && other=$s; done

say "1. pgbench -c 4 -T 25 through the VIP"
"$LABSH" exec client env PGCONNECT_TIMEOUT=5 "$PG_BIN/pgbench" -h $VIP -p 9999 -U postgres -c 4 -j 2 -T 25 -P 1 \
  postgres >"$E2E_OUT/pgbench.out" 2>"$E2E_OUT/pgbench.err" &
PGBENCH_PID=$!
E2E_BG_PIDS+=("$PGBENCH_PID")
sleep 6
say "1. vigilctl switchover --to $target (primary $old)"
t=$(now_ms)
if timeout 120 "$LABSH" exec client "$BIN/vigilctl" switchover --to "$target" >"$E2E_OUT/switchover.out" 2>&1; then
  pass "1. vigilctl switchover --to $target returned success in $(( $(now_ms) - t )) ms"
else
  fail "1. vigilctl switchover --to $target failed (exit $?)"
fi
sed 's/^/  /' "$E2E_OUT/switchover.out" | tail -n 10
check "2. $target is writable" wait_until 30 is_writable "$target"
check "2. vigilctl status names $target the primary" wait_until 30 eval '[[ $(cluster_primary) == "$target" ]]'
check "2. writes through the VIP continue" writes_resume 30
report_outage "2. switchover" "$t"
switch_outage=${E2E_LAST_OUTAGE_MS:-}
check "2. the old primary $old streams from $target" wait_until 60 streams_from "$old" "$target"
check "2. $other streams from $target" wait_until 60 streams_from "$other" "$target"
check "2. show pool_nodes via the VIP: three nodes up, $target primary" wait_until 30 three_up_one_primary "$target"
vip_psql -c "show pool_nodes" | sed 's/^/  /'

say "waiting for pgbench"
wait "$PGBENCH_PID"; prc=$?
E2E_BG_PIDS=()
grep -E "number of (transactions actually processed|failed transactions)|latency average|tps =|maximum" "$E2E_OUT/pgbench.out" | sed 's/^/  pgbench: /'
grep -E "aborted|error|ERROR|FATAL" "$E2E_OUT/pgbench.err" | head -n 8 | sed 's/^/  pgbench stderr: /'
# Progress lines (-P 1) show the stall: lowest tps second and its latency.
grep -E '^progress:' "$E2E_OUT/pgbench.err" | sort -t' ' -k4 -n | head -n 3 | sed 's/^/  pgbench slowest: /'
aborted=$(grep -c "aborted" "$E2E_OUT/pgbench.err")
committed=$(awk -F': ' '/number of transactions actually processed/ {split($2, a, "/"); print a[1]}' "$E2E_OUT/pgbench.out")
if [[ $prc == 0 && $aborted == 0 ]]; then
  pass "2. pgbench saw no error during the switchover (exit 0, no aborted client, $committed transactions)"
else
  fail "2. pgbench clients got errors during the switchover (exit $prc, $aborted aborted client lines, $committed transactions)"
fi
limit_ms=5000   # spec.proxy.pauseLimit default (the lab spec does not set it)
if [[ -n ${switch_outage:-} ]] && ((switch_outage <= limit_ms)); then
  pass "2. the switchover held writes ${switch_outage} ms, within proxy.pauseLimit ${limit_ms} ms"
else
  fail "2. the switchover held writes ${switch_outage:-?} ms, more than proxy.pauseLimit ${limit_ms} ms (new transactions are released, and fail, after the limit)"
fi
# Every transaction pgbench counted as committed inserted one pgbench_history row.
hist=$(node_psql "$target" -c "select count(*) from pgbench_history")
if [[ -n $committed && -n $hist ]] && ((hist >= committed)); then
  pass "3. pgbench_history on $target has $hist rows >= $committed committed transactions"
else
  fail "3. pgbench_history on $target has '$hist' rows, pgbench committed '$committed'"
fi
vctl status | sed 's/^/  /'
# The writer's errors, if any, are in writer.err (it reconnects on an error).
grep -ciE "error|fatal" "$E2E_OUT/writer.err" | sed 's/^/  writer error lines: /'
e2e_finish no
