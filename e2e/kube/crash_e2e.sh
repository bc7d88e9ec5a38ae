#!/usr/bin/env bash
# e2e/kube/crash_e2e.sh — kube-lab scenario 2 (KUBERNETES.md §9): primary crash. After
# the bootstrap of bootstrap_e2e.sh, with one writer through NAME-rw (5432) and one
# through NAME (the pool Service, 9999) and the primary checker running, the primary
# pod's container crashes: SIGKILL to all its processes at once (sidecar, PostgreSQL;
# pods.py kill-container), as under a container runtime; the kubelet stand-in starts
# it again. Passes when another pod becomes primary, both writers' first
# acknowledged write after the crash is measured
# (reported with the load average; the goal, p50 <= 2 s, is judged in bench/, not
# here), the old primary comes back as a standby, and no acknowledged write is lost
# and never two writable primaries. Then PostgreSQL alone crashes (SIGKILL to the
# postmaster, the sidecar lives), on a standby and on the primary: started again,
# failed over and rewound as on VMs. Own lab: PGVIGIL_LAB_NS=kcr,
# PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kcr by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_crash kcr
kube_lab_up
kube_bootstrap_cluster

old=$(writable_host)
must "7. one writable primary ($old)" eval '[[ -n $old && $old != *" "* ]]'
pod=$KUBE_CR-$(( ${old#server} - 1 ))

say "second writer through $KUBE_CR (port 9999)"
: >"$E2E_OUT/pool.acks"
"$LABSH" exec client env PGPASSFILE="$PGPASSFILE" "$BIN/pgvigil-e2e-writer" \
  --conninfo "host=$KUBE_CR.$KUBE_NS.svc port=9999 user=postgres dbname=postgres" --table e2e_pool_writes \
  --acks "$E2E_OUT/pool.acks" --marks "$E2E_OUT/pool.marks" --interval-ms 10 \
  >"$E2E_OUT/pool-writer.out" 2>"$E2E_OUT/pool-writer.err" &
POOL_WRITER=$!
await_exec "$POOL_WRITER" pgvigil-e2e-writer || fail "pool writer did not start"
check "8. writes acknowledged through $KUBE_CR" wait_until 20 test -s "$E2E_OUT/pool.acks"

sidecar_pid=$(head -n1 "$E2E_LAB/pids/kube-pod-$pod.pid")
CRASH_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
say "9. crash of $pod on $old: SIGKILL to every process of its container (sidecar $sidecar_pid, PostgreSQL); load $CRASH_LOAD"
writer_mark
kill -USR1 "$POOL_WRITER"
killed=$(python3 -B "$KUBE_HERE/pods.py" kill-container "$sidecar_pid")
echo "  $killed"
KILL_MS=$(sed -n 's/.* at \([0-9]*\): .*/\1/p' <<<"$killed")
[[ -n $KILL_MS ]] || { fail "9. pods.py kill-container did not kill the container"; exit 1; }
new=""
check "10. another pod is primary" wait_until 60 eval 'new=$(writable_host); [[ -n $new && $new != "$old" && $new != *" "* ]]'
check "11. writes resume through $KUBE_CR-rw" writes_resume 30
check "12. writes resume through $KUBE_CR" wait_until 30 test -s "$E2E_OUT/pool.marks"
# From the SIGKILLs to the first write SENT after them (acks: ID SENT_MS ACK_MS): only
# the new primary can acknowledge it. (The writers' marks, set before pods.py
# starts, can take a slow write under load for the outage.)
first_after_kill() { awk -v k="$KILL_MS" '$2 >= k { print $3 - k; exit }' "$1"; }
RW_MS=$(first_after_kill "$E2E_OUT/acks")
POOL_MS=$(first_after_kill "$E2E_OUT/pool.acks")
[[ -n $RW_MS && -n $POOL_MS ]] || fail "12b. no write sent after the SIGKILL was acknowledged (rw '${RW_MS}', pool '${POOL_MS}')"
say "first write after the crash: via $KUBE_CR-rw $RW_MS ms, via $KUBE_CR $POOL_MS ms from the SIGKILL (load at the crash $CRASH_LOAD; one run, not a p50)"
echo "crash-result: rw_ms=$RW_MS pool_ms=$POOL_MS load=${CRASH_LOAD%% *}"
# The restarted pod was Ready before the crash and its probe runs every 2 s, so
# Ready alone proves nothing yet: first the old primary streams from the new one.
check "13. $old rejoined as a standby streaming from $new" wait_until 120 kube_streams_from "$old" "$new"
check "14. the old primary's pod is Ready again" wait_until 30 pods_ready 3

# PostgreSQL crashing alone (its sidecar lives): as on VMs, the controller starts
# a standby again and fails a primary over, then rewinds it (KUBE_CRASH_PG_ALONE=no
# skips this; bench/kube_failover.sh measures the pod crash only).
pm_of() { head -n1 "$E2E_LAB/kube/pvc/pgdata-$KUBE_CR-$(( ${1#server} - 1 ))/pgdata/postmaster.pid" 2>/dev/null; }
restarted() { local pm; pm=$(pm_of "$1"); [[ -n $pm && $pm != "$2" ]] && kube_streams_from "$1" "$3"; }
if [[ ${KUBE_CRASH_PG_ALONE:-yes} == yes ]]; then
  for s in "${SERVERS[@]}"; do [[ $s != "$new" ]] && { standby=$s; break; }; done
  pm=$(pm_of "$standby")
  say "16. PostgreSQL alone crashes on the standby $standby: SIGKILL to its postmaster ($pm)"
  kill -KILL "$pm"
  check "17. $standby's PostgreSQL is started again and streams from $new" wait_until 60 restarted "$standby" "$pm" "$new"
  pm=$(pm_of "$new")
  say "18. PostgreSQL alone crashes on the primary $new: SIGKILL to its postmaster ($pm); load $(cut -d' ' -f1-3 /proc/loadavg)"
  writer_mark
  kill -KILL "$pm"
  KILL_MS=$(now_ms)
  prev=$new; new=""
  check "19. another pod is primary" wait_until 60 eval 'new=$(writable_host); [[ -n $new && $new != "$prev" && $new != *" "* ]]'
  check "20. writes resume through $KUBE_CR-rw" writes_resume 30
  # The killed postmaster's backends live on for a moment and may still commit: the
  # first ack after the longest gap since the SIGKILL (outage_since), not the first
  # write sent after it.
  read -r _ _ first_ack < <(outage_since "$KILL_MS")
  say "first write after PostgreSQL's crash: via $KUBE_CR-rw $([[ $first_ack =~ ^[0-9]+$ ]] && echo $((first_ack - KILL_MS)) || echo n/a) ms from the SIGKILL (one run)"
  check "21. $prev rejoined as a standby streaming from $new" wait_until 120 kube_streams_from "$prev" "$new"
fi

kill -TERM "$POOL_WRITER"; wait "$POOL_WRITER"
sed 's/^/  pool writer: /' "$E2E_OUT/pool-writer.out"
inns client env PGPASSFILE="$PGPASSFILE" "$BIN/pgvigil-e2e-writer" --verify --acks "$E2E_OUT/pool.acks" \
  --table e2e_pool_writes --conninfo "host=${ADDR[$new]} port=5432 user=postgres dbname=postgres" \
  >"$E2E_OUT/pool-verify.out" 2>&1
check "15. every write acknowledged through $KUBE_CR is on the new primary" test $? = 0
kube_finish
