#!/usr/bin/env bash
# bench/failover.sh [RUNS] — how long writes through the VIP stop when the primary
# fails, on the lab (three hosts in network namespaces, default settings of
# manifests/examples/lab.yaml), measured by a client:
#   crash:   `pg_ctl -m immediate stop` of the primary -> first write acknowledged
#            through 10.77.0.150:9999 afterwards;
#   cut-off: `ip link set eth0 down` on the primary's host (PostgreSQL, sidecar and
#            watchdog member all unreachable) -> first write acknowledged.
# RUNS (default 20) of each; between runs the old primary is rebuilt by the
# controller (recovery.automatic) and the cluster is healthy again. Prints every run,
# then p50 / p90 / max per kind. During the whole bench pgvigil-e2e-primary-checker
# samples every node and proxy (100 ms): any instant with two writable primaries
# routed by proxies, or two VIP holders, is reported as a violation (exit 1).
# Runs its own lab (PGVIGIL_LAB_NS=pgf, /tmp/pgvigil-lab-pgf). Root; ~15 s per run.
# PGVIGIL_BENCH_KINDS="crash" (or "cutoff") runs one kind only.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../e2e/cluster/lib.sh
source "$HERE/../e2e/cluster/lib.sh"
RUNS=${1:-20}
e2e_init failover-bench pgf

e2e_lab_up
wait_until 120 three_up_one_primary server1 || { fail "the cluster did not come up"; exit 1; }
node_psql server1 -c "select 1" >/dev/null
start_writer
start_checker

healthy() {
  local p; p=$(cluster_primary)
  [[ -n $p ]] && [[ $(status_field phase) == Healthy ]] && three_up_one_primary "$p"
}

declare -A RESULTS=([crash]="" [cutoff]="")
one_run() {  # KIND N
  local kind=$1 n=$2 p marks0 t0 ack delay
  wait_until 180 healthy || { fail "$kind run $n: cluster not healthy before the run"; return 1; }
  sleep 1  # let the writer settle on the current primary
  p=$(cluster_primary)
  marks0=$(wc -l <"$E2E_OUT/writer.marks" 2>/dev/null || echo 0)
  t0=$(now_ms)
  if [[ $kind == crash ]]; then
    pg_ctl_on "$p" -m immediate stop >/dev/null 2>&1
  else
    inns "$p" ip link set eth0 down
  fi
  # Marked after the failure took effect, so no write that was already on its way
  # counts; the delay is measured from t0 (before the failure was injected).
  writer_mark
  if ! wait_until 60 bash -c "(( \$(wc -l <'$E2E_OUT/writer.marks') > $marks0 ))"; then
    fail "$kind run $n: no write acknowledged within 60 s"
    [[ $kind == cutoff ]] && inns "$p" ip link set eth0 up
    return 1
  fi
  ack=$(tail -n1 "$E2E_OUT/writer.marks" | awk '{print $2}')
  delay=$((ack - t0))
  RESULTS[$kind]+="$delay "
  say "$kind run $n: primary $p -> first write acknowledged after $delay ms (new primary $(cluster_primary))"
  if [[ $kind == cutoff ]]; then
    sleep 2
    inns "$p" ip link set eth0 up
  fi
}

for kind in ${PGVIGIL_BENCH_KINDS:-crash cutoff}; do
  for n in $(seq "$RUNS"); do one_run "$kind" "$n"; done
done
wait_until 180 healthy || fail "cluster not healthy at the end"

stats() {  # values...
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {
    if (NR == 0) { print "no runs"; exit }
    p50 = v[int((NR + 1) / 2)]; p90 = v[int(NR * 0.9 + 0.999)]
    printf "runs %d  p50 %d ms  p90 %d ms  max %d ms  min %d ms\n", NR, p50, p90, v[NR], v[1] }'
}
echo
echo "== failover: primary failure -> first write acknowledged through the VIP"
# shellcheck disable=SC2086
[[ -n ${RESULTS[crash]} ]] && echo "crash   (pg_ctl -m immediate): $(stats ${RESULTS[crash]})"
# shellcheck disable=SC2086
[[ -n ${RESULTS[cutoff]} ]] && echo "cut-off (link down):           $(stats ${RESULTS[cutoff]})"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
e2e_finish yes
