#!/usr/bin/env bash
# Proxy benchmark: three PostgreSQL 15 instances on loopback in streaming
# replication, then pgbench through direct PostgreSQL, pgvigil, Pgpool-II
# (streaming replication mode, load balancing), PgBouncer (session mode) and
# HAProxy (tcp), alternating targets, ROUNDS rounds. Prints TPS, p99 latency and
# the proxy's CPU microseconds per transaction, each with its ratio to direct;
# then holds IDLE idle clients on pgvigil and prints its RSS. Every client
# session holds a backend from its login on (BackendKeyData carries the real
# backend pid), so IDLE stays below the primary's max_connections (300 here).
#
#   bench/proxy.sh [BUILD_DIR]     env: DURATION=20 ROUNDS=2 SCALE=10 IDLE=200
#                                       TARGETS="direct pgvigil pgpool pgbouncer haproxy pgvigil-tx pgbouncer-tx"
#                                       (also pgvigil-1t, pgvigil-tx-1t: the same with proxy.threads 1)
#                                       (and pgvigil-noryw: session mode with readYourWrites off;
#                                       pgvigil-nolb: session mode, load balancing off, every query to
#                                       the primary as PgBouncer and HAProxy send them; pgvigil-tx-nolb:
#                                       the same in transaction mode; pgvigil-nolb-1t, pgvigil-tx-nolb-1t:
#                                       those two with proxy.threads 1, one pool of 20 as PgBouncer's;
#                                       pgvigil-nolb-2t, pgvigil-tx-nolb-2t: with proxy.threads 2, a pool
#                                       of 10 per thread; unset, proxy.threads is half the CPUs, at least 1;
#                                       pgvigil-nolb-alt, pgvigil-tx-nolb-alt: pgvigil-nolb and pgvigil-tx-nolb
#                                       run from ALT_BUILD=DIR's binary, to compare two builds in one run;
#                                       direct-standby: pgbench straight to the first standby;
#                                       haproxy-rr: HAProxy spreading connections over the three
#                                       servers, select-only workloads only)
#                                       PGVIGIL_MAX_IDLE=80 (pgvigil's proxy.pool.maxIdle: idle backends kept
#                                       between client sessions, as PgBouncer's session pool of 80 here keeps them)
#                                       PGVIGIL_IDLE_TIMEOUT_MS=600000 (proxy.pool.idleTimeout; PgBouncer's
#                                       server_idle_timeout, 600 s by default: idle backends of both live as long)
#                                       PGVIGIL_TX_POOL=20 (pgvigil transaction mode: backends per pool, i.e. per node)
#                                       IDLE_TARGET=pgvigil (or pgvigil-tx: idle clients hold no backend)
#                                       ONLY=REGEX (workload names to run, e.g. 'select-only (simple 8c|64c)')
#                                       TAIL_MS=N (also per round: the sampled transactions slower than N ms,
#                                       the 100 ms windows they end in and the worst window's share, and the
#                                       proxy threads' run-queue wait per transaction from /proc/*/schedstat:
#                                       spread or clustered slow transactions, and time a proxy thread was
#                                       runnable but not running; and the three PostgreSQL servers' CPU per
#                                       transaction, exited backends included, and the machine's runnable
#                                       tasks on average, sampled every 20 ms)
# PERF=DIR: a system-wide perf record (no call graphs) during each round, in
# DIR/WORKLOAD-TARGET-rN.data (e.g. perf report -i F --sort comm,dso,sym).
# CPU per transaction is the scheduler's exact figure (cgroup v1 cpuacct, a
# group per proxy, one for PostgreSQL, one for pgbench) where cpuacct is mounted
# writable, else (or with NO_CGROUP=1) the tick-sampled /proc/PID/stat figure;
# each round prints both ("ticks").
# Installs pgpool2, pgbouncer and haproxy with apt when missing. Run as root
# (PostgreSQL and PgBouncer run as the postgres user). Trust auth on loopback
# (pgvigil-proxy-bench writes its trust rule explicitly; the proxy never defaults to it).
# Every proxy runs in a session of its own (setsid), as a service would: with
# the kernel's autogroup scheduling (sched_autogroup_enabled) a session is one
# CPU group, and a proxy left in the session of this script and pgbench
# shares that group's CPU with pgbench (PostgreSQL has its own: pg_ctl calls
# setsid). SAME_SESSION=1 starts them as earlier runs did, in this session.
set -euo pipefail

