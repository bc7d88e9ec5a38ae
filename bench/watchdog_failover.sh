#!/usr/bin/env bash
# bench/watchdog_failover.sh — how fast the VIP moves when the watchdog leader dies,
# in the lab (hack/lab.sh, needs root): three pgvigil-sidecar processes with the
# spec's default timings (heartbeat 500ms, dead time 1500ms).
#
#   bench/watchdog_failover.sh [-n RUNS] [-b SIDECAR_BIN] [--soak SECONDS]
#
# For each of SIGKILL and SIGTERM (clean stop), RUNS times: wait for a settled
# leader answering on the VIP, signal its sidecar, then poll from pgv-client every
# ~20 ms until GET http://VIP:9898/v1/watchdog answers from another node that leads
# with quorum; print p50 and
# max (the logs of runs over 4 s are kept under /tmp/watchdog-bench-outliers). The
# stopped sidecar is then restarted (it removes a VIP left behind by a
# SIGKILL and joins as a standby).
# --soak S: afterwards, S seconds with 20% loss and 0-200 ms delay (tc netem) on every
# server link; prints the leader changes seen (goal: none).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$HERE/..
LABSH=$ROOT/hack/lab.sh
SIDECAR=$ROOT/build/bin/pgvigil-sidecar
RUNS=20
SOAK=0
while (($#)); do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -b) SIDECAR=$2; shift 2 ;;
    --soak) SOAK=$2; shift 2 ;;
    *) echo "usage: $0 [-n RUNS] [-b SIDECAR_BIN] [--soak SECONDS]"; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "needs root"; exit 2; }
[[ -x $SIDECAR ]] || { echo "no sidecar binary at $SIDECAR (build first, or -b)"; exit 2; }

