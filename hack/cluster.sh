#!/usr/bin/env bash
# hack/cluster.sh — runs pgvigil on the lab's three hosts (hack/lab.sh must be up):
# a pgvigil-sidecar and a pgvigil-controller in each server namespace, all reading
# one cluster spec (manifests/examples/lab.yaml with the lab dir substituted).
#
#   hack/cluster.sh start [BUILD_DIR]   start sidecars and controllers (idempotent)
#   hack/cluster.sh stop                stop them (SIGTERM, then SIGKILL after 10 s)
#   hack/cluster.sh restart-sidecar serverN | stop-sidecar serverN | start-sidecar serverN
#   hack/cluster.sh spec                print the spec file's path
#
# Logs: $LAB/serverN/{sidecar,controller}.log. Pids: $LAB/pids/{sidecar,controller}-serverN.pid,
# so `hack/lab.sh down` also stops whatever is left. State: $LAB/serverN/state.
# Each sidecar runs in its own session/process group under a small supervisor
# ($LAB/pids/supervisor-serverN.pid) that, whenever the sidecar ends (even when its
# whole process group, VIP guard included, is SIGKILLed), runs
# `pgvigil-sidecar release-vip -f SPEC` in that host: what systemd's ExecStopPost
# does on a real host (sidecar/watchdog/README.md).
# PGVIGIL_SPEC_TEMPLATE: another spec to start with (/tmp/pgvigil-lab in it is replaced
# by the lab dir), e.g. a copy of the lab spec with recovery.automatic: false.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAB=${PGVIGIL_LAB_DIR:-/tmp/pgvigil-lab}
LAB=${LAB%/}
NS=${PGVIGIL_LAB_NS:-pgv}
BUILD=${2:-${PGVIGIL_BUILD_DIR:-$ROOT/build}}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
SERVERS=(server1 server2 server3)
SPEC=$LAB/cluster.yaml

die() { echo "cluster: ERROR: $*" >&2; exit 1; }
log() { echo "cluster: $*"; }

[[ $EUID -eq 0 ]] || die "run as root (processes start inside the lab's network namespaces)"

write_spec() {
  [[ -d $LAB/secrets ]] || die "the lab is not up ($LAB/secrets missing): run hack/lab.sh up"
  sed "s#/tmp/pgvigil-lab#$LAB#g" "${PGVIGIL_SPEC_TEMPLATE:-$ROOT/manifests/examples/lab.yaml}" >"$SPEC.tmp"
  mv "$SPEC.tmp" "$SPEC"
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_one() {  # kind server
  local kind=$1 s=$2 pidf=$LAB/pids/$1-$2.pid
  if pid_alive "$pidf"; then return 0; fi
  mkdir -p "$LAB/$s/state" "$LAB/pids"
  local args=(-f "$SPEC" --node "$s")
  if [[ $kind == sidecar ]]; then
    args+=(--state-dir "$LAB/$s/state")
    rm -f "$pidf"
    (
      # setsid: the sidecar leads its own process group, so killing that group
      # leaves this supervisor alive to release the VIP.
      ip netns exec "$NS-$s" setsid "$BUILD/bin/pgvigil-sidecar" "${args[@]}" &
      echo $! >"$pidf"
      rc=0
      wait $! || rc=$?  # (set -e: a killed sidecar must not end this supervisor)
      echo "cluster.sh supervisor: pgvigil-sidecar on $s ended (status $rc): release-vip"
      ip netns exec "$NS-$s" "$BUILD/bin/pgvigil-sidecar" release-vip -f "$SPEC" || true
    ) </dev/null >>"$LAB/$s/sidecar.log" 2>&1 &
    echo $! >"$LAB/pids/supervisor-$s.pid"
    for _ in $(seq 50); do [[ -s $pidf ]] && break; sleep 0.02; done
    log "$kind on $s started (pid $(cat "$pidf" 2>/dev/null), supervisor $!, log $LAB/$s/$kind.log)"
    return 0
  else
    # Each host's controller writes applied specs to its own copy.
    cp -n "$SPEC" "$LAB/$s/cluster.yaml" 2>/dev/null || true
    args=(-f "$LAB/$s/cluster.yaml" --node "$s")
    ip netns exec "$NS-$s" "$BUILD/bin/pgvigil-controller" "${args[@]}" >>"$LAB/$s/controller.log" 2>&1 &
  fi
  echo $! >"$pidf"
  log "$kind on $s started (pid $!, log $LAB/$s/$kind.log)"
}

stop_one() {  # kind server
  local pidf=$LAB/pids/$1-$2.pid pid
  [[ -f $pidf ]] || return 0
  pid=$(cat "$pidf")
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    log "$1 on $2 stopped (pid $pid)"
  fi
  rm -f "$pidf"
}

case ${1:-} in
  start)
    [[ -x $BUILD/bin/pgvigil-sidecar && -x $BUILD/bin/pgvigil-controller ]] ||
      die "no binaries in $BUILD/bin: build first (cmake --build build)"
    write_spec
    for s in "${SERVERS[@]}"; do start_one sidecar "$s"; done
    for s in "${SERVERS[@]}"; do start_one controller "$s"; done
    ;;
  stop)
    for s in "${SERVERS[@]}"; do stop_one controller "$s"; done
    for s in "${SERVERS[@]}"; do stop_one sidecar "$s"; done
    ;;
  stop-sidecar) stop_one sidecar "${2:?server}" ;;
  start-sidecar) BUILD=${PGVIGIL_BUILD_DIR:-$ROOT/build}; start_one sidecar "${2:?server}" ;;
  restart-sidecar) stop_one sidecar "${2:?server}"; BUILD=${PGVIGIL_BUILD_DIR:-$ROOT/build}; start_one sidecar "$2" ;;
  spec) echo "$SPEC" ;;
  *) echo "usage: $0 start [BUILD_DIR] | stop | start-sidecar|stop-sidecar|restart-sidecar serverN | spec" >&2; exit 2 ;;
esac
