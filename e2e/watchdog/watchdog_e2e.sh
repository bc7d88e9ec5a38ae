#!/usr/bin/env bash
# e2e/watchdog/watchdog_e2e.sh SIDECAR_BIN — the watchdog in the lab (hack/lab.sh):
# three pgvigil-sidecar processes, one per server namespace, holding VIP 10.77.0.150.
#   1. exactly one LEADER, it holds the VIP (ip addr in every namespace), all agree,
#      and the VIP answers from pgv-client with that sidecar (REST, and psql to the
#      proxy on port 9999);
#   2. SIGTERM the leader: a new LEADER holds the VIP, the stopped one shows SHUTDOWN;
#   3. start it again: it joins as STANDBY and the leader does not change;
#   3b. SIGKILL the leader: its VIP guard removes the address, another leader takes it;
#   4. link down on the leader: it drops the VIP by itself, the other two elect a
#      leader that takes the VIP; link up: one leader, everyone follows it.
# Throughout, a sampler reads every namespace's addresses every 50 ms and the test
# fails on any sample with two VIP holders. Needs root; exits 77 (skip) without it.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$HERE/../..
LABSH=$ROOT/hack/lab.sh
SIDECAR=${1:-$ROOT/build/bin/pgvigil-sidecar}
PG_BIN=${PGVIGIL_PG_BIN:-/usr/lib/postgresql/15/bin}
VIP=10.77.0.150
NS=${PGVIGIL_LAB_NS:-pgv}  # the lab's namespace prefix (hack/lab.sh)
SERVERS=(server1 server2 server3)
declare -A ADDR=([server1]=10.77.0.11 [server2]=10.77.0.12 [server3]=10.77.0.13)

