# e2e/cluster/lib.sh — shared by the cluster end-to-end scenarios (sourced).
#
# Each scenario runs its own lab (hack/lab.sh) with its own namespace prefix and lab
# dir (E2E_NS / E2E_LAB below, overridable with PGVIGIL_LAB_NS / PGVIGIL_LAB_DIR), so
# it never touches the default lab (pgv-*, /tmp/pgvigil-lab) or another scenario.
# Everything a user would do goes through the VIP (psql/pgbench to 10.77.0.150:9999
# from the client namespace) and vigilctl (controller REST via the VIP, port 9900).
# In the background: pgvigil-e2e-writer (numbered rows through the VIP, every
# acknowledged id recorded) and pgvigil-e2e-primary-checker (no two writable primaries
# routed by proxies, never two VIP holders). e2e_finish verifies both.
#
# Needs root, PostgreSQL 15 and the built binaries; exits 77 (skip) without them.
# shellcheck shell=bash

E2E_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_HERE/../.." && pwd)
LABSH=$ROOT/hack/lab.sh
CLUSTERSH=$ROOT/hack/cluster.sh
PG_BIN=${PGVIGIL_PG_BIN:-/usr/lib/postgresql/15/bin}
SRC_BUILD=${PGVIGIL_BUILD_DIR:-$ROOT/build}
VIP=10.77.0.150
# PGVIGIL_LAB_HOSTS (hack/lab.sh; default 3): how many server hosts the lab has.
SERVERS=()
declare -A ADDR=()
for ((i = 1; i <= ${PGVIGIL_LAB_HOSTS:-3}; i++)); do SERVERS+=("server$i"); ADDR[server$i]=10.77.0.$((10 + i)); done
unset i

E2E_FAILS=0
E2E_PASSES=0
E2E_T0=$SECONDS
WRITER_PID=""
CHECKER_PID=""
E2E_BG_PIDS=()
E2E_KEEP=${PGVIGIL_E2E_KEEP:-no}   # yes: leave the lab up after the test (debugging)

say()  { echo "== $(date -u +%T.%3N) [+$((SECONDS - E2E_T0))s] $*"; }
pass() { echo "PASS: $*"; E2E_PASSES=$((E2E_PASSES + 1)); }
fail() { echo "FAIL: $*"; E2E_FAILS=$((E2E_FAILS + 1)); }
note() { echo "NOTE: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
now_ms() { date +%s%3N; }

# wait_until SECONDS CMD...: polls CMD every 0.2 s; true as soon as it succeeds.
wait_until() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while ((SECONDS < end)); do "$@" 2>/dev/null && return 0; sleep 0.2; done
  "$@" 2>/dev/null
}

# e2e_init NAME NS_PREFIX: checks prerequisites, sets E2E_NS/E2E_LAB, installs the trap.
e2e_init() {
  E2E_NAME=$1
  if [[ $EUID -ne 0 ]]; then echo "SKIP: $E2E_NAME needs root (network namespaces)"; exit 77; fi
  if [[ ! -x $PG_BIN/initdb ]] || ! getent passwd postgres >/dev/null; then
    echo "SKIP: PostgreSQL binaries ($PG_BIN) or OS user postgres missing"; exit 77
  fi
  for t in curl python3; do command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }; done
  local b
  for b in pgvigil-sidecar pgvigil-controller vigilctl pgvigil-e2e-writer pgvigil-e2e-primary-checker; do
    [[ -x $SRC_BUILD/bin/$b ]] || { echo "FAIL: $SRC_BUILD/bin/$b missing (build first)"; exit 1; }
  done
  export PGVIGIL_LAB_NS=${PGVIGIL_LAB_NS:-$2}
  export PGVIGIL_LAB_DIR=${PGVIGIL_LAB_DIR:-/tmp/pgvigil-lab-$2}
  [[ $PGVIGIL_LAB_NS != pgv ]] || { echo "FAIL: refusing the default lab prefix pgv"; exit 1; }
  E2E_NS=$PGVIGIL_LAB_NS
  E2E_LAB=$PGVIGIL_LAB_DIR
  # Binaries are copied into the lab when it is up (a rebuild meanwhile cannot mix versions).
  BIN=$E2E_LAB/build/bin
  export PGVIGIL_BUILD_DIR=$E2E_LAB/build
  export PGVIGIL_CONTROLLER=http://$VIP:9900
  export PGVIGIL_TOKEN_FILE=$E2E_LAB/secrets/api.token
  E2E_OUT=$(mktemp -d "/tmp/pgvigil-e2e-$E2E_NAME.XXXXXX")
  chmod 0755 "$E2E_OUT"
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
  say "$E2E_NAME: lab $E2E_NS in $E2E_LAB, output in $E2E_OUT"
}