BUILD=${1:-$(cd "$(dirname "$0")/.." && pwd)/build-proxy}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-2}
SCALE=${SCALE:-10}
IDLE=${IDLE:-200}
TARGETS=${TARGETS:-"direct pgvigil pgpool pgbouncer haproxy pgvigil-tx pgbouncer-tx"}
IDLE_TARGET=${IDLE_TARGET:-pgvigil}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${BASE_PORT:-25400}
P0=$BASE P1=$((BASE + 1)) P2=$((BASE + 2))
declare -A PORT=([direct]=$P0 [pgvigil]=$((BASE + 10)) [pgpool]=$((BASE + 11)) [pgbouncer]=$((BASE + 12)) [haproxy]=$((BASE + 13))
                 [pgvigil-tx]=$((BASE + 14)) [pgbouncer-tx]=$((BASE + 15))
                 [pgvigil-1t]=$((BASE + 16)) [pgvigil-tx-1t]=$((BASE + 17)) [pgvigil-noryw]=$((BASE + 18))
                 [pgvigil-nolb]=$((BASE + 19)) [direct-standby]=$P1
                 [haproxy-rr]=$((BASE + 20)) [pgvigil-tx-nolb]=$((BASE + 21))
                 [pgvigil-nolb-1t]=$((BASE + 22)) [pgvigil-tx-nolb-1t]=$((BASE + 23))
                 [pgvigil-nolb-2t]=$((BASE + 24)) [pgvigil-tx-nolb-2t]=$((BASE + 25))
                 [pgvigil-nolb-alt]=$((BASE + 26)) [pgvigil-tx-nolb-alt]=$((BASE + 27)))
ALT_BUILD=${ALT_BUILD:-}
declare -A PID=()
SETSID=setsid
[[ ${SAME_SESSION:-0} == 1 ]] && SETSID=

