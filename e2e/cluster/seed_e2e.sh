#!/usr/bin/env bash
# e2e/cluster/seed_e2e.sh — the seed's 7.3.7 (Pgpool-II 4.0 manual, the example
# cluster's checks) as a new user would do it, through the VIP and vigilctl:
#   1. lab with only server1 initialised + pgvigil started with recovery.automatic:
#      false (the seed's manual pcp_recovery_node): `vigilctl recover server2` and
#      `server3` build the standbys by online recovery; `show pool_nodes` via the VIP
#      shows three nodes up, one primary; both standbys stream from it (the automatic
#      build of empty standbys is checked by cutoff_e2e.sh);
#   2. watchdog: stop the leader's sidecar -> the VIP moves, `vigilctl watchdog` shows
#      it SHUTDOWN; start it again -> it joins as STANDBY (the leader stays);
#   3. automatic failover: `pg_ctl -m immediate stop` on the primary -> a standby is
#      promoted, the other standby streams from it (pg_is_in_recovery, and
#      pg_stat_replication on the new primary), `show pool_nodes` shows the old primary
#      down (recovery.automatic: false, so it stays down);
#   4. online recovery of the old primary with `vigilctl recover` -> standby of the
#      new primary, three nodes up.
# All along, pgvigil-e2e-writer inserts numbered rows through the VIP and
# pgvigil-e2e-primary-checker watches for two writable routed primaries / two VIP
# holders; at the end every acknowledged row must be on the primary (async
# replication: a loss is reported as the loss window, not failed).
# Own lab: PGVIGIL_LAB_NS=pges, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pges by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init seed pges

spec_async_with "  recovery:\n    automatic: false" >"$E2E_OUT/spec.yaml"
e2e_lab_up "$E2E_OUT/spec.yaml"

# recover_node STEP NODE OUTFILE LINES: `vigilctl recover NODE` (its progress bar goes
# to OUTFILE), pass/fail with the time it took, then the last LINES lines of output.
recover_node() {
  local step=$1 node=$2 out=$3 lines=$4 t=$SECONDS
  if timeout 180 "$LABSH" exec client "$BIN/vigilctl" recover "$node" >"$out" 2>&1; then
    pass "$step. vigilctl recover $node succeeded in $((SECONDS - t)) s"
  else
    fail "$step. vigilctl recover $node failed (exit $?)"
  fi
  tr '\r' '\n' <"$out" | tail -n "$lines" | sed 's/^/  /'
}

# ---- 1. standbys built by online recovery ------------------------------------------
# recovery.automatic is off, so as in the seed (pcp_recovery_node 1, then 2) the user
# asks for each standby: vigilctl recover builds it from the primary and waits until
# it streams.
say "1. server1 primary, server2/server3 empty: vigilctl recover server2, server3"
check "1. the controller sees server1 as the primary" wait_until 30 eval '[[ $(cluster_primary) == server1 ]]'
for s in server2 server3; do recover_node 1 "$s" "$E2E_OUT/recover-$s.out" 3; done
if wait_until 30 three_up_one_primary server1; then
  pass "1. show pool_nodes via the VIP: three nodes up, server1 primary"
else
  fail "1. show pool_nodes via the VIP is not three up / server1 primary:"; pool_nodes | sed 's/^/  /'
