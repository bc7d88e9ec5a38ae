#!/usr/bin/env bash
# e2e/lab_test.sh — integration test for hack/lab.sh: builds the three-host lab with
# standbys in a private lab dir, checks connectivity, replication, isolation and status,
# then tears it down and checks nothing is left behind.
#
# Needs root and PostgreSQL 15 binaries; exits 77 (skipped) without them. The namespace
# names are fixed, so tests that use the lab must be serialized (ctest RESOURCE_LOCK
# pgvigil_lab); a lab already running on this machine is torn down by `up`.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LABSH=$HERE/../hack/lab.sh
PG_BIN=${PGVIGIL_PG_BIN:-/usr/lib/postgresql/15/bin}

FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
not() { ! "$@"; }

if [[ $EUID -ne 0 ]]; then echo "SKIP: lab_test.sh needs root (network namespaces)"; exit 77; fi
if [[ ! -x $PG_BIN/initdb ]] || ! getent passwd postgres >/dev/null; then
  echo "SKIP: PostgreSQL binaries ($PG_BIN) or OS user postgres missing"; exit 77
fi

LAB=$(mktemp -d /tmp/pgvigil-lab-test.XXXXXX) || { echo "FAIL: mktemp"; exit 1; }
chmod 0755 "$LAB"
export PGVIGIL_LAB_DIR=$LAB
DOWN_DONE=no
cleanup() {
  if [[ $DOWN_DONE == no ]]; then "$LABSH" down >/dev/null 2>&1 || echo "WARN: lab.sh down in trap failed"; fi
  [[ -d $LAB ]] && rmdir "$LAB" 2>/dev/null
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if compgen -G '/run/netns/pgv-*' >/dev/null; then
  echo "NOTE: existing pgv-* namespaces will be torn down by lab.sh up"
fi

# client-side psql as root, password from the lab's pgpass
client_psql() { ip netns exec pgv-client env PGPASSFILE="$LAB/secrets/pgpass" PGCONNECT_TIMEOUT=5 \
                  "$PG_BIN/psql" -w -X -At "$@"; }
# true if a TCP connect to $2:$3 from namespace pgv-$1 succeeds
tcp_open() { ip netns exec "pgv-$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
# "pid:starttime" for a pid, so a reused pid is never mistaken for the original process
# shellcheck disable=SC2086  # split the stat fields on purpose
pid_id() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "${20}"; }
still_running() {   # pid starttime -> true if that very process is alive and not a zombie
  local want=$2 s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }
  [[ ${s:0:1} != [ZX] ]] || return 1
  # shellcheck disable=SC2086  # split the stat fields on purpose
  set -- $s; [[ ${20} == "$want" ]]
}

echo "== lab.sh up --standbys (PGVIGIL_LAB_DIR=$LAB)"
if ! "$LABSH" up --standbys; then fail "lab.sh up --standbys"; exit 1; fi
pass "lab.sh up --standbys"

check "select 1 from pgv-client via 10.77.0.11 as postgres (scram, pgpass)" \
  test "$(client_psql -h 10.77.0.11 -U postgres -d postgres -c 'select 1')" = 1
wrong_password_login() { ip netns exec pgv-client env PGPASSFILE=/dev/null PGPASSWORD=wrong \
  "$PG_BIN/psql" -w -h 10.77.0.11 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; }
check "wrong password is rejected" not wrong_password_login
repl_login() { client_psql 'host=10.77.0.11 user=repl dbname=replication replication=true' -c IDENTIFY_SYSTEM >/dev/null; }
check "repl user can open a replication connection (IDENTIFY_SYSTEM)" repl_login

streaming=""
for _ in $(seq 40); do
  streaming=$(client_psql -h 10.77.0.11 -U postgres -d postgres -c \
    "select count(*) filter (where state = 'streaming') || '/' || count(*) from pg_stat_replication" 2>/dev/null)
  [[ $streaming == 2/2 ]] && break
  sleep 0.5
