#!/usr/bin/env bash
# pgvigil in kind, for a user with Docker and kind (KUBERNETES.md §9). NOT run in
# CI here (no Docker daemon on these machines): nothing it shows has been
# measured by the project until someone runs it and reports it.
#   hack/kind.sh [up]         cluster (1 control plane + 3 workers), image built
#                             and loaded, helm install, the example cluster
#                             (manifests/examples/k8s-cluster.yaml), wait for
#                             Ready, psql through demo-rw, demo-ro and demo
#   hack/kind.sh failover pod    delete the primary's pod, time until a write
#                                through demo-rw succeeds again
#   hack/kind.sh failover node   disconnect the primary's node from the kind
#                                network (docker network disconnect), same timing;
#                                `hack/kind.sh reconnect` undoes it
#   hack/kind.sh down         delete the kind cluster
# Settings: PGVIGIL_KIND_CLUSTER (default pgvigil), PGVIGIL_IMAGE (default
# pgvigil/pgvigil:VERSION-pg15, built by packaging/image/build-image.sh),
# PGVIGIL_KIND_SKIP_BUILD=1 (use an image already in Docker).
# helm and kubectl: from PATH, else the pinned ones of hack/install-kube-tools.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$PATH:${PGVIGIL_TOOLS_DIR:-/usr/local/lib/pgvigil-tools}/bin"
CLUSTER=${PGVIGIL_KIND_CLUSTER:-pgvigil}
VERSION=$(sed -n 's/^project(pgvigil VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IMAGE=${PGVIGIL_IMAGE:-pgvigil/pgvigil:$VERSION-pg15}
NS=db
NAME=demo
CTX=kind-$CLUSTER
k() { kubectl --context "$CTX" "$@"; }
need() { command -v "$1" >/dev/null || { echo "kind.sh: $1 not found ($2)" >&2; exit 1; }; }

# psql SERVICE PORT SQL: one statement through a Service, from a client pod.
psql_via() {
  local pw
  pw=$(k -n $NS get secret $NAME-superuser -o jsonpath='{.data.password}' | base64 -d)
  k -n $NS exec pgvigil-client -- env PGPASSWORD="$pw" PGCONNECT_TIMEOUT=3 \
    psql -h "$1" -p "$2" -U postgres -d postgres -Atc "$3"
}

client_pod() {
  k -n $NS get pod pgvigil-client >/dev/null 2>&1 && return
  k -n $NS run pgvigil-client --image="$IMAGE" --image-pull-policy=IfNotPresent --restart=Never \
    --command -- sleep infinity >/dev/null
  k -n $NS wait pod/pgvigil-client --for=condition=Ready --timeout=120s >/dev/null
}

up() {
  need docker "https://docs.docker.com/get-docker/"
  need kind "https://kind.sigs.k8s.io/"
  need kubectl "hack/install-kube-tools.sh installs a pinned one"
  need helm "hack/install-kube-tools.sh installs a pinned one"
  if ! kind get clusters | grep -qx "$CLUSTER"; then
    kind create cluster --name "$CLUSTER" --wait 120s --config - <<'KIND'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
- role: worker
- role: worker
- role: worker
KIND
  fi
  if [ -z "${PGVIGIL_KIND_SKIP_BUILD:-}" ]; then
    packaging/image/build-image.sh --engine docker --tag "$IMAGE" >/dev/null
  fi
  kind load docker-image "$IMAGE" --name "$CLUSTER"
  helm --kube-context "$CTX" upgrade --install pgvigil charts/pgvigil --namespace pgvigil-system \
    --create-namespace --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --wait --timeout 5m
  sed "s#image: pgvigil/pgvigil:[^ ]*#image: $IMAGE#" manifests/examples/k8s-cluster.yaml | k apply -f -
  echo "kind.sh: waiting for PostgresCluster $NAME to be Ready"
  k -n $NS wait pgvc/$NAME --for=condition=Ready --timeout=15m
  k -n $NS get pgvc,pods -o wide
  client_pod
  echo "== $NAME-rw (writes, through a pgvigil proxy): in recovery? $(psql_via $NAME-rw 5432 'select pg_is_in_recovery()')"
  echo "== $NAME-ro (a routed standby): in recovery? $(psql_via $NAME-ro 5432 'select pg_is_in_recovery()')"
  echo "== $NAME (any proxy, read/write split): show pool_nodes"
  psql_via $NAME 9999 'show pool_nodes'
  cat <<EOF2

Try a failover (each prints how long writes through $NAME-rw were refused):
  hack/kind.sh failover pod     # delete the primary's pod
  hack/kind.sh failover node    # cut the primary's node off the network; then: hack/kind.sh reconnect
Remove everything: hack/kind.sh down
EOF2
}

primary_pod() { k -n $NS get pods -l pgvigil.io/cluster=$NAME,pgvigil.io/role=primary -o jsonpath='{.items[0].metadata.name}'; }

failover() {
  client_pod
  psql_via $NAME-rw 5432 'create table if not exists kind_writes (at timestamptz default now())' >/dev/null
  local pod node start t
  pod=$(primary_pod)
  [ -n "$pod" ] || { echo "kind.sh: no pod labelled primary" >&2; exit 1; }
  node=$(k -n $NS get pod "$pod" -o jsonpath='{.spec.nodeName}')
  echo "kind.sh: primary $pod on node $node"
  case ${1:-} in
    pod) k -n $NS delete pod "$pod" --wait=false ;;
    node) docker network disconnect kind "$node"; echo "$node" >"/tmp/pgvigil-kind-$CLUSTER.disconnected" ;;
    *) echo "usage: hack/kind.sh failover pod|node" >&2; exit 2 ;;
  esac
  start=$(date +%s%3N)
  until psql_via $NAME-rw 5432 'insert into kind_writes default values' >/dev/null 2>&1; do
    sleep 0.2
    t=$(($(date +%s%3N) - start))
    if [ "$t" -ge 120000 ]; then echo "kind.sh: no write succeeded within 120 s" >&2; exit 1; fi
  done
  t=$(($(date +%s%3N) - start))
  echo "kind.sh: first write through $NAME-rw $t ms after the fault (each try includes a kubectl exec round trip); primary now $(primary_pod)"
}

reconnect() {
  local f=/tmp/pgvigil-kind-$CLUSTER.disconnected
  [ -s "$f" ] || { echo "kind.sh: no disconnected node recorded" >&2; exit 1; }
  docker network connect kind "$(cat "$f")" && rm -f "$f"
}

case ${1:-up} in
  up) up ;;
  failover) failover "${2:-}" ;;
  reconnect) reconnect ;;
  down) need kind "https://kind.sigs.k8s.io/"; kind delete cluster --name "$CLUSTER"; rm -f "/tmp/pgvigil-kind-$CLUSTER.disconnected" ;;
  *) echo "usage: hack/kind.sh [up] | failover pod|node | reconnect | down" >&2; exit 2 ;;
esac