fi
vip_psql -c "show pool_nodes" | sed 's/^/  /'
for s in server2 server3; do
  check "1. $s streams from server1 (in recovery, in server1's pg_stat_replication)" wait_until 30 streams_from "$s" server1
  ops=$(status_json | python3 -c 'import json,sys
d=json.load(sys.stdin); print(" ".join(o["type"]+":"+o["state"] for o in d["operations"] if o["node"]==sys.argv[1]))' "$s")
  [[ $ops == *rebuild:succeeded* ]] && pass "1. $s was built by a rebuild operation ($ops)" \
    || fail "1. no succeeded rebuild operation for $s in vigilctl status ($ops)"
done
vctl status | sed 's/^/  /'

start_checker
start_writer
say "writer and checker running ($(acked_count) writes acknowledged)"

# ---- 2. watchdog: leader's sidecar stopped and restarted ---------------------------
leader=$(watchdog_leader)
holder=$(vip_holders)
say "2. watchdog leader $leader, VIP on $holder"
[[ -n $leader && $holder == "$leader" ]] && pass "2. the watchdog leader $leader holds the VIP" \
  || fail "2. leader '$leader' but VIP holders '$holder'"
t=$(now_ms)
"$CLUSTERSH" stop-sidecar "$leader" >/dev/null
if wait_until 20 vip_moved_from "$leader"; then
  pass "2. VIP moved from $leader to $(vip_holders) in $(( $(now_ms) - t )) ms"
else
  fail "2. VIP did not move from $leader (holders: '$(vip_holders)')"
fi
new_leader=$(vip_holders)
wd_out=$(vctl watchdog --sidecar "http://$VIP:9898" 2>&1)
echo "$wd_out" | sed 's/^/  /'
if echo "$wd_out" | grep -Eq "^$leader +[0-9.:]+ +SHUTDOWN"; then
  pass "2. vigilctl watchdog shows $leader SHUTDOWN"
else
  fail "2. vigilctl watchdog does not show $leader SHUTDOWN"
fi
check "2. writes through the VIP resume after the leader's sidecar stopped" writes_resume 20
report_outage "2. leader's sidecar stop" "$t"
"$CLUSTERSH" start-sidecar "$leader" >/dev/null
if wait_until 30 eval '[[ $(watchdog_state "$leader") == STANDBY ]]'; then
  pass "2. restarted $leader joins as STANDBY"
else
  fail "2. restarted $leader is '$(watchdog_state "$leader")', not STANDBY"
fi
vctl watchdog --sidecar "http://$VIP:9898" 2>&1 | sed 's/^/  /'
check "2. the leader is still $new_leader and holds the VIP" eval '[[ $(watchdog_leader) == "$new_leader" && $(vip_holders) == "$new_leader" ]]'
check "2. show pool_nodes: still three nodes up, server1 primary" wait_until 20 three_up_one_primary server1

# ---- 3. automatic failover after the primary's crash -------------------------------
old=$(cluster_primary)
say "3. pg_ctl -m immediate stop on the primary $old"
t=$(now_ms)
pg_ctl_on "$old" -m immediate -s stop
new=""
find_new() {  # a writable node other than the old primary, asked directly
  local s
  for s in "${SERVERS[@]}"; do [[ $s != "$old" ]] && is_writable "$s" && { new=$s; return 0; }; done
  return 1
}
if wait_until 60 find_new; then
  pass "3. $new is writable (promoted) $(( $(now_ms) - t )) ms after the crash"
else
  fail "3. no standby promoted 60 s after the crash"
  e2e_finish yes
fi
check "3. vigilctl status names $new the primary" wait_until 20 eval '[[ $(cluster_primary) == "$new" ]]'
check "3. writes through the VIP resume" writes_resume 30
report_outage "3. primary crash" "$t"
other=""
for s in "${SERVERS[@]}"; do [[ $s != "$old" && $s != "$new" ]] && other=$s; done
check "3. the other standby $other streams from $new (in recovery; $new's pg_stat_replication)" \
  wait_until 60 streams_from "$other" "$new"
want=("${ADDR[$new]} up primary" "${ADDR[$other]} up standby")
# One snapshot must show all three: the other standby is marked up again only once
# the health checks have seen it streaming after its follow (a follow restarts its
# WAL receiver), so the proxies can lag the streams_from check above by a look.
after_failover() {
  local p; p=$(pool_nodes)
  grep -q "^${ADDR[$old]} down " <<<"$p" && grep -q "^${ADDR[$new]} up primary" <<<"$p" &&
    grep -q "^${ADDR[$other]} up standby" <<<"$p"
}
if wait_until 30 after_failover; then
  pass "3. show pool_nodes: $old down, $new up primary, $other up standby"
else
  fail "3. show pool_nodes after failover is not as expected"
fi
vip_psql -c "show pool_nodes" | sed 's/^/  /'
sleep 3
check "3. recovery.automatic: false, so $old stays down until asked" eval '! pg_ctl_on "$old" status >/dev/null 2>&1'

# ---- 4. online recovery of the old primary -----------------------------------------
say "4. vigilctl recover $old"
recover_node 4 "$old" "$E2E_OUT/recover.out" 5
check "4. $old is a standby streaming from $new" wait_until 60 streams_from "$old" "$new"
check "4. show pool_nodes via the VIP: three nodes up, $new primary" wait_until 30 three_up_one_primary "$new"
vip_psql -c "show pool_nodes" | sed 's/^/  /'
vctl status | sed 's/^/  /'

e2e_finish yes