[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -x $BUILD/bin/pgvigil-proxy-bench ]] || { echo "build pgvigil-proxy-bench first (cmake --build $BUILD --target pgvigil-proxy-bench)" >&2; exit 1; }
need=()
command -v pgpool >/dev/null || need+=(pgpool2)
command -v pgbouncer >/dev/null || need+=(pgbouncer)
command -v haproxy >/dev/null || need+=(haproxy)
if ((${#need[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
  # Debian starts the packaged services; we run our own instances.
  for s in pgpool2 pgbouncer haproxy; do systemctl stop "$s" 2>/dev/null || service "$s" stop 2>/dev/null || true; done
fi

DIR=$(mktemp -d /tmp/pgvigil-bench-XXXXXX)
chown postgres: "$DIR"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  for t in "${!PID[@]}"; do kill "${PID[$t]}" 2>/dev/null || true; done
  sleep 1
  for n in 0 1 2; do [[ -d $DIR/n$n ]] && as_pg "$PGBIN/pg_ctl" -D "$DIR/n$n" -m immediate stop >/dev/null 2>&1 || true; done
  rm -rf "$DIR"
  if [[ -n ${CG:-} ]]; then
    sleep 1
    for g in "$CG"/*/; do [[ -d $g ]] && rmdir "$g" 2>/dev/null; done
    rmdir "$CG" 2>/dev/null || echo "cgroup $CG left: not empty" >&2
  fi
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== PostgreSQL 15: primary :$P0, standbys :$P1 :$P2 (data in $DIR)"
as_pg "$PGBIN/initdb" -D "$DIR/n0" -A trust -U postgres >/dev/null
cat >>"$DIR/n0/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $P0
unix_socket_directories = '$DIR'
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
hot_standby = on
max_wal_senders = 10
CONF
echo "host replication all 127.0.0.1/32 trust" >>"$DIR/n0/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$DIR/n0" -l "$DIR/n0.log" -w start >/dev/null
for n in 1 2; do
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p $P0 -U postgres -D "$DIR/n$n" -R -X stream >/dev/null
  echo "port = $((P0 + n))" >>"$DIR/n$n/postgresql.conf"
  as_pg "$PGBIN/pg_ctl" -D "$DIR/n$n" -l "$DIR/n$n.log" -w start >/dev/null
done
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p $P0 -U postgres postgres >/dev/null 2>&1
sleep 2

# start_pgvigil NAME FLAGS...: pgvigil-proxy-bench over the three nodes on PORT[NAME]
# (the binary of ALT_BUILD for a NAME ending in -alt).
start_pgvigil() {
  local name=$1 build=$BUILD
  shift
  [[ $name == *-alt ]] && build=$ALT_BUILD
  $SETSID "$build/bin/pgvigil-proxy-bench" --port "${PORT[$name]}" --nodes "127.0.0.1:$P0,127.0.0.1:$P1,127.0.0.1:$P2" \
    --pool-max-idle "${PGVIGIL_MAX_IDLE:-80}" --pool-idle-timeout "${PGVIGIL_IDLE_TIMEOUT_MS:-600000}" "$@" >"$DIR/$name.log" 2>&1 &
  PID[$name]=$!
}

start_targets() {
  local tx=(--pool-mode transaction --pool-size "${PGVIGIL_TX_POOL:-20}")
  # pgvigil as a user gets it (proxy.threads unset: half the CPUs, at least one).
  start_pgvigil pgvigil
  # pgvigil in transaction mode: 20 backends per pool (node), as PgBouncer's below.
  start_pgvigil pgvigil-tx "${tx[@]}"
  # The same two with one event loop (proxy.threads: 1) and with two.
  start_pgvigil pgvigil-1t --threads 1
  start_pgvigil pgvigil-tx-1t --threads 1 "${tx[@]}"
  # Session mode without read-your-writes (no LSN query after a transaction that wrote).
  start_pgvigil pgvigil-noryw --no-read-your-writes
  # Session mode with load balancing off: one server, as the peers here.
  start_pgvigil pgvigil-nolb --no-load-balance
  start_pgvigil pgvigil-tx-nolb --no-load-balance "${tx[@]}"
  # The two above with one event loop (one process-wide pool of 20, as PgBouncer's)
  # and with two (a pool of 10 per loop).
  start_pgvigil pgvigil-nolb-1t --threads 1 --no-load-balance
  start_pgvigil pgvigil-tx-nolb-1t --threads 1 --no-load-balance "${tx[@]}"
  start_pgvigil pgvigil-nolb-2t --threads 2 --no-load-balance
  start_pgvigil pgvigil-tx-nolb-2t --threads 2 --no-load-balance "${tx[@]}"
  # A/B of two builds in one run: pgvigil-nolb and pgvigil-tx-nolb from ALT_BUILD.
  if [[ -n $ALT_BUILD ]]; then
    start_pgvigil pgvigil-nolb-alt --no-load-balance
    start_pgvigil pgvigil-tx-nolb-alt --no-load-balance "${tx[@]}"
  fi
  # Pgpool-II, streaming replication mode with load balancing.
  mkdir -p "$DIR/pgpool"
  cat >"$DIR/pgpool/pgpool.conf" <<CONF
backend_clustering_mode = 'streaming_replication'
listen_addresses = '127.0.0.1'
port = ${PORT[pgpool]}
unix_socket_directories = '$DIR/pgpool'
pcp_listen_addresses = ''
pcp_port = $((BASE + 21))
pcp_socket_dir = '$DIR/pgpool'
backend_hostname0 = '127.0.0.1'
backend_port0 = $P0
backend_weight0 = 1
backend_hostname1 = '127.0.0.1'
backend_port1 = $P1
backend_weight1 = 1
backend_hostname2 = '127.0.0.1'
backend_port2 = $P2
backend_weight2 = 1
num_init_children = 80
max_pool = 1
load_balance_mode = on
sr_check_period = 0
health_check_period = 0
enable_pool_hba = off
pid_file_name = '$DIR/pgpool/pgpool.pid'
logdir = '$DIR/pgpool'
log_min_messages = warning
CONF
  : >"$DIR/pgpool/pcp.conf"
  $SETSID pgpool -n -f "$DIR/pgpool/pgpool.conf" -F "$DIR/pgpool/pcp.conf" >"$DIR/pgpool.log" 2>&1 &
  PID[pgpool]=$!
  # PgBouncer, session mode.
  cat >"$DIR/pgbouncer.ini" <<CONF
[databases]
postgres = host=127.0.0.1 port=$P0
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${PORT[pgbouncer]}
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = session
max_client_conn = 20000
default_pool_size = 80
logfile = $DIR/pgbouncer.log
CONF
  echo '"postgres" ""' >"$DIR/userlist.txt"
  chown postgres: "$DIR/pgbouncer.ini" "$DIR/userlist.txt"
  $SETSID runuser -u postgres -- pgbouncer "$DIR/pgbouncer.ini" >/dev/null 2>&1 &
  PID[pgbouncer]=$!
  # PgBouncer, transaction mode, 20 backends per pool.
  sed -e "s/^listen_port = .*/listen_port = ${PORT[pgbouncer-tx]}/" -e 's/^pool_mode = .*/pool_mode = transaction/' \
    -e 's/^default_pool_size = .*/default_pool_size = 20/' -e "s|^logfile = .*|logfile = $DIR/pgbouncer-tx.log|" \
    "$DIR/pgbouncer.ini" >"$DIR/pgbouncer-tx.ini"
  chown postgres: "$DIR/pgbouncer-tx.ini"
  $SETSID runuser -u postgres -- pgbouncer "$DIR/pgbouncer-tx.ini" >/dev/null 2>&1 &
  PID[pgbouncer-tx]=$!
  # HAProxy, tcp.
  cat >"$DIR/haproxy.cfg" <<CONF
global
  maxconn 5000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend pg
  bind 127.0.0.1:${PORT[haproxy]}
  default_backend primary
backend primary
  server p0 127.0.0.1:$P0 maxconn 200
CONF
  $SETSID haproxy -f "$DIR/haproxy.cfg" >/dev/null 2>&1 &
  PID[haproxy]=$!
  # HAProxy, tcp, connections spread round-robin over the three servers: the
  # peer that balances as pgvigil does (select-only workloads only: a write on a
  # standby fails).
  sed -e "s/:${PORT[haproxy]}\$/:${PORT[haproxy-rr]}/" -e 's/^backend primary$/backend primary\n  balance roundrobin/' \
    -e "s/^  server p0 .*/  server p0 127.0.0.1:$P0 maxconn 200\n  server p1 127.0.0.1:$P1 maxconn 200\n  server p2 127.0.0.1:$P2 maxconn 200/" \
    "$DIR/haproxy.cfg" >"$DIR/haproxy-rr.cfg"
  $SETSID haproxy -f "$DIR/haproxy-rr.cfg" >/dev/null 2>&1 &
  PID[haproxy-rr]=$!
  sleep 3
}

# CPU ticks of a process and its descendants: "user+system system".
cpu_ticks() {
  local root=$1 total=0 sys=0 p u s
  [[ -z $root ]] && { echo 0 0; return; }
  for p in $root $(pgrep -P "$root" 2>/dev/null || true); do
    [[ -r /proc/$p/stat ]] || continue
    read -r u s < <(awk '{print $14, $15}' "/proc/$p/stat")
    total=$((total + u + s)) sys=$((sys + s))
  done
  echo $total $sys
}

# Exact CPU time (the scheduler's, in ns) per process group, from cgroup v1
# cpuacct groups of this run: one per proxy target, one for the three
# PostgreSQL servers, one for pgbench. The tick-sampled figures of /proc/*/stat
# (this kernel: TICK_CPU_ACCOUNTING, 250 Hz) are kept only for the kernel share.
# cpuacct does not change scheduling (the cpu controller is a hierarchy of its own).
# CG stays empty when cpuacct is not mounted writable: then the ticks are used.
CG=
if [[ -w /sys/fs/cgroup/cpuacct && -z ${NO_CGROUP:-} ]]; then
  CG=/sys/fs/cgroup/cpuacct/pgvigil-bench-$$
  mkdir "$CG" 2>/dev/null || CG=
fi
# cg_join GROUP PID...: the processes (and their children now) into GROUP.
cg_join() {
  local g=$1 p c
  shift
  [[ -n $CG ]] || return 0
  mkdir -p "$CG/$g"
  for p in "$@"; do
    for c in $p $(pgrep -P "$p" 2>/dev/null || true); do echo "$c" >"$CG/$g/cgroup.procs" 2>/dev/null || true; done
  done
}
# cg_cpu GROUP: "ns user_ticks system_ticks" used by GROUP so far (0 0 0 without cgroups).
cg_cpu() {
  [[ -n $CG && -r $CG/$1/cpuacct.usage ]] || { echo 0 0 0; return; }
  echo "$(cat "$CG/$1/cpuacct.usage") $(awk '{print $2}' "$CG/$1/cpuacct.stat" | paste -sd' ')"
}

# CPU ticks of the three PostgreSQL servers: every process now, plus what the
# postmasters' exited children used (cutime, cstime); then their processes'
# voluntary and involuntary context switches (of processes alive at both ends
# of the round only: a session-mode backend born and gone within the round is
# not in them, so they describe pooled backends alone).
pg_ticks() {
  local total=0 vol=0 inv=0 n pm p t v i
  for n in 0 1 2; do
    pm=$(head -1 "$DIR/n$n/postmaster.pid" 2>/dev/null) || continue
    read -r t _ < <(cpu_ticks "$pm")
    total=$((total + t + $(awk '{sub(/^.*\) /, ""); print $14 + $15}' "/proc/$pm/stat" 2>/dev/null || echo 0)))
    for p in $(pgrep -P "$pm" 2>/dev/null || true); do
      read -r v i < <(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {i = $2} END {print v + 0, i + 0}' "/proc/$p/status" 2>/dev/null || echo 0 0)
      vol=$((vol + v)) inv=$((inv + i))
    done
  done
  echo $total $vol $inv
}

# runnable_sampler FILE: every 20 ms, the machine's runnable tasks
# (procs_running of /proc/stat, running ones included) appended to FILE,
# until killed; bash builtins only, so the sampling forks nothing.
runnable_sampler() {
  local k v
  [[ -p $DIR/sleep.fifo ]] || mkfifo "$DIR/sleep.fifo"
  exec 9<>"$DIR/sleep.fifo"  # read and write ends ours: a read waits its timeout out
  while :; do
    while read -r k v _; do [[ $k == procs_running ]] && { echo "$v" >>"$1"; break; }; done </proc/stat
    read -r -t 0.02 -u 9 _ || true
  done
}

# Nanoseconds the proxy's threads (and its children's) waited runnable on a
# run queue, and how many times they were put on a CPU (/proc/*/schedstat).
run_delay() {
  local root=$1 total=0 runs=0 p t d n
  [[ -z $root ]] && { echo 0 0; return; }
  for p in $root $(pgrep -P "$root" 2>/dev/null || true); do
    for t in /proc/$p/task/*/schedstat; do
      [[ -r $t ]] || continue
      read -r _ d n <"$t" && total=$((total + d)) runs=$((runs + n))
    done
  done
  echo $total $runs
}

# Of the sampled transactions in the pgbench logs $1.*: how many took longer
# than $2 ms, in how many 100 ms windows (by end time) they fall, and the share
# of them in the worst window.
tail_windows() {
  # Window keys are strings: awk would print a large numeric key as %.6g.
  cat "$1".* 2>/dev/null | awk -v ms="$2" '
    { all++; if (!first || $5 < first) first = $5 }
    $3 > ms * 1000 { n++; w = $5 "." int($6 / 100000); c[w]++; if (c[w] > worst) { worst = c[w]; at = w } }
    END { k = 0; for (w in c) k++;
          split(at, p, "."); printf "slow>%sms %d of %d sampled, in %d windows of 100 ms, worst window %.0f%% (%.1f s in)",
          ms, n, all, k, n ? 100 * worst / n : 0, n ? p[1] - first + p[2] / 10 : 0 }'
}

start_targets
for t in "${!PID[@]}"; do cg_join "$t" "${PID[$t]}"; done
for n in 0 1 2; do cg_join postgres "$(head -1 "$DIR/n$n/postmaster.pid")"; done
[[ -n $CG ]] && mkdir -p "$CG/pgbench"
set +e  # one failed measurement must not end the run
HZ=$(getconf CLK_TCK)
declare -A SUM_TPS=() SUM_P99=() SUM_CPU=() SUM_SYS=()
WORKLOADS=("select-only simple 8c|-S -M simple -c 8 -j 2"
           "select-only extended 8c|-S -M extended -c 8 -j 2"
           "select-only 64c|-S -M simple -c 64 -j 2"
           "tpcb-like 8c|-M simple -c 8 -j 2"
           "select-only -C 8c|-S -M simple -C -c 8 -j 2")
if [[ -n ${ONLY:-} ]]; then
  kept=()
  for w in "${WORKLOADS[@]}"; do [[ ${w%%|*} =~ $ONLY ]] && kept+=("$w"); done
  WORKLOADS=("${kept[@]}")
fi
for w in "${WORKLOADS[@]}"; do
  name=${w%%|*} args=${w#*|}
  for ((r = 1; r <= ROUNDS; r++)); do
    for t in $TARGETS; do
      logp="$DIR/log-$t"
      rm -f "$logp".*
      read -r before before_sys < <(cpu_ticks "${PID[$t]:-}")
      read -r cg_before cgu_before cgs_before < <(cg_cpu "$t")
      read -r cgpg_before _ < <(cg_cpu postgres)
      read -r cgb_before _ < <(cg_cpu pgbench)
      read -r rq_before runs_before < <(run_delay "${PID[$t]:-}")
      read -r pg_before pgv_before pgi_before < <(pg_ticks)
      # shellcheck disable=SC2086
      perf_pid= rs_pid=
      if [[ -n ${TAIL_MS:-} ]]; then
        rm -f "$DIR/runnable"
        runnable_sampler "$DIR/runnable" &
        rs_pid=$!
      fi
      if [[ -n ${PERF:-} ]]; then
        mkdir -p "$PERF"
        perf record -a -q -o "$PERF/${name// /_}-$t-r$r.data" -- sleep "$((DURATION > 2 ? DURATION - 1 : 1))" >/dev/null 2>&1 &
        perf_pid=$!
      fi
      out=$({ [[ -z $CG ]] || echo "$BASHPID" >"$CG/pgbench/cgroup.procs"; } && cd "$DIR" && pgbench -n $args -T "$DURATION" -h 127.0.0.1 -p "${PORT[$t]}" -U postgres \
              -l --sampling-rate=0.2 --log-prefix="$logp" postgres 2>&1) || true
      [[ -n $perf_pid ]] && wait "$perf_pid"
      [[ -n $rs_pid ]] && { kill "$rs_pid"; wait "$rs_pid" 2>/dev/null; }
      read -r after after_sys < <(cpu_ticks "${PID[$t]:-}")
      read -r cg_after cgu_after cgs_after < <(cg_cpu "$t")
      read -r cgpg_after _ < <(cg_cpu postgres)
      read -r cgb_after _ < <(cg_cpu pgbench)
      read -r rq_after runs_after < <(run_delay "${PID[$t]:-}")
      read -r pg_after pgv_after pgi_after < <(pg_ticks)
      tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
      txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
      p99=$(cat "$logp".* 2>/dev/null | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int(NR*0.99)]/1000; else print 0}')
      cpu_us=0 sys_us=0 tick_us=
      if [[ -n ${PID[$t]:-} && ${txns:-0} -gt 0 ]]; then
        cpu_us=$(awk -v d=$((after - before)) -v hz="$HZ" -v n="$txns" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
        sys_us=$(awk -v d=$((after_sys - before_sys)) -v hz="$HZ" -v n="$txns" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
        tick_us=$cpu_us
        if [[ -n $CG && $cg_after -gt 0 ]]; then
          # Exact CPU; the kernel's share of it as the ticks of cpuacct.stat split it.
          cpu_us=$(awk -v d=$((cg_after - cg_before)) -v n="$txns" 'BEGIN {printf "%.1f", d / 1000 / n}')
          sys_us=$(awk -v c="$cpu_us" -v u=$((cgu_after - cgu_before)) -v k=$((cgs_after - cgs_before)) \
                     'BEGIN {printf "%.1f", (u + k) ? c * k / (u + k) : 0}')
        fi
      fi
      SUM_TPS["$name|$t"]=$(awk -v a="${SUM_TPS["$name|$t"]:-0}" -v b="${tps:-0}" 'BEGIN {print a + b}')
      SUM_P99["$name|$t"]=$(awk -v a="${SUM_P99["$name|$t"]:-0}" -v b="${p99:-0}" 'BEGIN {print a + b}')
      SUM_CPU["$name|$t"]=$(awk -v a="${SUM_CPU["$name|$t"]:-0}" -v b="$cpu_us" 'BEGIN {print a + b}')
      SUM_SYS["$name|$t"]=$(awk -v a="${SUM_SYS["$name|$t"]:-0}" -v b="$sys_us" 'BEGIN {print a + b}')
      printf '  %-26s round %d %-13s tps %9.1f  p99 %7.2f ms  cpu %6s us/txn (kernel %s; ticks %s)\n' "$name" "$r" "$t" "${tps:-0}" "${p99:-0}" "$cpu_us" "$sys_us" "${tick_us:--}" >&2
      if [[ -n ${TAIL_MS:-} ]]; then
        rq_us=-
        [[ -n ${PID[$t]:-} && ${txns:-0} -gt 0 ]] &&
          rq_us=$(awk -v d=$((rq_after - rq_before)) -v r=$((runs_after - runs_before)) -v n="$txns" \
                    'BEGIN {printf "%.2f us/txn, %.2f runs/txn", d / 1000 / n, r / n}')
        pg_us=$(awk -v d=$((pg_after - pg_before)) -v hz="$HZ" -v n="${txns:-0}" -v v=$((pgv_after - pgv_before)) -v i=$((pgi_after - pgi_before)) \
                  'BEGIN {if (n) printf "%.1f us/txn, switches %.2f voluntary %.2f involuntary per txn", d / hz * 1e6 / n, v / n, i / n; else print "-"}')
        exact=
        [[ -n $CG && ${txns:-0} -gt 0 ]] &&
          exact=$(awk -v p=$((cgpg_after - cgpg_before)) -v b=$((cgb_after - cgb_before)) -v n="$txns" \
                    'BEGIN {printf "; exact CPU us/txn: PostgreSQL %.1f, pgbench %.1f", p / 1000 / n, b / 1000 / n}')
        runnable=$(awk '{s += $1; n++} END {if (n) printf "; runnable tasks %.1f on average (%d samples)", s / n, n}' "$DIR/runnable" 2>/dev/null)
        printf '  %-26s         %-13s %s; proxy run-queue wait %s; PostgreSQL CPU %s%s%s\n' "" "$t" "$(tail_windows "$logp" "$TAIL_MS")" "$rq_us" "$pg_us" "$exact" "$runnable" >&2
      fi
    done
  done
done

echo
printf '| workload | target | TPS | x direct | p99 ms | x direct | proxy CPU us/txn | of it kernel |\n|---|---|---:|---:|---:|---:|---:|---:|\n'
for w in "${WORKLOADS[@]}"; do
  name=${w%%|*}
  d_tps=$(awk -v s="${SUM_TPS["$name|direct"]:-0}" -v n="$ROUNDS" 'BEGIN {print s / n}')
  d_p99=$(awk -v s="${SUM_P99["$name|direct"]:-0}" -v n="$ROUNDS" 'BEGIN {print s / n}')
  for t in $TARGETS; do
    awk -v name="$name" -v t="$t" -v n="$ROUNDS" -v tps="${SUM_TPS["$name|$t"]:-0}" -v p99="${SUM_P99["$name|$t"]:-0}" \
        -v cpu="${SUM_CPU["$name|$t"]:-0}" -v sys="${SUM_SYS["$name|$t"]:-0}" -v dt="$d_tps" -v dp="$d_p99" 'BEGIN {
      tps /= n; p99 /= n; cpu /= n; sys /= n;
      r1 = dt > 0 ? tps / dt : 0; r2 = dp > 0 ? p99 / dp : 0;
      c = t == "direct" ? "-" : sprintf("%.1f", cpu); k = t == "direct" ? "-" : sprintf("%.1f", sys);
      printf "| %s | %s | %.0f | %.2f | %.2f | %.2f | %s | %s |\n", name, t, tps, r1, p99, r2, c, k }'
  done
done

if [[ $IDLE -gt 0 && -n ${PID[$IDLE_TARGET]:-} ]]; then
  echo
  rss0=$(awk '/VmRSS/ {print $2}' "/proc/${PID[$IDLE_TARGET]}/status")
  python3 "$HERE/proxy/idle_clients.py" "${PORT[$IDLE_TARGET]}" "$IDLE" 15 >"$DIR/idle.out" 2>&1 &
  ipid=$!
  for _ in $(seq 1 120); do [[ -s $DIR/idle.out ]] && break; sleep 1; done
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/${PID[$IDLE_TARGET]}/status")
  echo "idle clients connected to $IDLE_TARGET: $(head -1 "$DIR/idle.out"); $IDLE_TARGET RSS ${rss0} kB before, ${rss} kB with them ($(( (rss - rss0) * 1024 / (IDLE > 0 ? IDLE : 1) )) bytes/client)"
  wait $ipid || true
fi
