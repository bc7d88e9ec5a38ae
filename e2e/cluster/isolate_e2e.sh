#!/usr/bin/env bash
# e2e/cluster/isolate_e2e.sh — an isolated primary fences itself, and in sync mode the
# partition loses no acknowledged write (issue 14 items 10 and 13):
#   0. lab with server1 only + pgvigil with the lab spec (replication.mode: sync, ANY 1):
#      the controller builds server2 and server3;
#   1. the writer (numbered rows through the VIP), a second writer connected straight
#      to the primary's PostgreSQL (as applications on VMs often are) and the
#      two-primaries / two-VIP checker run; a probe inside the primary's namespace asks
#      its PostgreSQL (127.0.0.1:5432) every 20 ms whether it answers;
#   2. the primary's host is cut off from the other two servers only (blackhole routes
#      both ways; the client still reaches it): its PostgreSQL must stop answering
#      within watchdog.deadTime (+ a margin for the probe), as measured from inside its
#      namespace; its sidecar's /v1/status says selfFence.fenced with the reason; a
#      standby is promoted and writes through the VIP resume;
#   3. the cut heals: the old primary is never writable again as a primary and is
#      rebuilt as a standby of the new primary;
#   4. every row either writer had acknowledged is on the new primary: zero loss in
#      sync mode. With PGVIGIL_E2E_REPLICATION=async the loss is measured and reported
#      instead: the direct writer's rows acknowledged by the isolated primary between
#      the cut and its fence (the async window).
# Own lab: PGVIGIL_LAB_NS=pgsf, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pgsf by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init isolate pgsf
MODE=${PGVIGIL_E2E_REPLICATION:-sync}
DEAD_MS=1500      # the lab spec's watchdog.deadTime
MARGIN_MS=400     # probe period, psql start-up and scheduling on a loaded machine
if [[ $MODE == async ]]; then spec_async >"$E2E_OUT/spec.yaml"; else cp "$ROOT/manifests/examples/lab.yaml" "$E2E_OUT/spec.yaml"; fi
say "replication mode: $MODE"
e2e_lab_up "$E2E_OUT/spec.yaml"

check "0. three nodes up, server1 primary" wait_until 90 three_up_one_primary server1
for s in server2 server3; do check "0. $s streams from server1" wait_until 30 streams_from "$s" server1; done
if [[ $MODE == sync ]]; then
  check "0. server1 lists a synchronous standby" wait_until 30 eval \
    '[[ -n $(node_psql server1 -c "select 1 from pg_stat_replication where sync_state in ('"'sync'"','"'quorum'"') limit 1") ]]'
fi

start_checker
start_writer
old=$(cluster_primary)
"$LABSH" exec client "$BIN/pgvigil-e2e-writer" --table e2e_direct --acks "$E2E_OUT/direct.acks" \
  --conninfo "host=${ADDR[$old]} port=5432 user=postgres dbname=postgres application_name=e2e-direct" \
  --interval-ms 10 --op-timeout-ms 3000 >"$E2E_OUT/direct.out" 2>"$E2E_OUT/direct.err" &
DIRECT_PID=$!
E2E_BG_PIDS+=($DIRECT_PID)
others=()
for s in "${SERVERS[@]}"; do [[ $s != "$old" ]] && others+=("$s"); done
# add|del: blackhole routes between $old and the other servers, both ways. $old's
# side goes first, in one command: from then on it reaches no peer, so the cut's
# time is taken just before that command (CUT_T0) and just after it (CUT_T1).
# Adding the six routes one command at a time took about 0.5 s on a loaded
# machine, which the fence deadline below then counted against the sidecar.
cut_peers() {
  local s batch=""
  for s in "${others[@]}"; do batch+="route $1 blackhole ${ADDR[$s]}/32"$'\n'; done
  CUT_T0=$(now_ms)
  inns "$old" ip -batch - <<<"$batch"
  CUT_T1=$(now_ms)
  for s in "${others[@]}"; do inns "$s" ip route "$1" blackhole "${ADDR[$old]}/32"; done
}
# The probe: one line per look, "START_MS END_MS ok|down" (a look that gets no answer
# within 300 ms counts as down: a stopped server refuses at once).
"$LABSH" exec "$old" bash -c 'while :; do t=$(date +%s%3N)
  if PGCONNECT_TIMEOUT=1 timeout 0.3 '"$PG_BIN"'/psql -h 127.0.0.1 -U postgres -d postgres -XAtqc "select 1" >/dev/null 2>&1
  then r=ok; else r=down; fi; echo "$t $(date +%s%3N) $r"; sleep 0.02; done' >"$E2E_OUT/probe" 2>/dev/null &
E2E_BG_PIDS+=($!)
sleep 2
grep -q ' ok$' "$E2E_OUT/probe" || fail "1. the probe inside $old never reached its PostgreSQL"

