#!/usr/bin/env bash
# Client libraries' own test suites, directly against PostgreSQL 15 and through
# pgvigil, to find what applications would notice (issue 15). The suites are
# other projects' code: point this script at checkouts you made; nothing of
# theirs is copied here.
#
#   bench/client_suites.sh [--psycopg DIR] [--node-postgres DIR] [--pg-regress DIR]
#                          [--build DIR] [--modes "direct lb nolb nopool"] [--out DIR]
#
#   --psycopg DIR        a psycopg 3 checkout at the tag matching the installed
#                        python3-psycopg (Debian 12: 3.1.7); runs DIR/tests with
#                        pytest against the installed library
#   --node-postgres DIR  a node-postgres checkout (e.g. tag pg@8.23.0); runs every
#                        packages/pg/test/integration/**/*-tests.js file with node;
#                        the package's runtime dependencies come from the npm
#                        registry into OUT/node_modules
#   --pg-regress DIR     PostgreSQL 15's source tree (the server's version,
#                        unpacked; nothing of it is built but
#                        src/test/regress/regress.c, with PGXS from
#                        postgresql-server-dev-15, into OUT/regress-lib);
#                        runs its parallel schedule (REGRESS_SCHEDULE) with
#                        pg_regress and psql, as the postgres user, each mode
#                        on a cluster of its own (roles and tablespaces the
#                        suite leaves behind are cluster-wide); keeps each
#                        mode's regression.diffs and results in OUT/pg-regress-MODE
#   --modes              direct: PostgreSQL's primary; lb: pgvigil with read
#                        balancing (the default); nolb: pgvigil, balancing off;
#                        nopool: balancing off and no idle backend pool
#                        (proxy.pool.maxIdle 0: every client gets a new backend,
#                        hence a new pid, as with PostgreSQL); tx: pgvigil in
#                        transaction pooling mode (proxy.pool.mode transaction,
#                        balancing on, session state refused: the defaults);
#                        tx-pin: the same with proxy.pool.sessionState pin;
#                        pgbouncer-tx: PgBouncer (pool_mode = transaction, 20
#                        backends per pool) to the primary, the yardstick for tx
#
# Sets up a primary and one asynchronous streaming standby (trust on loopback,
# max_prepared_transactions 10) and a pgvigil proxy (pgvigil-proxy-bench) per
# proxy mode in front of them, each running the sidecar's health checker every second (so
# the standby's replay LSN, which read-your-writes needs, is as in a cluster).
# PgBouncer (pgbouncer-tx) runs as the postgres user with trust auth and its
# other settings at their defaults, as in bench/proxy.sh.
# Prints, per suite: tests run directly, passed directly, and
# each test that passes directly but not through a proxy, per mode. Results stay
# in OUT (default /tmp/pgvigil-client-suites). Needs root (PostgreSQL runs as
# postgres), python3-pytest and friends from Debian, node and npm.
# Env: BASE_PORT (25600), SUITE_TIMEOUT (seconds per suite run, 1800),
#      TEST_TIMEOUT (seconds per node test file / pytest test, 120),
#      PSYCOPG_TESTS (pytest paths or node ids, default tests),
#      LIST (differences printed per mode, 40),
#      REGRESS_SCHEDULE (parallel_schedule; serial: give a file listing "test: NAME" lines),
#      REGRESS_TESTS (names of test files to run instead of a schedule; the
#      suite's files depend on earlier ones: test_setup and create_index first).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$HERE/../build
PSYCOPG="" NODEPG="" PGREGRESS="" MODES="direct lb nolb nopool" OUT=/tmp/pgvigil-client-suites
while (($#)); do
  case $1 in
    --psycopg) PSYCOPG=$(cd "$2" && pwd); shift 2 ;;
    --node-postgres) NODEPG=$(cd "$2" && pwd); shift 2 ;;
    --pg-regress) PGREGRESS=$(cd "$2" && pwd); shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) sed -n "2,/^set -euo/p" "$0" | sed "\$d"; exit 2 ;;
  esac
