#!/usr/bin/env bash
# Where reads go when writes are rare, with read-your-writes on (issue 15):
# a primary and two asynchronous streaming standbys on loopback, pgvigil in
# front of them (pgvigil-proxy-bench running the sidecar's health checker, so
# the standbys' replay LSN is as fresh as healthCheck.period), and pgbench
# clients that each run 1 write (an UPDATE) per N reads (a SELECT by key), as
# weighted scripts, at RATE transactions per second in all (pgbench -R).
# Reads per node are counted on the servers (pg_stat_user_tables.idx_scan of
# pgbench_accounts: one index scan per read and per write; the writes, counted
# by pgbench, are taken off the primary's).
# For each N and each setting (readYourWrites on, then off for comparison),
# ROUNDS rounds; prints transactions per second and the share of reads each
# node served.
#
# After a session's write, its reads go to the primary until a health check
# has seen a standby replay past that write (up to about one period), so the
# share that stays on the primary grows with how often each session writes
# compared with healthCheck.period: at RATE 2000 and 8 clients, N = 1000 is
# one write per client every 4 s.
#
#   bench/read_spread.sh [BUILD_DIR]   env: DURATION=15 ROUNDS=2 SCALE=10 CLIENTS=8
#                                           RATE=2000 RATIOS="10 100 1000 10000" HEALTH_MS=1000
#                                           SETTINGS="ryw noryw" BASE_PORT=25500
# Run as root (PostgreSQL runs as postgres). Trust auth on loopback.
set -euo pipefail

BUILD=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-2}
SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-8}
RATIOS=${RATIOS:-"10 100 1000 10000"}
RATE=${RATE:-2000}
HEALTH_MS=${HEALTH_MS:-1000}
SETTINGS=${SETTINGS:-"ryw noryw"}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BASE=${BASE_PORT:-25500}
P0=$BASE P1=$((BASE + 1)) P2=$((BASE + 2))
declare -A PORT=([ryw]=$((BASE + 10)) [noryw]=$((BASE + 11)))
PIDS=()

[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
BIN=$BUILD/bin/pgvigil-proxy-bench
[[ -x $BIN ]] || { echo "build pgvigil-proxy-bench first (cmake --build $BUILD --target pgvigil-proxy-bench)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/pgvigil-read-spread-XXXXXX)
chown postgres: "$DIR"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for n in 0 1 2; do [[ -d $DIR/n$n ]] && as_pg "$PGBIN/pg_ctl" -D "$DIR/n$n" -m immediate stop >/dev/null 2>&1 || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

echo "== PostgreSQL 15: primary :$P0, standbys :$P1 :$P2 (data in $DIR)"
as_pg "$PGBIN/initdb" -D "$DIR/n0" -A trust -U postgres >/dev/null
cat >>"$DIR/n0/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $P0
unix_socket_directories = '$DIR'
max_connections = 200
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

# No idle pool: each pgbench backend ends with its client and so reports its
# statistics at once.
for s in $SETTINGS; do
  args=(--port "${PORT[$s]}" --nodes "127.0.0.1:$P0,127.0.0.1:$P1,127.0.0.1:$P2" --health-check "$HEALTH_MS"
    --pool-max-idle 0)
  [[ $s == noryw ]] && args+=(--no-read-your-writes)
  "$BIN" "${args[@]}" >"$DIR/proxy-$s.log" 2>&1 &
  PIDS+=($!)
done
sleep 2

cat >"$DIR/read.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
SQL
cat >"$DIR/write.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
SQL

# Index scans of pgbench_accounts on node n, as that server counts them.
scans() {
  psql -h 127.0.0.1 -p $((P0 + $1)) -U postgres -d postgres -XAtc \
    "SELECT coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'pgbench_accounts'"
}

printf '\n%-6s %-6s %-6s %9s %8s %8s %8s %8s\n' round N ryw tps reads primary standby1 standby2
for round in $(seq "$ROUNDS"); do
  for n in $RATIOS; do
    for s in $SETTINGS; do
      sleep 1
      b0=$(scans 0) b1=$(scans 1) b2=$(scans 2)
      out=$(pgbench -n -h 127.0.0.1 -p "${PORT[$s]}" -U postgres -c "$CLIENTS" -j 2 -T "$DURATION" -R "$RATE" \
        -f "$DIR/read.sql@$n" -f "$DIR/write.sql@1" postgres 2>&1) || { echo "$out" >&2; exit 1; }
      sleep 2  # the backends have ended and reported
      a0=$(scans 0) a1=$(scans 1) a2=$(scans 2)
      writes=$(awk '/^SQL script 2:/ { s = 1 } s && /- [0-9]+ transactions/ { print $2; exit }' <<<"$out")
      tps=$(awk '/^tps = / { printf "%.0f", $3; exit }' <<<"$out")
      r0=$((a0 - b0 - ${writes:-0})) r1=$((a1 - b1)) r2=$((a2 - b2))
      total=$((r0 + r1 + r2))
      pct() { awk -v a="$1" -v t="$total" 'BEGIN { printf "%.1f%%", t ? 100 * a / t : 0 }'; }
      printf '%-6s %-6s %-6s %9s %8s %8s %8s %8s\n' "$round" "$n" "$([[ $s == ryw ]] && echo on || echo off)" \
        "$tps" "$total" "$(pct $r0)" "$(pct $r1)" "$(pct $r2)"
    done
  done
done
echo
echo "reads: SELECTs counted on the servers; N: reads per write in each client's mix;"
echo "clients: $CLIENTS persistent connections, $RATE transactions/s in all; health check every $HEALTH_MS ms;"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