FAILS=0
PASSES=0
pass() { echo "PASS: $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
say() { echo "== $(date +%T.%3N) $*"; }

if [[ $EUID -ne 0 ]]; then echo "SKIP: needs root (network namespaces)"; exit 77; fi
if [[ ! -x $PG_BIN/initdb ]] || ! getent passwd postgres >/dev/null; then
  echo "SKIP: PostgreSQL binaries ($PG_BIN) or OS user postgres missing"; exit 77
fi
[[ -x $SIDECAR ]] || { echo "FAIL: no sidecar binary at $SIDECAR"; exit 1; }
for tool in curl python3; do command -v $tool >/dev/null || { echo "SKIP: $tool missing"; exit 77; }; done

LAB=$(mktemp -d /tmp/pgvigil-wd-e2e.XXXXXX) || exit 1
chmod 0755 "$LAB"
export PGVIGIL_LAB_DIR=$LAB
export PGVIGIL_LAB_NS=$NS
SAMPLER_PID=""
EXTRA=(x)
MADE_DIRS=()
cleanup() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
  if [[ $FAILS -gt 0 ]]; then
    for s in "${SERVERS[@]}"; do echo "--- $s sidecar log (tail)"; tail -n 25 "$LAB/$s/sidecar.log" 2>/dev/null; done
  fi
  "$LABSH" down >/dev/null 2>&1 || echo "WARN: lab.sh down failed"
  if [[ ${#EXTRA[@]} -eq 0 ]]; then
    for s in "${SERVERS[@]}"; do rm -f "/var/lib/pgvigil/$s/watchdog.json"; done
    for d in "${MADE_DIRS[@]}"; do rmdir "$d" 2>/dev/null; done
  fi
  [[ -d $LAB ]] && rmdir "$LAB" 2>/dev/null
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "lab.sh up"
"$LABSH" up >"$LAB.up.log" 2>&1 || { cat "$LAB.up.log"; echo "FAIL: lab.sh up"; rm -f "$LAB.up.log"; exit 1; }
rm -f "$LAB.up.log"

SPEC=$LAB/watchdog-e2e.yaml
sed "s#/tmp/pgvigil-lab#$LAB#g" "$ROOT/manifests/examples/lab.yaml" >"$SPEC"

# Older sidecar mains reject --state-dir (options read after the unknown-option
# check); then the default state dir /var/lib/pgvigil/NODE is used and emptied afterwards.
EXTRA=(--state-dir STATE)
probe=$("$SIDECAR" -f "$SPEC" --node probe --state-dir "$LAB/probe" 2>&1)
if [[ $probe == *"unknown option"* ]]; then
  echo "NOTE: $SIDECAR rejects --state-dir; using /var/lib/pgvigil/NODE"
  EXTRA=()
  for s in "${SERVERS[@]}"; do
    [[ -d /var/lib/pgvigil/$s ]] || MADE_DIRS+=("/var/lib/pgvigil/$s")
    rm -f "/var/lib/pgvigil/$s/watchdog.json"
  done
  [[ -d /var/lib/pgvigil ]] || MADE_DIRS+=(/var/lib/pgvigil)
fi
declare -A PID
start_sidecar() {
  local s=$1 args=("${EXTRA[@]}")
  mkdir -p "$LAB/$s/watchdog-state"
  ((${#args[@]})) && args[1]=$LAB/$s/watchdog-state
  ip netns exec "$NS-$s" "$SIDECAR" -f "$SPEC" --node "$s" "${args[@]}" >>"$LAB/$s/sidecar.log" 2>&1 &
  PID[$s]=$!
  echo "${PID[$s]}" >"$LAB/pids/sidecar-$s.pid"
}
stop_sidecar() {  # SIGTERM and wait (10 s) for the process to exit
  local s=$1 pid=${PID[$1]}
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }; sleep 0.1; done
  return 1
}

# VIP holders now, space separated, from the namespaces' addresses.
holders() {
  local s out=""
  for s in "${SERVERS[@]}"; do
    ip -n "$NS-$s" -4 -o addr show 2>/dev/null | grep -q " $VIP/" && out+="$s "
  done
  echo "${out% }"
}
sampler() {
  local h
  while :; do
    h=$(holders)
    [[ $h == *" "* ]] && echo "$(date +%T.%3N) two VIP holders: $h" >>"$LAB/violations"
    sleep 0.05
  done
}

# status JSON of server $1's sidecar, fetched from the client namespace ($2: address).
status_of() {
  ip netns exec "$NS-client" curl -s -m 2 "http://${2:-${ADDR[$1]}}:9898/v1/status" 2>/dev/null
}
# field of server $1's watchdog summary: state | leader | term | members.NAME
wd() {
  status_of "$1" | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)["components"]["watchdog"]
    for k in sys.argv[1].split("."):
        v = v[k]
    print(v)
except Exception:
    print("")' "$2"
}
node_via_vip() { status_of x "$VIP" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["node"])
except Exception: print("")'; }

wait_until() {  # seconds, command...
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while ((SECONDS < end)); do "$@" && return 0; sleep 0.1; done
  "$@"
}
one_holder() { local h; h=$(holders); [[ -n $h && $h != *" "* ]]; }
holder_is_not() { local h; h=$(holders); [[ -n $h && $h != *" "* && $h != "$1" ]]; }
all_follow() {  # leader, members...
  local l=$1 s; shift
  for s; do [[ $(wd "$s" leader) == "$l" ]] || return 1; done
}

say "starting three sidecars"
for s in "${SERVERS[@]}"; do start_sidecar "$s"; done
sampler & SAMPLER_PID=$!

# 1. one leader holding the VIP
if wait_until 20 one_holder; then
  L=$(holders); pass "exactly one VIP holder: $L"
else fail "no single VIP holder after 20 s (holders: '$(holders)')"; exit 1; fi
[[ $(wd "$L" state) == LEADER ]] && pass "$L is LEADER" || fail "$L state is '$(wd "$L" state)'"
wait_until 5 all_follow "$L" "${SERVERS[@]}" && pass "all three sidecars name $L the leader" \
  || fail "sidecars disagree on the leader"
[[ $(node_via_vip) == "$L" ]] && pass "the VIP answers from pgv-client with $L's sidecar" \
  || fail "the VIP does not reach $L's sidecar (got '$(node_via_vip)')"

# psql to VIP:9999 from pgv-client lands on the leader's proxy: the query succeeds, or
# the proxy's refusal (the lab spec has no pool_hba entry for the client) is logged
# by the leader's sidecar.
psql_out=$(ip netns exec "$NS-client" runuser -u postgres -- env PGPASSFILE="$LAB/secrets/pgpass" \
  PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -h "$VIP" -p 9999 -U postgres -d postgres -XAtc "select 1" 2>&1)
if [[ $psql_out == 1 ]]; then pass "psql -h $VIP -p 9999 from pgv-client: select 1 through $L's proxy"
elif grep -q "proxy: .*from 10.77.0.100" "$LAB/$L/sidecar.log"; then
  pass "psql -h $VIP -p 9999 from pgv-client reached $L's proxy (${psql_out##*FATAL:  })"
else fail "psql -h $VIP -p 9999 did not reach $L's proxy: $psql_out"; fi

# 2. clean stop of the leader
say "SIGTERM to the leader $L"
t0=$(date +%s%N)
stop_sidecar "$L" && pass "$L's sidecar exited on SIGTERM" || fail "$L's sidecar did not exit"
[[ $(holders) != *"$L"* ]] && pass "$L no longer holds the VIP" || fail "$L still holds the VIP after exit"
if wait_until 5 holder_is_not "$L"; then
  L2=$(holders); ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  pass "new VIP holder $L2, ${ms} ms after the stop"
else fail "no new VIP holder within 5 s"; exit 1; fi
[[ $(wd "$L2" state) == LEADER ]] && pass "$L2 is LEADER" || fail "$L2 state '$(wd "$L2" state)'"
shown=$(wd "$L2" "members.$L")
[[ $shown == SHUTDOWN ]] && pass "$L2 shows $L as SHUTDOWN" || fail "$L2 shows $L as '$shown'"

# 3. restart: STANDBY, leader unchanged
say "restarting $L"
start_sidecar "$L"
standby() { [[ $(wd "$L" state) == STANDBY && $(wd "$L" leader) == "$L2" ]]; }
wait_until 10 standby && pass "$L rejoined as STANDBY following $L2" \
  || fail "$L state '$(wd "$L" state)', leader '$(wd "$L" leader)'"
sleep 3
[[ $(holders) == "$L2" && $(wd "$L2" state) == LEADER ]] && pass "leader unchanged ($L2) after the restart" \
  || fail "leader changed after the restart (holders '$(holders)')"

# 3b. SIGKILL the leader: its VIP guard drops the address at once, then a new leader
say "SIGKILL to the leader $L2"
kill -KILL "${PID[$L2]}"; wait "${PID[$L2]}" 2>/dev/null
gone() { ! ip -n "$NS-$L2" -4 -o addr show | grep -q " $VIP/"; }
wait_until 2 gone && pass "the VIP guard removed the VIP from $L2 after SIGKILL" \
  || fail "$L2 still has the VIP 2 s after SIGKILL"
if wait_until 10 holder_is_not "$L2"; then
  K=$(holders); pass "after SIGKILL, $K leads and holds the VIP"
else fail "no new leader after SIGKILL"; exit 1; fi
start_sidecar "$L2"
wait_until 10 all_follow "$K" "${SERVERS[@]}" && pass "$L2 restarted and follows $K" \
  || fail "$L2 does not follow $K after restart"
L2=$K

# 4. the leader's link goes down
say "link down on the leader $L2"
ip -n "$NS-$L2" link set eth0 down
t0=$(date +%s%N)
dropped() { ! ip -n "$NS-$L2" -4 -o addr show | grep -q " $VIP/"; }
if wait_until 5 dropped; then
  pass "$L2 dropped the VIP by itself after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
else fail "$L2 kept the VIP with its link down"; fi
if wait_until 10 holder_is_not "$L2"; then
  L3=$(holders); pass "the other two elected $L3, which holds the VIP"
else fail "no new leader with the VIP after the link went down"; fi
[[ $(node_via_vip) == "${L3:-none}" ]] && pass "the VIP reaches $L3's sidecar" \
  || fail "the VIP does not reach ${L3:-anyone}"
say "link up on $L2"
ip -n "$NS-$L2" link set eth0 up
healed() { one_holder && all_follow "$(holders)" "${SERVERS[@]}"; }
wait_until 10 healed && pass "healed: one leader ($(holders)), all three follow it" \
  || fail "after healing: holders '$(holders)'"

kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""
if [[ -s $LAB/violations ]]; then fail "two VIP holders sampled:"; cat "$LAB/violations"
else pass "never two VIP holders in any 50 ms sample"; fi

for s in "${SERVERS[@]}"; do [[ -n ${PID[$s]:-} ]] && stop_sidecar "$s"; done
echo "watchdog e2e: $PASSES passed, $FAILS failed"
((FAILS == 0))
