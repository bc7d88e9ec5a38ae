#!/usr/bin/env bash
# Where the proxy's CPU goes, in counts that machine load does not change:
# for a fixed number of pgbench transactions through pgvigil-proxy-bench
# (select-only simple, select-only extended, tpcb-like; 8 clients), prints per
# transaction
#   - syscalls of the proxy process: all of them without a tracer (perf stat
#     -e raw_syscalls:sys_enter), and by name under strace -c -f;
#   - context switches of the proxy's threads, voluntary (a thread blocked in
#     epoll_wait: it ran out of work) and not (preempted), from
#     /proc/PID/task/*/status over the untraced run;
#   - instructions, allocator calls, mutex locks and the hottest functions
#     (valgrind --tool=callgrind, instrumentation on only while pgbench runs);
# and, at 64 clients, how the connections and the CPU split over the workers.
#
# With TARGET=pgbouncer the same counts are taken of PgBouncer (session mode,
# one pool to the primary, trust; PROXY_BINARY ignored): the yardstick of
# issue 16. POOL_MODE=transaction runs either in transaction pooling instead
# (pgvigil: --pool-mode transaction --pool-size POOL_SIZE, default 20, per
# node; PgBouncer: default_pool_size POOL_SIZE, to the primary alone).
#
#   bench/proxy_counts.sh [PROXY_BINARY]   env: TXNS=2000 (per client, strace
#        and /proc runs) CG_TXNS=150 (per client, callgrind) CLIENTS=8 THREADS=2
#        WORKLOADS="simple extended tpcb" BASE_PORT=26400 POOL_MODE=session
#        PROXY_ARGS="" (more pgvigil-proxy-bench flags, e.g. --no-read-your-writes)
#        CG_KEEP=DIR (callgrind files copied there, for callgrind_annotate)
# Also per client transaction: the transactions each PostgreSQL node ran
# (pg_stat_database xact_commit + xact_rollback, read 11 s after the runs, when
# idle backends have reported them): the proxy's own statements (a standby's
# BEGIN/COMMIT, the read-your-writes LSN query) show there.
# Runs as root (PostgreSQL as the postgres user); one primary and two streaming
# standbys on 127.0.0.1 (scale 1), removed at the end.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/../build/bin/pgvigil-proxy-bench}
TARGET=${TARGET:-pgvigil}
[[ $TARGET == pgbouncer ]] && BIN=$(command -v pgbouncer)
TXNS=${TXNS:-2000}
CG_TXNS=${CG_TXNS:-150}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
WORKLOADS=${WORKLOADS:-"simple extended tpcb"}
POOL_MODE=${POOL_MODE:-session}
POOL_SIZE=${POOL_SIZE:-20}
PROXY_ARGS=${PROXY_ARGS:-}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BASE=${BASE_PORT:-26400}
P0=$BASE PX=$((BASE + 10))
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -x $BIN ]] || { echo "no proxy binary at $BIN" >&2; exit 1; }
for c in strace perf valgrind callgrind_control pgbench; do
  command -v $c >/dev/null || { echo "needs $c" >&2; exit 1; }
done