e2e_cleanup() {
  local rc=$? p
  stop_writer >/dev/null 2>&1
  stop_checker >/dev/null 2>&1
  for p in "${E2E_BG_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if ((E2E_FAILS > 0)) || ((rc != 0 && rc != 77)); then e2e_dump_logs; fi
  if [[ $E2E_KEEP == yes ]]; then
    echo "NOTE: PGVIGIL_E2E_KEEP=yes: lab left up; PGVIGIL_LAB_NS=$E2E_NS PGVIGIL_LAB_DIR=$E2E_LAB $LABSH down"
  else
    "$LABSH" down >/dev/null 2>&1 || echo "WARN: lab.sh down failed"
  fi
  return 0
}

e2e_dump_logs() {
  local s
  [[ -d $E2E_LAB ]] || return 0
  for s in "${SERVERS[@]}"; do
    echo "--- $s controller log (tail)"; tail -n 30 "$E2E_LAB/$s/controller.log" 2>/dev/null
    echo "--- $s sidecar log (tail)"; tail -n 20 "$E2E_LAB/$s/sidecar.log" 2>/dev/null
  done
  echo "--- test outputs kept in $E2E_OUT"
}

# Copies of the scenario's logs survive lab.sh down.
e2e_save_logs() {
  local s
  for s in "${SERVERS[@]}"; do
    for f in controller.log sidecar.log postgresql.log; do
      [[ -f $E2E_LAB/$s/$f ]] && cp "$E2E_LAB/$s/$f" "$E2E_OUT/$s.$f" 2>/dev/null
    done
  done
}

# e2e_lab_up [SPEC_TEMPLATE]: lab with server1 only, pgvigil on the three hosts.
e2e_lab_up() {
  say "lab.sh up (server1 only)"
  "$LABSH" up >"$E2E_OUT/lab-up.log" 2>&1 || { cat "$E2E_OUT/lab-up.log"; fail "lab.sh up"; exit 1; }
  mkdir -p "$BIN"
  # A binary being relinked right now is not executable yet: try again a little later.
  local b try ok=no err
  for try in 1 2 3 4 5 6; do
    ok=yes
    for b in pgvigil-sidecar pgvigil-controller vigilctl pgvigil-e2e-writer pgvigil-e2e-primary-checker; do
      rm -f "$BIN/$b"
      if ! err=$(cp "$SRC_BUILD/bin/$b" "$BIN/$b" 2>&1) || [[ ! -x $BIN/$b ]]; then
        ok=no; note "copying $b: ${err:-not executable}"
      fi
    done
    [[ $ok == yes ]] && break
    note "binaries in $SRC_BUILD/bin are being rebuilt? retrying in 20 s"; sleep 20
  done
  [[ $ok == yes ]] || { fail "cannot copy the binaries from $SRC_BUILD/bin"; exit 1; }
  say "cluster.sh start${1:+ (spec template $1)}"
  PGVIGIL_SPEC_TEMPLATE=${1:-} "$CLUSTERSH" start "$PGVIGIL_BUILD_DIR" >"$E2E_OUT/cluster-start.log" 2>&1 \
    || { cat "$E2E_OUT/cluster-start.log"; fail "cluster.sh start"; exit 1; }
}

# A copy of the lab spec with extra top-level spec keys appended (YAML text, indented
# two spaces), e.g. spec_with "  recovery:\n    automatic: false" > FILE. The lab spec
# runs synchronous replication (ANY 1); spec_async / spec_async_with give the same
# spec in async mode, for scenarios written for it.
spec_with() { cat "$ROOT/manifests/examples/lab.yaml"; printf '%b\n' "$1"; }
spec_async() { sed 's/^    mode: sync$/    mode: async/' "$ROOT/manifests/examples/lab.yaml"; }
spec_async_with() { spec_async; printf '%b\n' "$1"; }

