#!/usr/bin/env bash
# The pgvigil demo on one machine, the Pgpool-II manual's three-server example
# (section 7.3) without a single script: builds pgvigil, brings up the three-host
# lab with only server1's PostgreSQL initialised, starts pgvigil-sidecar and
# pgvigil-controller on the three hosts, applies the lab's cluster spec, lets the
# controller build server2 and server3 as standbys (pg_basebackup, online
# recovery), then shows the cluster with `vigilctl status` and with
# `psql -h 10.77.0.150 -p 9999 -c "show pool_nodes"` from the client namespace.
#   ./hack/demo.sh        bring it up (root, Debian 12)
#   ./hack/demo.sh down   stop everything it started
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${PGVIGIL_BUILD_DIR:-build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
export PGVIGIL_LAB_DIR=${PGVIGIL_LAB_DIR:-/tmp/pgvigil-lab}
LAB=$PGVIGIL_LAB_DIR
VIP=10.77.0.150

if [ "${1:-}" = "down" ]; then
  ./hack/cluster.sh stop 2>/dev/null || true
  exec ./hack/lab.sh down
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (the lab creates network namespaces)" >&2
  exit 1
fi

client() { ./hack/lab.sh exec client "$@"; }
# vigilctl from the client namespace, talking to the controller beside the VIP.
export PGVIGIL_CONTROLLER=http://$VIP:9900 PGVIGIL_TOKEN_FILE=$LAB/secrets/api.token
vigilctl() { client "$BUILD/bin/vigilctl" "$@"; }
# wait_for SECONDS WHAT CMD...: polls CMD until it succeeds, with a dot per second.
wait_for() {
  local limit=$1 what=$2; shift 2
  printf 'demo: waiting for %s ' "$what"
  for _ in $(seq "$limit"); do
    if "$@" >/dev/null 2>&1; then echo " ok"; return 0; fi
    printf '.'; sleep 1
  done
  echo " gave up after ${limit}s"; return 1
}
three_up() {
  [[ $(client psql -h $VIP -p 9999 -U postgres -d postgres -XAtqc "show pool_nodes" 2>/dev/null |
        awk -F'|' '$4 == "up"' | wc -l) == 3 ]] &&
    vigilctl status -o json 2>/dev/null | grep -q '"phase": *"Healthy"'
}

echo "== 1/6 dependencies"
./hack/install-deps.sh
echo "== 2/6 build"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target vigilctl pgvigil-sidecar pgvigil-controller
echo "== 3/6 lab: three hosts, PostgreSQL initialised and running on server1 only"
./hack/cluster.sh stop >/dev/null 2>&1 || true
./hack/lab.sh down >/dev/null 2>&1 || true
./hack/lab.sh up
echo "== 4/6 pgvigil-sidecar and pgvigil-controller on server1..3, the lab spec"
"$BUILD/bin/vigilctl" validate -f manifests/examples/lab.yaml --no-file-check
./hack/cluster.sh start "$BUILD"
wait_for 60 "the watchdog to elect a leader and take the VIP $VIP" \
  client curl -sf -m 2 "http://$VIP:9900/v1/status"
vigilctl apply -f "$(./hack/cluster.sh spec)"
echo "== 5/6 the controller builds server2 and server3 as standbys (online recovery)"
wait_for 180 "three nodes up, one primary" three_up || {
  vigilctl status || true
  echo "demo: the cluster did not become healthy; logs: $LAB/server*/{controller,sidecar}.log" >&2
  exit 1
}
echo "== 6/6 the cluster, seen from the client namespace (10.77.0.100)"
echo "\$ vigilctl status"
vigilctl status
echo
echo "\$ psql -h $VIP -p 9999 -U postgres -c \"show pool_nodes\""
client psql -h $VIP -p 9999 -U postgres -d postgres -c "show pool_nodes"

cat <<EOT

The cluster is up: writes go to the primary, reads are balanced over the
standbys, the VIP $VIP is held by the watchdog leader.

Connect (password in $LAB/secrets/postgres.password; PGPASSFILE is set for you):
  ./hack/lab.sh exec client psql -h $VIP -p 9999 -U postgres postgres
Watch it:
  export PGVIGIL_CONTROLLER=http://$VIP:9900 PGVIGIL_TOKEN_FILE=$LAB/secrets/api.token
  ./hack/lab.sh exec client $BUILD/bin/vigilctl status
  ./hack/lab.sh exec client $BUILD/bin/vigilctl watchdog --sidecar http://$VIP:9898
Try a failover (crash the primary; a standby is promoted, the other follows it,
the old primary is rebuilt as a standby by pg_rewind):
  PRIMARY=\$(./hack/lab.sh exec client $BUILD/bin/vigilctl status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["primary"])')
  ip netns exec pgv-\$PRIMARY runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $LAB/\$PRIMARY/data -m immediate stop
Or cut the primary's host off the network:  ip -n pgv-\$PRIMARY link set eth0 down
A planned switchover:
  ./hack/lab.sh exec client $BUILD/bin/vigilctl switchover --to server2
Logs: $LAB/server{1,2,3}/{controller,sidecar,postgresql}.log
Stop it all with: ./hack/demo.sh down
EOT
