#!/usr/bin/env bash
# bench/kube_failover.sh [RUNS] — issue 11's goal on the kube-lab (stand-ins, not
# Kubernetes: e2e/kube/README.md): primary pod crash -> first write acknowledged,
# p50 <= 2 s, for a writer going where NAME-rw sends it and one through the pool
# Service NAME. Runs e2e/kube/crash_e2e.sh RUNS times (default 5; the pod crash
# only, KUBE_CRASH_PG_ALONE=no), each in a fresh lab: bootstrap of the example
# cluster, writers through both Services, SIGKILL to every process of the
# primary's pod. Each run also passes or fails the scenario's checks (rejoin, no
# acknowledged write lost, never two writable primaries). Prints every run's
# delays from the SIGKILLs to the acknowledgement of the first write sent after
# them, and the 1-minute load average at the crash, then p50 / max of each. Root; about 30 s per run.
# Own lab: PGVIGIL_LAB_NS=kfb, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kfb unless set.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${1:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
export PGVIGIL_LAB_NS=${PGVIGIL_LAB_NS:-kfb} PGVIGIL_LAB_DIR=${PGVIGIL_LAB_DIR:-/tmp/pgvigil-lab-kfb}
export KUBE_CRASH_PG_ALONE=no

RW=() POOL=() LOADS=() FAILED=0
for n in $(seq "$RUNS"); do
  log=$(mktemp /tmp/pgvigil-kube-failover.XXXXXX)
  "$HERE/../e2e/kube/crash_e2e.sh" >"$log" 2>&1
  rc=$?
  [[ $rc == 77 ]] && { cat "$log"; rm -f "$log"; exit 77; }
  line=$(grep '^crash-result:' "$log" | tail -n1)
  verdict=$(grep '^== kube_crash:' "$log" | tail -n1 | sed 's/^== kube_crash: //; s/ (outputs.*//')
  if [[ -z $line ]]; then
    echo "run $n: no measurement (exit $rc): ${verdict:-see $log}"
    FAILED=$((FAILED + 1))
    continue
  fi
  rw=$(sed -n 's/.*rw_ms=\([0-9-]*\).*/\1/p' <<<"$line")
  pool=$(sed -n 's/.*pool_ms=\([0-9-]*\).*/\1/p' <<<"$line")
  load=$(sed -n 's/.*load=\([0-9.]*\).*/\1/p' <<<"$line")
  RW+=("$rw") POOL+=("$pool") LOADS+=("$load")
  echo "run $n: first write via NAME-rw $rw ms, via NAME $pool ms; load at the crash $load; scenario exit $rc: $verdict"
  if [[ $rc == 0 ]]; then rm -f "$log"; else FAILED=$((FAILED + 1)); echo "  (log kept: $log)"; fi
done

stats() {  # values...
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {
    if (NR == 0) { print "no runs"; exit }
    printf "runs %d  p50 %d ms  max %d ms  min %d ms\n", NR, v[int((NR + 1) / 2)], v[NR], v[1] }'
}
echo
echo "== kube-lab: primary pod crash -> first write acknowledged (from the SIGKILL)"
echo "via NAME-rw: $(stats "${RW[@]}")"
echo "via NAME:    $(stats "${POOL[@]}")"
echo "load average (1 min) at the crashes: ${LOADS[*]:-none}"
echo "goal (issue 11): p50 <= 2000 ms; scenario runs failed: $FAILED of $RUNS"
((FAILED == 0))