DIR=$(mktemp -d /tmp/pgvigil-counts-XXXXXX)
chown postgres: "$DIR"
PROXY=
as_pg() { runuser -u postgres -- "$@"; }
stop_proxy() {
  [[ -n $PROXY ]] || return 0
  kill "$PROXY" 2>/dev/null || true
  wait "$PROXY" 2>/dev/null || true
  PROXY=
}
cleanup() {
  stop_proxy
  for n in 0 1 2; do [[ -d $DIR/n$n ]] && as_pg "$PGBIN/pg_ctl" -D "$DIR/n$n" -m immediate stop >/dev/null 2>&1 || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -D "$DIR/n0" -A trust -U postgres >/dev/null
cat >>"$DIR/n0/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $P0
unix_socket_directories = '$DIR'
max_connections = 200
fsync = off
synchronous_commit = off
CONF
echo "host replication all 127.0.0.1/32 trust" >>"$DIR/n0/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$DIR/n0" -l "$DIR/n0.log" -w start >/dev/null
for n in 1 2; do
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p $P0 -U postgres -D "$DIR/n$n" -R -X stream >/dev/null
  echo "port = $((P0 + n))" >>"$DIR/n$n/postgresql.conf"
  as_pg "$PGBIN/pg_ctl" -D "$DIR/n$n" -l "$DIR/n$n.log" -w start >/dev/null
done
pgbench -i -q -s 1 -h 127.0.0.1 -p $P0 -U postgres postgres >/dev/null 2>&1
sleep 1
NODES="127.0.0.1:$P0,127.0.0.1:$((P0 + 1)),127.0.0.1:$((P0 + 2))"

start_proxy() {  # [wrapper...]
  if [[ $TARGET == pgbouncer ]]; then
    # PgBouncer refuses to run as root; setpriv execs (the pid is PgBouncer's).
    printf '"postgres" ""\n' >"$DIR/userlist.txt"
    cat >"$DIR/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$P0 dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PX
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = $POOL_MODE
max_client_conn = 200
default_pool_size = $([[ $POOL_MODE == transaction ]] && echo "$POOL_SIZE" || echo 80)
INI
    chown postgres: "$DIR/userlist.txt" "$DIR/pgbouncer.ini"
    setpriv --reuid=postgres --regid=postgres --init-groups "$@" "$BIN" -q "$DIR/pgbouncer.ini" >"$DIR/proxy.log" 2>&1 &
  else
    "$@" "$BIN" --port $PX --nodes "$NODES" --threads "$THREADS" \
      --pool-mode "$POOL_MODE" --pool-size "$POOL_SIZE" $PROXY_ARGS >"$DIR/proxy.log" 2>&1 &
  fi
  PROXY=$!
  for _ in $(seq 1 300); do
    pg_isready -q -h 127.0.0.1 -p $PX -U postgres && return 0
    sleep 0.2
  done
  echo "proxy did not start:" >&2
  cat "$DIR/proxy.log" >&2
  exit 1
}
cg_control() {  # callgrind_control as the user valgrind runs as (vgdb finds it by user)
  if [[ $TARGET == pgbouncer ]]; then
    setpriv --reuid=postgres --regid=postgres --init-groups callgrind_control "$@"
  else
    callgrind_control "$@"
  fi
}
args_of() {
  case $1 in
    simple) echo "-S -M simple" ;;
    extended) echo "-S -M extended" ;;
    tpcb) echo "-M simple" ;;
  esac
}
bench() {  # workload clients txns-per-client
  # shellcheck disable=SC2046
  pgbench -n $(args_of "$1") -c "$2" -j 2 -t "$3" -h 127.0.0.1 -p $PX -U postgres postgres 2>&1 |
    sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p'
}

