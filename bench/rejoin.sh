#!/usr/bin/env bash
# bench/rejoin.sh — time to rejoin an old primary as a standby: pg_rewind versus
# pg_basebackup, both driven through the sidecar's REST API (POST /v1/node/rebuild),
# on a database of about SIZE_GB (default 1) built with pgbench.
#
#   bench/rejoin.sh [-s SIZE_GB] [-b SIDECAR_BIN] [-w WRITE_SECONDS]
#
# Two PostgreSQL 15 servers on 127.0.0.1 (data checksums on), two pgvigil-sidecar
# processes (--no-proxy --no-watchdog). Round 1: promote the standby, write for
# WRITE_SECONDS on the new primary (and once on the old one, so it diverges), rebuild
# the old primary with method=rewind. Round 2: the same the other way round with
# method=basebackup. Prints each operation's own duration (durationMs: accepted ->
# stopped, copied, started, streaming, old data removed) and the ratio; the goal is
# rewind <= 10 % of basebackup.
# KEEP=1 keeps the directory (sidecar logs with per-step times); PGBENCH_SCALE=N
# overrides the size for a quick run.
# Needs root (runs PostgreSQL as postgres). Cleans up everything it started.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$HERE/..
SIDECAR=$ROOT/build/bin/pgvigil-sidecar
SIZE_GB=1
WRITE_SECONDS=10
while (($#)); do
  case $1 in
    -s) SIZE_GB=$2; shift 2 ;;
    -b) SIDECAR=$2; shift 2 ;;
    -w) WRITE_SECONDS=$2; shift 2 ;;
    *) echo "usage: $0 [-s SIZE_GB] [-b SIDECAR_BIN] [-w WRITE_SECONDS]"; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "needs root"; exit 2; }
[[ -x $SIDECAR ]] || { echo "no sidecar binary at $SIDECAR (build first, or -b)"; exit 2; }
command -v curl >/dev/null || { echo "needs curl"; exit 2; }
BIN=/usr/lib/postgresql/15/bin
PGBENCH=$BIN/pgbench
[[ -x $PGBENCH ]] || PGBENCH=$(command -v pgbench)

DIR=$(mktemp -d /tmp/pgvigil-rejoin.XXXXXX); chmod 0755 "$DIR"
SIDECAR_PIDS=()
cleanup() {
  for p in "${SIDECAR_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${SIDECAR_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for n in 0 1; do
    [[ -f $DIR/node$n/data/postmaster.pid ]] &&
      runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/node$n/data" -m immediate -w stop >/dev/null 2>&1
  done
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { runuser -u postgres -- "$@"; }
PORT=($(free_port) $(free_port))
API=($(free_port) $(free_port))
OTHER=($(free_port) $(free_port) $(free_port) $(free_port) $(free_port) $(free_port))  # unused parts' ports
mkdir -p "$DIR/secrets"
echo "bench-super-$$" >"$DIR/secrets/postgres.password"
echo "bench-repl-$$" >"$DIR/secrets/repl.password"
echo "bench-token-$$" >"$DIR/secrets/api.token"
chmod 0600 "$DIR/secrets/"*   # secrets readable by others are refused
# initdb runs as postgres: it reads a copy of the password of its own.
install -m 0600 -o postgres "$DIR/secrets/postgres.password" "$DIR/initdb.pw"
TOKEN=$(cat "$DIR/secrets/api.token")
export PGPASSWORD=$(cat "$DIR/secrets/postgres.password")
for n in 0 1; do mkdir -p "$DIR/node$n/run" "$DIR/state$n"; chown postgres: "$DIR/node$n" "$DIR/node$n/run"; done

echo "initdb + pgbench -i for ~${SIZE_GB} GB ($DIR)"
as_pg "$BIN/initdb" -D "$DIR/node0/data" -U postgres --pwfile "$DIR/initdb.pw" \
  -A scram-sha-256 --auth-local=trust --data-checksums >/dev/null || exit 1
conf() {  # node port
  cat >>"$DIR/node$1/data/postgresql.conf" <<EOF
port = $2
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/node$1/run'
wal_level = replica
max_wal_senders = 10
wal_keep_size = '4GB'
hot_standby = on
max_wal_size = '4GB'
EOF
}
conf 0 "${PORT[0]}"
echo "host all all 127.0.0.1/32 scram-sha-256" >>"$DIR/node0/data/pg_hba.conf"
echo "host replication all 127.0.0.1/32 scram-sha-256" >>"$DIR/node0/data/pg_hba.conf"
as_pg "$BIN/pg_ctl" -D "$DIR/node0/data" -l "$DIR/node0/data.log" -w start >/dev/null || exit 1
PSQL0=("$BIN/psql" -h 127.0.0.1 -p "${PORT[0]}" -U postgres -d postgres -qAt)
"${PSQL0[@]}" -c "CREATE ROLE repl REPLICATION LOGIN PASSWORD '$(cat "$DIR/secrets/repl.password")'" || exit 1
SCALE=${PGBENCH_SCALE:-$((SIZE_GB * 68))}  # env PGBENCH_SCALE overrides (quick runs)
"$PGBENCH" -h 127.0.0.1 -p "${PORT[0]}" -U postgres -i -q -s "$SCALE" postgres >/dev/null 2>&1 || exit 1
DBSIZE=$("${PSQL0[@]}" -c "SELECT pg_size_pretty(pg_database_size('postgres'))")
echo "database size: $DBSIZE"
as_pg env PGPASSWORD="$(cat "$DIR/secrets/repl.password")" \
  "$BIN/pg_basebackup" -D "$DIR/node1/data" -h 127.0.0.1 -p "${PORT[0]}" -U repl -X stream -c fast -R >/dev/null || exit 1
sed -i "s/^port = ${PORT[0]}$/port = ${PORT[1]}/; s#$DIR/node0/run#$DIR/node1/run#" "$DIR/node1/data/postgresql.conf"
as_pg "$BIN/pg_ctl" -D "$DIR/node1/data" -l "$DIR/node1/data.log" -w start >/dev/null || exit 1

cat >"$DIR/spec.yaml" <<EOF
apiVersion: pgvigil.io/v1alpha1
kind: PostgresCluster
metadata:
  name: rejoin-bench
spec:
  postgres:
    binDirectory: $BIN
    superuser: {name: postgres, passwordFile: $DIR/secrets/postgres.password}
    replicationUser: {name: repl, passwordFile: $DIR/secrets/repl.password}
  nodes:
    - {name: node0, host: 127.0.0.1, port: ${PORT[0]}, dataDirectory: $DIR/node0/data, apiPort: ${API[0]},
       proxyPort: ${OTHER[0]}, watchdogPort: ${OTHER[1]}, heartbeatPort: ${OTHER[2]}}
    - {name: node1, host: 127.0.0.1, port: ${PORT[1]}, dataDirectory: $DIR/node1/data, apiPort: ${API[1]},
       proxyPort: ${OTHER[3]}, watchdogPort: ${OTHER[4]}, heartbeatPort: ${OTHER[5]}}
  healthCheck: {period: 500ms, timeout: 2s, maxRetries: 0, retryDelay: 100ms}
  proxy: {enabled: false}
  watchdog: {enabled: false}
  api: {listen: 127.0.0.1, tokenFile: $DIR/secrets/api.token}
EOF
for n in 0 1; do
  "$SIDECAR" -f "$DIR/spec.yaml" --node node$n --state-dir "$DIR/state$n" --no-proxy --no-watchdog \
    >"$DIR/sidecar$n.log" 2>&1 &
  SIDECAR_PIDS+=($!)
done
for n in 0 1; do
  up=0
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:${API[$n]}/liveness" && { up=1; break; }; sleep 0.1; done
  ((up)) || { echo "sidecar for node$n does not answer:"; tail -20 "$DIR/sidecar$n.log"; exit 1; }
done

op() {  # node path json -> operation id
  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "$3" "http://127.0.0.1:${API[$1]}/v1/node/$2" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("id") or ("ERROR " + json.dumps(d)))'
}
wait_op() {  # node id -> prints "state method percent"
  while :; do
    out=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${API[$1]}/v1/node/operations/$2" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d.get("method"), d["progress"]["percent"], "%.2f" % (d["durationMs"] / 1000.0), (d.get("error") or "")[:300])')
    [[ $out == running* ]] || { echo "$out"; return; }
    sleep 0.2
  done
}