done
[[ -n $PSYCOPG || -n $NODEPG || -n $PGREGRESS ]] || { echo "give --psycopg DIR, --node-postgres DIR and/or --pg-regress DIR" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
BIN=$BUILD/bin/pgvigil-proxy-bench
[[ -x $BIN ]] || { echo "build pgvigil-proxy-bench first (cmake --build $BUILD --target pgvigil-proxy-bench)" >&2; exit 1; }
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BASE=${BASE_PORT:-25600}
P0=$BASE P1=$((BASE + 1))
declare -A PORT=([direct]=$P0 [lb]=$((BASE + 10)) [nolb]=$((BASE + 11)) [nopool]=$((BASE + 12))
                 [tx]=$((BASE + 13)) [tx-pin]=$((BASE + 14)) [pgbouncer-tx]=$((BASE + 15)))
for m in $MODES; do
  [[ -n ${PORT[$m]:-} ]] || { echo "--modes: '$m' is not one of ${!PORT[*]}" >&2; exit 2; }
done
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1800}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
PY=/usr/bin/python3
PIDS=()

# What the suites need: Debian packages only (and the npm registry for node-postgres).
need=()
if [[ -n $PSYCOPG ]]; then
  for p in python3-psycopg python3-psycopg-pool python3-pytest python3-pytest-timeout python3-anyio \
    python3-dnspython python3-pytest-asyncio; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