inns() { "$LABSH" exec "$@"; }                       # inns NS CMD...
vctl() { inns client "$BIN/vigilctl" "$@"; }
# psql through the VIP's proxy (client namespace), unaligned, tuples only.
vip_psql() { inns client env PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -h $VIP -p 9999 -U postgres -d postgres -XAtq "$@"; }
# psql straight to one node's PostgreSQL (not through a proxy).
node_psql() { local s=$1; shift
  inns client env PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -h "${ADDR[$s]}" -p 5432 -U postgres -d postgres -XAtq "$@"; }
sidecar_get() { inns client curl -s -m 3 "http://${ADDR[$1]}:9898$2"; }
pg_ctl_on() { local s=$1; shift
  (cd / && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$E2E_LAB/$s/data" "$@"); }

# json_get PATH < JSON: a field (dotted path, list indexes allowed); "" when absent.
json_get() {
  python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
    for k in sys.argv[1].split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(json.dumps(v) if isinstance(v, (dict, list)) else ("true" if v is True else "false" if v is False else v))
except Exception:
    print("")' "$1"
}
status_json() { vctl status -o json 2>/dev/null; }
status_field() { status_json | json_get "$1"; }
cluster_primary() { status_field primary; }

# show pool_nodes through the VIP as "hostname status role" lines.
pool_nodes() { vip_psql -F ' ' -c "show pool_nodes" | awk '{print $2, $4, $7}'; }
# pool_nodes_are "10.77.0.11 up primary" "10.77.0.12 up standby" ...: exactly these rows.
pool_nodes_are() {
  local want got
  want=$(printf '%s\n' "$@" | sort)
  got=$(pool_nodes 2>/dev/null | sort)
  [[ -n $got && $got == "$want" ]]
}
three_up_one_primary() {
  local p=$1 s rows=()
  for s in "${SERVERS[@]}"; do
    if [[ $s == "$p" ]]; then rows+=("${ADDR[$s]} up primary"); else rows+=("${ADDR[$s]} up standby"); fi
  done
  pool_nodes_are "${rows[@]}"
}

in_recovery() { [[ $(node_psql "$1" -c "select pg_is_in_recovery()" 2>/dev/null) == t ]]; }
is_writable() { [[ $(node_psql "$1" -c "select pg_is_in_recovery()" 2>/dev/null) == f ]]; }
# streams_from STANDBY PRIMARY: PRIMARY's pg_stat_replication shows STANDBY streaming
# and STANDBY is in recovery with its WAL receiver streaming from PRIMARY's address.
streams_from() {
  local s=$1 p=$2 n up
  in_recovery "$s" || return 1
  n=$(node_psql "$p" -c "select count(*) from pg_stat_replication where state = 'streaming' and client_addr = '${ADDR[$s]}'") || return 1
  [[ $n == 1 ]] || return 1
  up=$(node_psql "$s" -c "select sender_host from pg_stat_wal_receiver where status = 'streaming'") || return 1
  [[ $up == "${ADDR[$p]}" ]]
}

# writable_other NODE...: a node not among the arguments is writable (asked directly,
# not through a proxy); sets NEW to it.
writable_other() {
  local s
  for s in "${SERVERS[@]}"; do
    [[ " $* " == *" $s "* ]] && continue
    is_writable "$s" && { NEW=$s; return 0; }
  done
  return 1
}

vip_holders() {
  local s out=""
  for s in "${SERVERS[@]}"; do
    ip -n "$E2E_NS-$s" -4 -o addr show 2>/dev/null | grep -q " $VIP/" && out+="$s "
  done
  echo "${out% }"
}
vip_on() { [[ $(vip_holders) == "$1" ]]; }
vip_moved_from() { local h; h=$(vip_holders); [[ -n $h && $h != *" "* && $h != "$1" ]]; }
# watchdog_state NODE [ASKED]: NODE's state as seen by ASKED's sidecar (default the VIP).
watchdog_state() {
  local url=http://$VIP:9898
  [[ -n ${2:-} ]] && url=http://${ADDR[$2]}:9898
  inns client curl -s -m 3 "$url/v1/watchdog" | python3 -c '
import json, sys
try:
    for m in json.load(sys.stdin)["members"]:
        if m["name"] == sys.argv[1]: print(m["state"])
except Exception:
    print("")' "$1"
}
watchdog_leader() { inns client curl -s -m 3 "http://$VIP:9898/v1/watchdog" | json_get leader; }
routing_generation() { sidecar_get "$1" /v1/proxy/routing | json_get generation; }
routing_primary() { sidecar_get "$1" /v1/proxy/routing | json_get primary; }

# ---- background writer and checker ---------------------------------------------------
VIP_CONNINFO="host=$VIP port=9999 user=postgres dbname=postgres application_name=pgvigil-e2e-writer"

# pid of the process exec'ed by `lab.sh exec ... &` once it runs the named binary.
await_exec() {
  local pid=$1 comm=$2
  for _ in $(seq 50); do
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "${comm:0:15}" ]] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_writer() {
  : >"$E2E_OUT/acks"
  # "$LABSH" itself in the background (not the inns function, whose subshell would be
  # the pid): lab.sh execs ip netns exec, which execs the tool, so $! is the tool.
  "$LABSH" exec client "$BIN/pgvigil-e2e-writer" --conninfo "$VIP_CONNINFO" --acks "$E2E_OUT/acks" \
    --gaps "$E2E_OUT/writer.gaps" --marks "$E2E_OUT/writer.marks" --interval-ms 10 \
    >"$E2E_OUT/writer.out" 2>"$E2E_OUT/writer.err" &
  WRITER_PID=$!
  await_exec "$WRITER_PID" pgvigil-e2e-writer || { fail "writer did not start"; cat "$E2E_OUT/writer.err"; }
  wait_until 20 test -s "$E2E_OUT/acks" || fail "writer: no acknowledged write through the VIP in 20 s"
}
acked_count() { wc -l <"$E2E_OUT/acks"; }
# outage_since MS: the client-visible write outage around/after MS (ms since epoch),
# from the ack file: the longest span without an acknowledged write that ends after MS
# (clipped to start no earlier than MS). Prints "OUTAGE_MS LAST_ACK_BEFORE FIRST_ACK_AFTER".
outage_since() {
  awk -v t="$1" 'NF >= 3 { if (prev != "" && $3 > t) { s = (prev > t ? prev : t); if ($3 - s > best) { best = $3 - s; b0 = prev; b1 = $3 } } prev = $3 }
    END { if (best == "") print "n/a"; else printf "%d %s %s\n", best, b0, b1 }' "$E2E_OUT/acks"
}
ms_to_time() { date -u -d "@$(( $1 / 1000 )).$(printf %03d $(( $1 % 1000 )))" +%T.%3N; }
# report_outage WHAT T0_MS: prints the outage since T0 (call once writes have resumed).
report_outage() {
  local o; o=$(outage_since "$2")
  if [[ $o == n/a ]]; then note "$1: no write acknowledged after it yet"; return; fi
  set -- "$1" $o
  say "$1: writes through the VIP blocked for $2 ms (last ack before $(ms_to_time "$3"), first after $(ms_to_time "$4"))"
  E2E_LAST_OUTAGE_MS=$2
}
# writer_mark: from now on, report when the first write is acknowledged (a failover's
# client-visible outage). The result is in writer.marks ("MARK_MS ACK_MS DELAY_MS").
writer_mark() { [[ -n $WRITER_PID ]] && kill -USR1 "$WRITER_PID"; }
last_mark_delay() { tail -n1 "$E2E_OUT/writer.marks" 2>/dev/null | awk '{print $3}'; }
# writes_resume SECONDS: an ack appears after this call within SECONDS.
writes_resume() {
  local n0; n0=$(acked_count)
  wait_until "$1" bash -c "(( \$(wc -l <'$E2E_OUT/acks') > $n0 ))"
}
stop_writer() {
  [[ -n $WRITER_PID ]] || return 0
  kill -TERM "$WRITER_PID" 2>/dev/null
  # Its summary lines are written as it exits. Called in a pipeline (a subshell,
  # as `stop_writer | sed` is), `wait` cannot wait for it: wait until it is gone
  # or a zombie (at most 10 s), or writer.out may be read before it is written.
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -e /proc/$WRITER_PID && $(awk '{print $3}' "/proc/$WRITER_PID/stat" 2>/dev/null) != Z ]] || break
    sleep 0.05
  done
  wait "$WRITER_PID" 2>/dev/null
  WRITER_PID=""
  cat "$E2E_OUT/writer.out"
}