say "2. primary $old (watchdog leader $(watchdog_leader), VIP on $(vip_holders)): cutting it off from ${others[*]}"
cut_peers add
t=$CUT_T0
say "2. the cut: $old's routes took $((CUT_T1 - CUT_T0)) ms, the peers' $(( $(now_ms) - CUT_T1 )) ms more"
# When the probe first found it down (the end of that look: conservative).
fenced_at() { awk -v t="$t" '$1 > t && $3 == "down" { print $2; exit }' "$E2E_OUT/probe"; }
if wait_until 10 eval '[[ -n $(fenced_at) ]]'; then
  f=$(fenced_at)
  last_ok=$(awk -v t="$t" '$1 > t && $3 == "ok" { l = $2 } END { print l }' "$E2E_OUT/probe")
  say "2. $old's PostgreSQL answered last $(( ${last_ok:-$t} - t )) ms after the cut, not any more $((f - t)) ms after it"
  FENCE_MS=$((f - t))
  if ((FENCE_MS <= DEAD_MS + MARGIN_MS)); then
    pass "2. the isolated primary stopped answering $FENCE_MS ms after the cut (deadTime $DEAD_MS ms + $MARGIN_MS ms probe margin)"
  else
    fail "2. the isolated primary still answered until $FENCE_MS ms after the cut (deadTime $DEAD_MS ms)"
  fi
else
  fail "2. the isolated primary $old still answers 10 s after the cut"
fi
fence_status() {
  st=$(inns "$old" curl -s -m 2 http://127.0.0.1:9898/v1/status)
  [[ $(json_get selfFence.fenced <<<"$st") == true && $(json_get selfFence.lastFence.reason <<<"$st") == *"write lease"* ]]
}
check "2. $old's /v1/status (asked inside its namespace): selfFence.fenced with the reason" wait_until 10 fence_status
echo "  selfFence: $(json_get selfFence <<<"$st")"
grep 'SELF-FENCE' "$E2E_LAB/$old/sidecar.log" | head -n 2 | sed 's/^/  log: /'
# The sidecar's own account: fence begun / PostgreSQL gone, in ms after the cut.
log_ms() { local l; l=$(grep -m1 "$1" "$E2E_LAB/$old/sidecar.log" | cut -d' ' -f1-2); [[ -n $l ]] && echo $(( $(date -u -d "$l" +%s%3N) - t )); }
say "2. sidecar log: fence begun $(log_ms 'SELF-FENCE: stopping') ms, PostgreSQL gone $(log_ms 'SELF-FENCE: PostgreSQL stopped') ms after the cut"
check "2. a standby is promoted" wait_until 30 writable_other "$old"
check "2. writes through the VIP resume" writes_resume 30
report_outage "2. primary host cut off" "$t"

say "3. healing the cut"
cut_peers del
sleep 3
check "3. $old is not writable (fenced, then a standby)" eval '! is_writable "$old"'
if wait_until 120 streams_from "$old" "$NEW"; then
  pass "3. $old rebuilt as a standby of $NEW"
else
  fail "3. $old is not a standby of $NEW 120 s after the link came back"
fi
say "isolated primary fenced ${FENCE_MS:-n/a} ms after the cut; cut -> first write through the VIP: ${E2E_LAST_OUTAGE_MS:-n/a} ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$DIRECT_PID" 2>/dev/null; wait "$DIRECT_PID" 2>/dev/null
sed 's/^/  direct writer: /' "$E2E_OUT/direct.out" | tail -n 3
inns client "$BIN/pgvigil-e2e-writer" --verify --table e2e_direct --acks "$E2E_OUT/direct.acks" \
  --conninfo "host=${ADDR[$NEW]} port=5432 user=postgres dbname=postgres" >"$E2E_OUT/direct-verify.out" 2>&1
drc=$?
sed 's/^/  direct: /' "$E2E_OUT/direct-verify.out"
lost=$(grep -o 'lost [0-9]*' "$E2E_OUT/direct-verify.out" | head -1 | awk '{print $2}')
# Rows the isolated primary acknowledged after the cut: the async window.
after=$(awk -v t="$t" '$3 > t' "$E2E_OUT/direct.acks" | wc -l)
span=$(awk -v t="$t" '$3 > t { l = $3 } END { print (l == "" ? 0 : l - t) }' "$E2E_OUT/direct.acks")
say "direct writer: $after rows acknowledged by $old after the cut, the last $span ms after it; lost at failover: ${lost:-?}"
if [[ $MODE == sync ]]; then
  check "4. zero rows lost from the writer connected straight to the isolated primary" eval '[[ $drc == 0 ]]'
  e2e_finish no
else
  note "ASYNC WINDOW: ${lost:-?} acknowledged rows lost from the direct writer ($after acknowledged after the cut, over $span ms)"
  e2e_finish yes
fi