fi
[[ -n $NODEPG ]] && ! command -v node >/dev/null && need+=(nodejs npm)
[[ -n $PGREGRESS ]] && ! dpkg -s postgresql-server-dev-15 >/dev/null 2>&1 && need+=(postgresql-server-dev-15)
[[ " $MODES " == *" pgbouncer-tx "* ]] && ! command -v pgbouncer >/dev/null && need+=(pgbouncer)
if ((${#need[@]})); then DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null; fi

mkdir -p "$OUT"
DIR=""
as_pg() { runuser -u postgres -- "$@"; }
# Stops what cluster_up and targets_up started: the proxies and PgBouncer by
# pid, PostgreSQL by pg_ctl.
cluster_down() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  [[ -n $DIR ]] || return 0
  for n in 0 1; do [[ -d $DIR/n$n ]] && as_pg "$PGBIN/pg_ctl" -D "$DIR/n$n" -m immediate stop >/dev/null 2>&1 || true; done
  rm -rf "$DIR"
  DIR=""
}
trap cluster_down EXIT

cluster_up() {
  DIR=$(mktemp -d /tmp/pgvigil-suites-XXXXXX)
  chown postgres: "$DIR"
  echo "== PostgreSQL 15: primary :$P0, streaming standby :$P1 (data in $DIR)"
  as_pg "$PGBIN/initdb" -D "$DIR/n0" -A trust -U postgres >/dev/null
  cat >>"$DIR/n0/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $P0
unix_socket_directories = '$DIR'
max_connections = 400
max_prepared_transactions = 10
fsync = off
hot_standby = on
max_wal_senders = 10
wal_level = logical
max_replication_slots = 10
CONF
  echo "host replication all 127.0.0.1/32 trust" >>"$DIR/n0/pg_hba.conf"
  as_pg "$PGBIN/pg_ctl" -D "$DIR/n0" -l "$DIR/n0.log" -w start >/dev/null
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p $P0 -U postgres -D "$DIR/n1" -R -X stream >/dev/null
  echo "port = $P1" >>"$DIR/n1/postgresql.conf"
  as_pg "$PGBIN/pg_ctl" -D "$DIR/n1" -l "$DIR/n1.log" -w start >/dev/null
}

# The proxies (and PgBouncer) of the modes given, in front of cluster_up's servers.
targets_up() {
  local m args
  for m in lb nolb nopool tx tx-pin; do
    [[ " $* " == *" $m "* ]] || continue
    args=(--port "${PORT[$m]}" --nodes "127.0.0.1:$P0,127.0.0.1:$P1" --health-check 1000)
    [[ $m == nolb || $m == nopool ]] && args+=(--no-load-balance)
    [[ $m == nopool ]] && args+=(--pool-max-idle 0)
    [[ $m == tx* ]] && args+=(--pool-mode transaction)
    [[ $m == tx-pin ]] && args+=(--session-state pin)
    "$BIN" "${args[@]}" >"$OUT/proxy-$m.log" 2>&1 &
    PIDS+=($!)
  done
  if [[ " $* " == *" pgbouncer-tx "* ]]; then
    cat >"$DIR/pgbouncer-tx.ini" <<CONF
[databases]
* = host=127.0.0.1 port=$P0
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${PORT[pgbouncer-tx]}
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
logfile = $OUT/pgbouncer-tx.log
CONF
    echo '"postgres" ""' >"$DIR/userlist.txt"
    : >"$OUT/pgbouncer-tx.log"
    chown postgres: "$DIR/pgbouncer-tx.ini" "$DIR/userlist.txt" "$OUT/pgbouncer-tx.log"
    runuser -u postgres -- pgbouncer "$DIR/pgbouncer-tx.ini" >/dev/null 2>&1 &
    PIDS+=($!)
  fi
  sleep 1
}

if [[ -n $PSYCOPG || -n $NODEPG ]]; then
  cluster_up
  targets_up $MODES
fi

# One line per test: "<id> <pass|fail|skip>", sorted, in $OUT/<suite>-<mode>.txt.
run_psycopg() {
  local mode=$1 port=${PORT[$1]}
  local xml=$OUT/psycopg-$mode.xml
  echo "== psycopg ($($PY -c 'import psycopg; print(psycopg.__version__)')) $mode :$port"
  # --tb=native: pytest 7.2's own failure report parses the test's source,
  # which Python 3.11.2 can fail at ("AST constructor recursion depth
  # mismatch"), ending the whole run; the native traceback does not.
  local extra=()
  $PY -c 'import pytest_timeout' 2>/dev/null && extra+=(--timeout "$TEST_TIMEOUT")
  # psycopg's conftest refuses to run after a run that did not finish (its
  # "segfault" mark in the cache): each run gets a fresh cache.
  rm -rf "$OUT/.pytest_cache-$mode" "$xml"
  (cd "$PSYCOPG" && PSYCOPG_TEST_DSN="host=127.0.0.1 port=$port user=postgres dbname=postgres" \
    timeout "$SUITE_TIMEOUT" $PY -m pytest ${PSYCOPG_TESTS:-tests} -q -o cache_dir="$OUT/.pytest_cache-$mode" \
    -m "not slow and not timing and not flakey" "${extra[@]}" --junitxml="$xml" --tb=native \
    >"$OUT/psycopg-$mode.log" 2>&1) || true
  $PY - "$xml" >"$OUT/psycopg-$mode.txt" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    sys.exit(0)
for tc in root.iter("testcase"):
    tid = tc.get("classname", "") + "::" + tc.get("name", "")
    st = "pass"
    for child in tc:
        if child.tag in ("failure", "error"): st = "fail"
        elif child.tag == "skipped" and st == "pass": st = "skip"
    print(tid + "\t" + st)
PYEOF
  sort -o "$OUT/psycopg-$mode.txt" "$OUT/psycopg-$mode.txt"
}

node_deps() {
  [[ -d $OUT/node_modules/pg-protocol ]] && return 0
  echo "== node-postgres: installing its runtime dependencies from the npm registry into $OUT"
  local deps
  deps=$(node -e 'const p=require(process.argv[1]); for (const [k,v] of Object.entries(p.dependencies||{})) console.log(k+"@"+v)' \
    "$NODEPG/packages/pg/package.json")
  (cd "$OUT" && npm install --no-save --no-package-lock --no-audit --no-fund $deps async@2.6.4 bluebird@3.7.2 co@4.6.0 \
    pg-copy-streams@0.3.0 >"$OUT/npm.log" 2>&1)
}

run_nodepg() {
  local mode=$1 port=${PORT[$1]}
  echo "== node-postgres $mode :$port"
  node_deps
  : >"$OUT/node-postgres-$mode.txt"
  : >"$OUT/node-postgres-$mode.log"
  local f rc
  while read -r f; do
    rc=0
    (cd "$NODEPG/packages/pg" && NODE_PATH=$OUT/node_modules PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres \
      PGDATABASE=postgres timeout "$TEST_TIMEOUT" node "$f" >>"$OUT/node-postgres-$mode.log" 2>&1) || rc=$?
    printf '%s\t%s\n' "$f" "$([[ $rc == 0 ]] && echo pass || echo fail)" >>"$OUT/node-postgres-$mode.txt"
  done < <(cd "$NODEPG/packages/pg" && find test/integration -name '*-tests.js' | sort)
  sort -o "$OUT/node-postgres-$mode.txt" "$OUT/node-postgres-$mode.txt"
}

# regress.so from the tree's regress.c (PGXS), beside the installed contrib
# modules the suite loads from the same directory (--dlpath).
regress_lib() {
  local lib=$OUT/regress-lib
  [[ -f $lib/regress.so ]] && return 0
  echo "== pg_regress: building regress.so from $PGREGRESS/src/test/regress/regress.c into $lib"
  rm -rf "$lib" && mkdir -p "$lib/build"
  cp "$PGREGRESS/src/test/regress/regress.c" "$lib/build/"
  printf 'MODULES = regress\nPG_CONFIG = %s\nPGXS := $(shell $(PG_CONFIG) --pgxs)\ninclude $(PGXS)\n' \
    "$PGBIN/pg_config" >"$lib/build/Makefile"
  make -C "$lib/build" >"$lib/build.log" 2>&1
  cp "$lib/build/regress.so" "$lib/"
  local so pkglib
  pkglib=$("$PGBIN/pg_config" --pkglibdir)
  for so in autoinc refint; do ln -sf "$pkglib/$so.so" "$lib/$so.so"; done
}

# One mode of PostgreSQL's regression suite, on a cluster of its own.
run_pgregress() {
  local mode=$1 port=${PORT[$1]} res=$OUT/pg-regress-$1
  local src=$PGREGRESS/src/test/regress
  regress_lib
  cluster_up
  targets_up "$mode"
  rm -rf "$res" && mkdir -p "$res" && chown postgres: "$res"
  local what=(--schedule="${REGRESS_SCHEDULE:-$src/parallel_schedule}")
  [[ -n ${REGRESS_TESTS:-} ]] && read -ra what <<<"$REGRESS_TESTS"
  echo "== pg_regress $mode :$port (results in $res)"
  local t0=$SECONDS
  (cd "$res" && timeout "$SUITE_TIMEOUT" runuser -u postgres -- \
    /usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress --bindir="$PGBIN" \
    --inputdir="$src" --outputdir="$res" --dlpath="$OUT/regress-lib" \
    --host=127.0.0.1 --port="$port" --user=postgres "${what[@]}" >"$res/pg_regress.log" 2>&1) || true
  echo "   $((SECONDS - t0)) s: $(grep -m1 -E 'tests (passed|failed)|of [0-9]+ tests' "$res/pg_regress.log" | tr -s ' ' || echo 'no summary')"
  # "test NAME ... ok 12 ms" (serial) or "     NAME ... FAILED 40 ms" (in a group)
  sed -nE 's/^(test )? *([A-Za-z0-9_.+-]+) +\.\.\. +(ok|FAILED|failed \(ignored\)).*/\2\t\3/p' "$res/pg_regress.log" |
    sed -E 's/\tok$/\tpass/; s/\tFAILED$/\tfail/; s/\tfailed \(ignored\)$/\tfail/' | sort >"$OUT/pg-regress-$mode.txt"
  [[ -f $OUT/proxy-$mode.log ]] && cp "$OUT/proxy-$mode.log" "$res/proxy.log"
  cp "$DIR/n0.log" "$res/primary.log"; cp "$DIR/n1.log" "$res/standby.log"
  cluster_down
}

for m in $MODES; do
  [[ -n $PSYCOPG ]] && run_psycopg "$m"
  [[ -n $NODEPG ]] && run_nodepg "$m"
  [[ -n $PGREGRESS ]] && run_pgregress "$m"
done

echo
echo "== results (in $OUT)"
for suite in psycopg node-postgres pg-regress; do
  d=$OUT/$suite-direct.txt
  [[ -s $d ]] || continue
  # "<test id>\t<pass|fail|skip>" per line; ids may hold spaces.
  run=$(awk -F'\t' '$2 != "skip"' "$d" | wc -l)
  ok=$(awk -F'\t' '$2 == "pass"' "$d" | wc -l)
  echo "$suite: $run run directly, $ok pass directly"
  for m in $MODES; do
    [[ $m == direct || ! -f $OUT/$suite-$m.txt ]] && continue
    diff=$(awk -F'\t' 'NR == FNR { if ($2 == "pass") direct[$1] = 1; next }
                       ($1 in direct) && $2 != "pass" { print $1 " (" $2 ")"; seen[$1] = 1 }
                       { got[$1] = 1 }
                       END { for (t in direct) if (!(t in got)) print t " (not run)" }' "$d" "$OUT/$suite-$m.txt" | sort)
    n=$(printf '%s' "$diff" | grep -c . || true)
    printf '%s\n' "$diff" >"$OUT/$suite-$m.diff"
    echo "  through $m: $n pass directly but not through the proxy (all in $OUT/$suite-$m.diff)"
    # sed, not head: head would stop reading, and printf's SIGPIPE end the script (pipefail)
    [[ -n $diff ]] && printf '%s\n' "$diff" | sed -n "1,${LIST:-40}s/^/    /p"
    if ((n > ${LIST:-40})); then echo "    ... and $((n - ${LIST:-40})) more"; fi
  done
done