start_checker() {  # once: a second call while it runs does nothing
  [[ -n ${CHECKER_PID:-} ]] && kill -0 "$CHECKER_PID" 2>/dev/null && return 0
  local s args=()
  for s in "${SERVERS[@]}"; do args+=(--node "$s=${ADDR[$s]}:5432:9898" --vip-ns "$s=$E2E_NS-$s"); done
  "$LABSH" exec client "$BIN/pgvigil-e2e-primary-checker" "${args[@]}" --vip "$VIP" --interval-ms 100 \
    --probe-timeout-ms 500 >"$E2E_OUT/checker.out" 2>"$E2E_OUT/checker.err" &
  CHECKER_PID=$!
  await_exec "$CHECKER_PID" pgvigil-e2e-primary-checker || fail "checker did not start"
}
CHECKER_RC=""
stop_checker() {
  [[ -n $CHECKER_PID ]] || return 0
  kill -TERM "$CHECKER_PID" 2>/dev/null
  wait "$CHECKER_PID"; CHECKER_RC=$?
  CHECKER_PID=""
}

# e2e_finish: stops the writer and checker, verifies every acknowledged row on the
# primary (LOSS_ALLOWED=yes: async replication, report but do not fail), prints the
# summary and exits.
e2e_finish() {
  local loss_allowed=${1:-yes} primary vrc
  say "stopping the writer and the checker"
  stop_writer | sed 's/^/  /'
  stop_checker
  sed 's/^/  checker: /' "$E2E_OUT/checker.out" | grep -v '^  checker: checker:' | tail -n 60
  grep '^checker:' "$E2E_OUT/checker.out" | sed 's/^/  /'
  if [[ $CHECKER_RC == 0 ]] && grep -q '^checker: no violations' "$E2E_OUT/checker.out"; then
    pass "checker: never two writable primaries routed by proxies, never two VIP holders"
  else
    fail "checker found violations (exit $CHECKER_RC): $(grep -E 'VIOLATION' "$E2E_OUT/checker.out" | tail -n 5)"
  fi
  # The checker must have seen the cluster, or it proves nothing.
  grep -Eq '^checker: server[0-9] writable in [1-9]' "$E2E_OUT/checker.out" \
    || fail "checker never saw a writable node (it checked nothing)"
  primary=$(cluster_primary)
  say "verifying every acknowledged write on the primary ($primary)"
  [[ -n $primary ]] || { fail "no primary in vigilctl status"; primary=server1; }
  # Directly on the primary, not through a proxy that could balance the read.
  inns client "$BIN/pgvigil-e2e-writer" --verify --acks "$E2E_OUT/acks" \
    --conninfo "host=${ADDR[$primary]} port=5432 user=postgres dbname=postgres" >"$E2E_OUT/verify.out" 2>&1
  vrc=$?
  sed 's/^/  /' "$E2E_OUT/verify.out"
  E2E_ACKED=$(acked_count)
  case $vrc in
    0) pass "all $E2E_ACKED acknowledged writes are on the primary $primary" ;;
    3) if [[ $loss_allowed == yes ]]; then
         note "ASYNC LOSS: $(grep -o 'lost [0-9]*' "$E2E_OUT/verify.out" | head -1) acknowledged rows ($(grep 'loss window' "$E2E_OUT/verify.out" | sed 's/verify: //'))"
       else
         fail "acknowledged writes lost: $(grep -o 'lost [0-9]*' "$E2E_OUT/verify.out" | head -1)"
       fi ;;
    *) fail "verify failed (exit $vrc)" ;;
  esac
  ((E2E_ACKED > 50)) || fail "only $E2E_ACKED acknowledged writes: the writer did not really run"
  if [[ ${E2E_WRITER_ERRORS_FAIL:-no} == yes ]]; then
    local werr; werr=$(grep -o 'errors [0-9]*' "$E2E_OUT/writer.out" | awk '{print $2}')
    if [[ ${werr:-1} == 0 ]]; then pass "the writer saw no error"
    else fail "the writer saw $werr errors; first: $(head -n 2 "$E2E_OUT/writer.err" | cut -c1-220)"; fi
  fi
  e2e_save_logs
  echo "== $E2E_NAME: $E2E_PASSES passed, $E2E_FAILS failed in $((SECONDS - E2E_T0)) s (outputs in $E2E_OUT)"
  ((E2E_FAILS == 0))
  exit $?
}