VIP=10.77.0.150
SERVERS=(server1 server2 server3)
LAB=$(mktemp -d /tmp/pgvigil-wd-bench.XXXXXX); chmod 0755 "$LAB"
export PGVIGIL_LAB_DIR=$LAB
MADE_DIRS=()
declare -A PID
cleanup() {
  for s in "${SERVERS[@]}"; do ip netns exec "pgv-$s" tc qdisc del dev eth0 root 2>/dev/null; done
  "$LABSH" down >/dev/null 2>&1
  for s in "${SERVERS[@]}"; do rm -f "/var/lib/pgvigil/$s/watchdog.json"; done
  for d in "${MADE_DIRS[@]}"; do rmdir "$d" 2>/dev/null; done
  rmdir "$LAB" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "lab up ($LAB)"
"$LABSH" up >/dev/null || { echo "lab.sh up failed"; exit 1; }
SPEC=$LAB/watchdog-bench.yaml
sed "s#/tmp/pgvigil-lab#$LAB#g" "$ROOT/manifests/examples/lab.yaml" >"$SPEC"
EXTRA=(--state-dir STATE --no-proxy)
probe=$("$SIDECAR" -f "$SPEC" --node probe --state-dir "$LAB/probe" --no-proxy 2>&1)
if [[ $probe == *"unknown option"* ]]; then
  EXTRA=()
  for s in "${SERVERS[@]}"; do [[ -d /var/lib/pgvigil/$s ]] || MADE_DIRS+=("/var/lib/pgvigil/$s"); done
  [[ -d /var/lib/pgvigil ]] || MADE_DIRS+=(/var/lib/pgvigil)
fi
start_sidecar() {
  local s=$1 args=("${EXTRA[@]}")
  ((${#args[@]})) && args[1]=$LAB/$s/state
  ip netns exec "pgv-$s" "$SIDECAR" -f "$SPEC" --node "$s" "${args[@]}" >>"$LAB/$s/sidecar.log" 2>&1 &
  PID[$s]=$!
  echo "${PID[$s]}" >"$LAB/pids/sidecar-$s.pid"
}
vip_node() {
  ip netns exec pgv-client curl -s -m 0.3 "http://$VIP:9898/v1/status" 2>/dev/null |
    python3 -c 'import json,sys
try: print(json.load(sys.stdin)["node"])
except Exception: print("")'
}
state_of() {
  ip netns exec pgv-client curl -s -m 1 "http://10.77.0.1${1#server}:9898/v1/status" 2>/dev/null |
    python3 -c 'import json,sys
try: print(json.load(sys.stdin)["components"]["watchdog"]["state"])
except Exception: print("")'
}
settled() {  # a leader answers on the VIP and the other two are STANDBY
  local l s n=0
  l=$(vip_node); [[ -n $l ]] || return 1
  for s in "${SERVERS[@]}"; do [[ $s == "$l" ]] && continue; [[ $(state_of "$s") == STANDBY ]] && n=$((n + 1)); done
  ((n == 2)) && echo "$l"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
percentiles() {  # label, values...
  local label=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v l="$label" '{v[NR]=$1} END {
    p50 = v[int((NR + 1) / 2)]; printf "%-28s runs %d  p50 %5d ms  max %5d ms  min %5d ms\n", l, NR, p50, v[NR], v[1] }'
}

for s in "${SERVERS[@]}"; do start_sidecar "$s"; done
for mode in KILL TERM; do
  times=()
  for ((i = 1; i <= RUNS; i++)); do
    L=""
    for _ in $(seq 300); do L=$(settled) && break; sleep 0.1; done
    [[ -n $L ]] || { echo "no settled leader; see $LAB/*/sidecar.log"; exit 1; }
    sleep 1
    t0=$(now_ms)
    kill -"$mode" "${PID[$L]}"
    # Any HTTP answer through the VIP now comes from another sidecar: the stopped one
    # is gone (after SIGKILL its host still has the address, but nothing listens).
    # A leader with quorum answering through the VIP; a late answer from the stopped
    # leader itself (before it resigned) is discarded.
    while :; do
      body=$(ip netns exec pgv-client curl -s -m 0.3 "http://$VIP:9898/v1/watchdog" 2>/dev/null)
      if [[ $body == *'"leaderWithQuorum":true'* ]]; then
        t=$(( $(now_ms) - t0 ))
        n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["node"])' "$body" 2>/dev/null)
        [[ -n $n && $n != "$L" ]] && break
      fi
      (( $(now_ms) - t0 > 20000 )) && { echo "run $i: no answer after 20 s"; t=20000; n=timeout; break; }
      sleep 0.02
    done
    times+=("$t")
    echo "SIG$mode run $i: $L -> $n in $t ms"
    if ((t > 4000)); then  # keep the evidence of an outlier
      mkdir -p "/tmp/watchdog-bench-outliers/SIG$mode-$i"
      for s in "${SERVERS[@]}"; do cp "$LAB/$s/sidecar.log" "/tmp/watchdog-bench-outliers/SIG$mode-$i/$s.log"; done
    fi
    wait "${PID[$L]}" 2>/dev/null
    start_sidecar "$L"
  done
  RESULTS+=("$(percentiles "SIG$mode leader -> VIP answers" "${times[@]}")")
done
echo
printf '%s\n' "${RESULTS[@]}"

if ((SOAK > 0)); then
  for _ in $(seq 300); do L=$(settled) && break; sleep 0.1; done
  term0=$(ip netns exec pgv-client curl -s -m 1 "http://$VIP:9898/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["components"]["watchdog"]["term"])')
  for s in "${SERVERS[@]}"; do
    ip netns exec "pgv-$s" tc qdisc add dev eth0 root netem loss 20% delay 100ms 100ms ||
      { echo "tc netem unavailable (sch_netem module?)"; exit 1; }
  done
  echo "soak: ${SOAK}s with 20% loss, 0-200 ms delay on every server link; leader $L, term $term0"
  changes=0; prev=$L; end=$((SECONDS + SOAK))
  while ((SECONDS < end)); do
    n=$(vip_node)
    if [[ -n $n && $n != "$prev" ]]; then changes=$((changes + 1)); echo "  leader $prev -> $n at $((SOAK - end + SECONDS))s"; prev=$n; fi
    sleep 1
  done
  for s in "${SERVERS[@]}"; do ip netns exec "pgv-$s" tc qdisc del dev eth0 root 2>/dev/null; done
  term1=$(ip netns exec pgv-client curl -s -m 1 "http://$VIP:9898/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["components"]["watchdog"]["term"])' 2>/dev/null)
  echo "soak: leader changes seen on the VIP: $changes; term $term0 -> ${term1:-?}"
fi