done
check "server1 pg_stat_replication: 2 rows, both streaming (got $streaming)" test "$streaming" = 2/2

for s in server2 server3; do
  r=$("$LABSH" psql "$s" -X -At -c 'select pg_is_in_recovery()' 2>&1)
  check "$s pg_is_in_recovery() = t (got $r)" test "$r" = t
done
r=$("$LABSH" psql server1 -X -At -c 'select pg_is_in_recovery()' 2>&1)
check "server1 pg_is_in_recovery() = f (got $r)" test "$r" = f

check "sanity: 127.0.0.1:5432 reachable inside pgv-server1" tcp_open server1 127.0.0.1 5432
check "isolation: pgv-client cannot reach 127.0.0.1:5432 of a server" not tcp_open client 127.0.0.1 5432
check "isolation: root namespace has no 10.77.0.x address" not grep -q '10\.77\.0\.' <<<"$(ip -4 -o addr show)"
check "isolation: root namespace has no lab links" not grep -Eq 'pgvbr0|v-(server|client)' <<<"$(ip -o link show)"
for n in server1 server2 server3 client; do
  check "isolation: pgv-$n has no default route" test -z "$(ip -n "pgv-$n" route show default)"
  check "VIP 10.77.0.150 not assigned in pgv-$n" not grep -q ' 10\.77\.0\.150/' <<<"$(ip -n "pgv-$n" -4 -o addr show)"
done

status=$("$LABSH" status); echo "$status"
check "status: server1 running primary" grep -Eq '^server1 +10\.77\.0\.11 +running +primary' <<<"$status"
check "status: server2 running standby" grep -Eq '^server2 +10\.77\.0\.12 +running +standby' <<<"$status"
check "status: server3 running standby" grep -Eq '^server3 +10\.77\.0\.13 +running +standby' <<<"$status"
check "status: VIP holder none" grep -q 'holder: none' <<<"$status"

out=$("$LABSH" up --standbys 2>&1); rc=$?
if [[ $rc == 0 && $out == *"already up"* ]]; then pass "second up --standbys is a no-op returning 0"
else fail "second up --standbys is a no-op returning 0 (rc=$rc): $out"; fi

# Record every process of the lab before tearing it down.
declare -A IDS=()
for s in server1 server2 server3; do
  pid=$(head -n1 "$LAB/$s/data/postmaster.pid" 2>/dev/null) && IDS[$pid]=$(pid_id "$pid")
done
for n in pgv-net pgv-server1 pgv-server2 pgv-server3 pgv-client; do
  for pid in $(ip netns pids "$n" 2>/dev/null); do IDS[$pid]=$(pid_id "$pid") || true; done
done
echo "recorded ${#IDS[@]} lab pids: ${!IDS[*]}"
check "recorded the postmasters and their children (>= 15 pids)" test "${#IDS[@]}" -ge 15

echo "== lab.sh down"
"$LABSH" down; rc=$?; DOWN_DONE=yes
check "lab.sh down returns 0" test "$rc" = 0
left=""; for pid in "${!IDS[@]}"; do still_running "$pid" "${IDS[$pid]}" && left+=" $pid"; done
check "no recorded lab process survives down (left:${left:- none})" test -z "$left"
leftcwd=""
for p in /proc/[0-9]*; do [[ $(readlink "$p/cwd" 2>/dev/null) == "$LAB"/* ]] && leftcwd+=" ${p#/proc/}"; done
check "no process has its cwd in the lab dir (left:${leftcwd:- none})" test -z "$leftcwd"
check "no pgv- namespace remains" not grep -q '^pgv-' <<<"$(ip netns list)"
check "lab dir removed" test ! -e "$LAB"
"$LABSH" down >/dev/null; rc=$?
check "second down returns 0" test "$rc" = 0

if (( FAILS )); then echo "lab_test: $FAILS check(s) FAILED"; exit 1; fi
echo "lab_test: all checks PASSED"