ctxsw() {  # the proxy's context switches so far: voluntary nonvoluntary
  cat /proc/"$PROXY"/task/*/status 2>/dev/null |
    awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v + 0, n + 0}'
}

xacts() {  # node: transactions it has run (committed + rolled back)
  psql -qAt -h 127.0.0.1 -p $((P0 + $1)) -U postgres postgres \
    -c "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"
}

echo "== proxy $BIN $PROXY_ARGS ($POOL_MODE pooling), $THREADS worker(s), $CLIENTS clients; load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_proxy
for w in $WORKLOADS; do
  bench "$w" "$CLIENTS" 100 >/dev/null  # backends logged in and pooled
  sleep 11
  x0=("$(xacts 0)" "$(xacts 1)" "$(xacts 2)")
  perf stat -e raw_syscalls:sys_enter -x, -o "$DIR/perf-$w" -p "$PROXY" &
  ppid=$!
  sleep 1
  read -r cv0 cn0 <<<"$(ctxsw)"
  n=$(bench "$w" "$CLIENTS" "$TXNS")
  read -r cv1 cn1 <<<"$(ctxsw)"
  kill -INT $ppid
  wait $ppid 2>/dev/null || true
  sc=$(awk -F, '/raw_syscalls/ {print $1}' "$DIR/perf-$w")
  strace -c -f -q -o "$DIR/strace-$w" -p "$PROXY" &
  spid=$!
  sleep 1
  n2=$(bench "$w" "$CLIENTS" "$TXNS")
  kill -INT $spid
  wait $spid 2>/dev/null || true
  echo "-- $w: syscalls/txn without a tracer $(awk -v d="${sc:-0}" -v n="$n" 'BEGIN {printf "%.2f", d / n}') ($n transactions);" \
    "context switches/txn voluntary $(awk -v d=$((cv1 - cv0)) -v n="$n" 'BEGIN {printf "%.3f", d / n}')," \
    "nonvoluntary $(awk -v d=$((cn1 - cn0)) -v n="$n" 'BEGIN {printf "%.3f", d / n}'); by name under strace ($n2):"
  awk -v n="$n2" '$1 ~ /^[0-9.]+$/ && NF >= 5 {printf "   %-16s %8.2f/txn\n", $NF, $4 / n}' "$DIR/strace-$w" |
    sort -k2 -g -r | head -12
  sleep 11
  per() { awk -v d="$1" -v n=$((n + n2)) 'BEGIN {printf "%.2f", d / n}'; }
  echo "   PostgreSQL transactions per client transaction: primary $(per $(($(xacts 0) - x0[0])))," \
    "standbys $(per $(($(xacts 1) + $(xacts 2) - x0[1] - x0[2])))"
done

echo "-- 64 clients, select-only simple: connections and CPU per worker"
# The CPU split is read from a run with no tracer attached: under strace -f
# every syscall stops the thread, and the split it gave was far from the
# untraced one (188 against 89 ticks, where untraced runs give 31 against 29).
declare -A T0=()
for t in /proc/"$PROXY"/task/*; do T0[${t##*/}]=$(awk '{print $14 + $15}' "$t/stat"); done
bench simple 64 200 >/dev/null
for t in /proc/"$PROXY"/task/*; do
  id=${t##*/} now=$(awk '{print $14 + $15}' "$t/stat")
  d=$((now - ${T0[$id]:-0}))
  if ((d > 0)); then echo "   thread $id ($(cat "$t/comm")) CPU ticks $d (no tracer)"; fi
done
# Then which thread accepted the connections of a second run, under strace.
strace -f -q -e trace=accept,accept4 -o "$DIR/accepts" -p "$PROXY" &
spid=$!
sleep 1
bench simple 64 200 >/dev/null
kill -INT $spid
wait $spid 2>/dev/null || true
{ grep -E 'accept4?\(' "$DIR/accepts" || true; } | { grep -v -E 'EAGAIN|unfinished|resumed> .*= -1' || true; } |
  awk '{c[$1]++} END {for (t in c) printf "   thread %s accepted %d connection(s)\n", t, c[t]}'
stop_proxy

for w in $WORKLOADS; do
  start_proxy valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$DIR/cg-$w.%p" -q
  bench "$w" "$CLIENTS" 20 >/dev/null
  cg_control -i on "$PROXY" >/dev/null
  n=$(bench "$w" "$CLIENTS" "$CG_TXNS")
  cg_control -d "$PROXY" >/dev/null  # dump 1: only what ran while pgbench did
  stop_proxy
  echo "-- $w under callgrind: $n transactions"
  python3 "$HERE/proxy/callgrind_counts.py" "$(ls "$DIR"/cg-"$w".*.1 | head -1)" "$n" "${TOP:-12}"
  [[ -z ${CG_KEEP:-} ]] || { mkdir -p "$CG_KEEP" && cp "$(ls "$DIR"/cg-"$w".*.1 | head -1)" "$CG_KEEP/cg-$w-c$CLIENTS.out"; }
done
