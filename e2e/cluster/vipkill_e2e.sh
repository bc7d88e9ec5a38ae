#!/usr/bin/env bash
# e2e/cluster/vipkill_e2e.sh — never two VIP holders when the leader's whole sidecar
# process group (main process + VIP guard child) is SIGKILLed (issue 14 item 11):
#   0. lab with server1 only + pgvigil (hack/cluster.sh runs every sidecar in its own
#      process group under a supervisor that runs `pgvigil-sidecar release-vip` when
#      the sidecar ends); standbys built; writer and checker running; a sampler reads
#      the VIP's holders in the three namespaces continuously (a few ms per round);
#   1. RUNS times (PGVIGIL_E2E_VIP_RUNS, default 2): SIGKILL the leader's whole
#      process group; another leader must hold the VIP, the supervisor must have
#      removed it from the dead host; then the sidecar is started again;
#   2. once more with the supervisor killed first, so the address stays on the dead
#      host (what DAD alone must handle): the new leader must not bring the VIP up
#      while that host answers ARP for it and must say so (/v1/watchdog vip.conflict);
#      once the address is released there by hand, the new leader takes it;
#   3. no sample with two holders; acknowledged writes survive (sync mode).
# bench/vip_kill.sh runs the 10-run loop. Own lab: PGVIGIL_LAB_NS=pgsg,
# PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pgsg by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init vipkill pgsg
RUNS=${PGVIGIL_E2E_VIP_RUNS:-2}
e2e_lab_up
check "0. three nodes up, server1 primary" wait_until 90 three_up_one_primary server1

# The sampler: "MS HOLDER..." per round over the three namespaces, a round every
# ~2 ms: one process that enters each namespace (setns) and reads its local routes.
cat >"$E2E_OUT/vip_sampler.py" <<'PY'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
vip, names = sys.argv[1], sys.argv[2:]
fds = [os.open("/run/netns/" + n, os.O_RDONLY) for n in names]
key = "|-- " + vip + "\n"
def held():
    with open("/proc/thread-self/net/fib_trie") as f:
        d = f.read()
    i = d.find(key)
    while i >= 0:
        if d[i + len(key):i + len(key) + 80].lstrip().startswith("/32 host LOCAL"):
            return True
        i = d.find(key, i + 1)
    return False
while True:
    out = []
    for n, fd in zip(names, fds):
        if libc.setns(fd, 0x40000000) == 0 and held():
            out.append(n.rsplit("-", 1)[1])
    print(int(time.time() * 1000), *out, flush=True)
    time.sleep(0.002)
PY
python3 "$E2E_OUT/vip_sampler.py" "$VIP" "$E2E_NS-server1" "$E2E_NS-server2" "$E2E_NS-server3" \
  >"$E2E_OUT/vip-samples" 2>"$E2E_OUT/vip-sampler.err" &
E2E_BG_PIDS+=($!)
start_checker
start_writer
sleep 1

pidfile() { echo "$E2E_LAB/pids/$1-$2.pid"; }
new_leader_holds() {  # the VIP is held by exactly one host, not $1
  local h; h=$(vip_holders); [[ -n $h && $h != *" "* && $h != "$1" ]]
}
restart_sidecar() {  # asks another host's sidecar (the VIP may be down meanwhile)
  local s node=$1 asked=""
  for s in "${SERVERS[@]}"; do [[ $s != "$node" ]] && asked=$s; done
  "$CLUSTERSH" start-sidecar "$node" >>"$E2E_OUT/restarts.log" 2>&1
  wait_until 30 eval '[[ $(watchdog_state "$node" "$asked") == STANDBY ]]' || note "$node did not rejoin as STANDBY within 30 s"
}

for run in $(seq "$RUNS"); do
  leader=$(watchdog_leader)
  [[ -n $leader && $(vip_holders) == "$leader" ]] || wait_until 20 eval '[[ -n $(watchdog_leader) && $(vip_holders) == $(watchdog_leader) ]]'
  leader=$(watchdog_leader)
  pid=$(cat "$(pidfile sidecar "$leader")")
  say "1.$run leader $leader (sidecar pid $pid, VIP on $(vip_holders)): kill -KILL -- -$pid (its whole process group)"
  t=$(now_ms)
  kill -KILL -- "-$pid"
  if wait_until 20 new_leader_holds "$leader"; then
    pass "1.$run the VIP moved from $leader to $(vip_holders) in $(( $(now_ms) - t )) ms"
  else
    fail "1.$run the VIP did not move away from $leader (holders: '$(vip_holders)')"
  fi
  grep -q "release-vip: VIP" "$E2E_LAB/$leader/sidecar.log" || note "1.$run no release-vip line in $leader's log"
  restart_sidecar "$leader"
done

leader=$(watchdog_leader)
wait_until 20 eval '[[ $(vip_holders) == $(watchdog_leader) ]]'
leader=$(watchdog_leader)
pid=$(cat "$(pidfile sidecar "$leader")")
sup=$(cat "$E2E_LAB/pids/supervisor-$leader.pid")
say "2. leader $leader: its supervisor ($sup) killed first, then the sidecar's process group: the address stays on $leader"
kill -KILL "$sup"
t=$(now_ms)
kill -KILL -- "-$pid"
sleep 4   # far past the dead time and the new leader's election
h=$(vip_holders)
check "2. the VIP stays on the dead host $leader only (holders '$h')" eval '[[ $h == "$leader" ]]'
conflict_seen() {
  local s c
  for s in "${SERVERS[@]}"; do
    [[ $s == "$leader" ]] && continue
    c=$(sidecar_get "$s" /v1/watchdog | json_get vip.conflict)
    [[ -n $c ]] && { echo "$s: $c"; return 0; }
  done
  return 1
}
if c=$(conflict_seen); then pass "2. the new leader reports the conflict: $c"; else fail "2. no sidecar reports vip.conflict"; fi
grep -h "NOT bringing VIP" "$E2E_LAB"/server*/sidecar.log | tail -n 1 | sed 's/^/  log: /'
say "2. releasing the address on $leader by hand (pgvigil-sidecar release-vip)"
inns "$leader" "$BIN/pgvigil-sidecar" release-vip -f "$("$CLUSTERSH" spec)" | sed 's/^/  /'
t2=$(now_ms)
if wait_until 10 new_leader_holds "$leader"; then
  pass "2. the new leader took the VIP $(( $(now_ms) - t2 )) ms after the dead host released it"
else
  fail "2. the VIP is not up on the new leader 10 s after the release"
fi
restart_sidecar "$leader"
check "writes through the VIP resume" writes_resume 30

samples=$(wc -l <"$E2E_OUT/vip-samples")
two=$(awk 'NF > 2' "$E2E_OUT/vip-samples" | wc -l)
span=$(awk 'NR == 1 { a = $1 } { b = $1 } END { print b - a }' "$E2E_OUT/vip-samples")
say "VIP sampler: $samples rounds over $span ms (one every $(( span / (samples > 0 ? samples : 1) )) ms), $two with two holders"
if ((two == 0 && samples > 100)); then pass "3. no instant with two VIP holders ($samples samples)"
else fail "3. $two samples with two VIP holders: $(awk 'NF > 2' "$E2E_OUT/vip-samples" | head -n 3 | tr '\n' ';')"; fi
say "load $(cut -d' ' -f1-3 /proc/loadavg)"
e2e_finish no
