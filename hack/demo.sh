#!/usr/bin/env bash
# The pgvigil demo on one machine: builds pgvigil, brings up the three-host lab
# (hack/lab.sh: server1-3 in network namespaces with real PostgreSQL 15, a client
# namespace, the VIP 10.77.0.150 free for the watchdog), checks the lab's cluster
# spec with vigilctl, and shows the cluster answering from the client namespace.
#   ./hack/demo.sh        bring it up (root, Debian 12)
#   ./hack/demo.sh down   stop everything it started
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PGVIGIL_BUILD_DIR:-build}
export PGVIGIL_LAB_DIR=${PGVIGIL_LAB_DIR:-/tmp/pgvigil-lab}

if [ "${1:-}" = "down" ]; then
  exec ./hack/lab.sh down
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (the lab creates network namespaces)" >&2
  exit 1
fi

echo "== 1/5 dependencies"
./hack/install-deps.sh
echo "== 2/5 build"
cmake -S . -B "$BUILD" -G Ninja >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target vigilctl pgvigil-sidecar pgvigil-controller
echo "== 3/5 lab: three PostgreSQL hosts, server1 primary, server2/3 streaming standbys"
./hack/lab.sh up --standbys
echo "== 4/5 the lab's cluster spec"
"$BUILD/bin/vigilctl" validate -f manifests/examples/lab.yaml
echo "== 5/5 the cluster, seen from the client namespace (10.77.0.100)"
./hack/lab.sh status
./hack/lab.sh psql server1 -c "SELECT inet_server_addr() AS primary_addr, pg_is_in_recovery() AS in_recovery"
./hack/lab.sh psql server1 -c "SELECT application_name, client_addr, state FROM pg_stat_replication ORDER BY 1"

cat <<EOT

The lab is up. Try:
  ./hack/lab.sh status
  ./hack/lab.sh psql server1                      # psql to the primary from the client namespace
  ./hack/lab.sh exec client psql -h 10.77.0.12 -U postgres postgres   # a standby (password: $PGVIGIL_LAB_DIR/secrets/postgres.password)
  $BUILD/bin/vigilctl validate -f manifests/examples/lab.yaml
Stop it all with: ./hack/demo.sh down
EOT