round() {  # new_primary old_primary method term
  local np=$1 old=$2 method=$3 term=$4
  # Stands for the periodic checkpoints of a system in steady state (after the bulk
  # load, the last common checkpoint would otherwise be before it, and the rewound
  # node would replay the whole load).
  "$BIN/psql" -h 127.0.0.1 -p "${PORT[$old]}" -U postgres -d postgres -qAt -c CHECKPOINT >/dev/null
  sleep 1
  local id; id=$(op "$np" promote "{\"term\": $term}")
  [[ $id == ERROR* ]] && { echo "promote: $id" >&2; exit 1; }
  [[ $(wait_op "$np" "$id") == succeeded* ]] || { echo "promote of node$np failed" >&2; exit 1; }
  "$PGBENCH" -h 127.0.0.1 -p "${PORT[$np]}" -U postgres -T "$WRITE_SECONDS" -c 4 -N postgres >/dev/null 2>&1
  "$BIN/psql" -h 127.0.0.1 -p "${PORT[$old]}" -U postgres -d postgres -qAt \
    -c "CREATE TABLE diverged_$term AS SELECT 1" >/dev/null 2>&1
  id=$(op "$old" rebuild "{\"term\": $term, \"primary\": \"node$np\", \"fenced\": true, \"method\": \"$method\"}")
  [[ $id == ERROR* ]] && { echo "rebuild: $id" >&2; exit 1; }
  local res; res=$(wait_op "$old" "$id")
  echo "$res" >"$DIR/round_$method"
  set -- $res
  [[ $1 == succeeded ]] || { echo "rebuild failed: $res" >&2; exit 1; }
  echo "$4"  # the operation's own duration (accepted -> streaming, old data removed)
}

echo "round 1: promote node1, write ${WRITE_SECONDS}s, rejoin node0 by pg_rewind"
T_REWIND=$(round 1 0 rewind 1) || exit 1
echo "  $(cat "$DIR/round_rewind")"
echo "round 2: promote node0, write ${WRITE_SECONDS}s, rejoin node1 by pg_basebackup"
T_BASE=$(round 0 1 basebackup 2) || exit 1
echo "  $(cat "$DIR/round_basebackup")"
python3 - "$T_REWIND" "$T_BASE" "$DBSIZE" <<'EOF'
import sys
r, b, gb = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
print(f"rejoin of an old primary, database {gb}: pg_rewind {r:.2f} s, pg_basebackup {b:.2f} s, "
      f"rewind/basebackup = {100*r/b:.1f} % (goal <= 10 %)")
EOF
