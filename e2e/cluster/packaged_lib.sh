# e2e/cluster/packaged_lib.sh — runs the lab's three hosts from the installed DEB
# (sourced after lib.sh, by packaged_e2e.sh and upgrade_e2e.sh).
#
# The DEB (packaging/build-deb.sh) is unpacked into $E2E_LAB/stage. Each host gets
# its own /etc/pgvigil (spec, pgvigil.env, secrets/ owned by postgres, 0600) and
# /var/lib/pgvigil, laid over the machine's /etc and /var/lib with overlayfs in a
# private mount namespace inside the host's network namespace, with the staged
# /usr/bin over /usr/bin. The command line, user, group, capabilities and
# NoNewPrivileges come from the unit file (packaging/tests/unit_exec.py reads
# ExecStart, Environment=, EnvironmentFile=, User=, AmbientCapabilities=,
# CapabilityBoundingSet=, NoNewPrivileges=) and are applied with setpriv, so the
# sidecar runs as postgres with only CAP_NET_ADMIN and CAP_NET_RAW, as under systemd.
# Not emulated: the units' other sandboxing (ProtectSystem, PrivateTmp, ...), which
# only systemd as PID 1 applies. A datagram socket per process stands in for
# systemd's NOTIFY_SOCKET and records what the process reports (READY=1, ...).
# shellcheck shell=bash

PKG_UNIT_EXEC=$ROOT/packaging/tests/unit_exec.py
STAGE=""

# pkg_stage DEB: unpacks the package; the staged vigilctl becomes the tests' vigilctl.
pkg_stage() {
  STAGE=$E2E_LAB/stage
  rm -rf "$STAGE"; mkdir -p "$STAGE"
  dpkg-deb -x "$1" "$STAGE" || { fail "dpkg-deb -x $1"; exit 1; }
  UNIT_DIR=$STAGE/lib/systemd/system
  [[ -f $UNIT_DIR/pgvigil-sidecar.service ]] || UNIT_DIR=$STAGE/usr/lib/systemd/system
  mkdir -p "$BIN"
  cp "$STAGE/usr/bin/vigilctl" "$BIN/vigilctl"
  for b in pgvigil-e2e-writer pgvigil-e2e-primary-checker; do cp "$SRC_BUILD/bin/$b" "$BIN/$b"; done
}

# The DEB the package_deb test made (ctest runs it first: fixture pgvigil_deb), or a
# new one when run by hand without it.
pkg_build_stage() {
  local deb
  deb=$(ls "$SRC_BUILD"/package/pgvigil_*.deb 2>/dev/null | head -n1)
  if [[ -z $deb ]]; then
    say "packaging/build-deb.sh (no DEB in $SRC_BUILD/package yet)"
    deb=$(PGVIGIL_LINTIAN=no "$ROOT/packaging/build-deb.sh" "$SRC_BUILD" 2>"$E2E_OUT/build-deb.log" | tail -n1)
  fi
  [[ -f $deb ]] || { cat "$E2E_OUT/build-deb.log" 2>/dev/null; fail "no DEB built"; exit 1; }
  pkg_stage "$deb"
  say "staged $(basename "$deb") in $STAGE (units from $UNIT_DIR)"
}

# pkg_host_setup SERVER SPEC_TEMPLATE: the host's /etc/pgvigil and /var/lib/pgvigil.
# The template is a lab spec (/tmp/pgvigil-lab paths); its secrets move to
# /etc/pgvigil/secrets/ and its data directories to this lab's dir.
pkg_host_setup() {
  local s=$1 tmpl=$2 h=$E2E_LAB/hosts/$1
  mkdir -p "$h/etc-up/pgvigil/secrets" "$h/etc-work" "$h/varlib-up/pgvigil" "$h/varlib-work"
  sed -e 's#/tmp/pgvigil-lab/secrets/#/etc/pgvigil/secrets/#g' -e "s#/tmp/pgvigil-lab#$E2E_LAB#g" \
    "$tmpl" >"$h/etc-up/pgvigil/cluster.yaml"
  cp "$E2E_LAB"/secrets/{postgres.password,repl.password,api.token,watchdog.key,pool_hba.conf,pool_passwd} \
    "$h/etc-up/pgvigil/secrets/"
  # The layout postinst makes: /etc/pgvigil root:postgres 0775, secrets postgres 0700 / 0600.
  chown root:postgres "$h/etc-up/pgvigil"; chmod 0775 "$h/etc-up/pgvigil"
  chown -R postgres:postgres "$h/etc-up/pgvigil/secrets"
  chmod 0700 "$h/etc-up/pgvigil/secrets"; chmod 0600 "$h/etc-up/pgvigil/secrets"/*
  chmod 0644 "$h/etc-up/pgvigil/cluster.yaml"
  chown postgres:postgres "$h/varlib-up/pgvigil"; chmod 0750 "$h/varlib-up/pgvigil"
  # The packaged pgvigil.env with this host's node; text logs to the lab's log files.
  sed -e "s/^PGVIGIL_NODE=.*/PGVIGIL_NODE=$s/" "$STAGE/etc/pgvigil/pgvigil.env" >"$h/etc-up/pgvigil/pgvigil.env"
  echo "PGVIGIL_LOG_OPTIONS=--log-format text" >>"$h/etc-up/pgvigil/pgvigil.env"
}
pkg_host_spec() { echo "$E2E_LAB/hosts/$1/etc-up/pgvigil/cluster.yaml"; }

# A recorder for sd_notify datagrams: a socket in the lab, one line per message.
pkg_notify_listener() {  # kind server
  local sock=$E2E_LAB/hosts/$2/$1.notify log=$E2E_LAB/hosts/$2/$1.notify.log
  rm -f "$sock"; : >"$log"
  python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")' "$sock" "$log" &
  E2E_BG_PIDS+=($!)
  for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
}
pkg_notified() { grep -q "$3" "$E2E_LAB/hosts/$2/$1.notify.log" 2>/dev/null; }  # kind server TEXT

# pkg_host_up SERVER: the host's mount namespace, held by a sleeping process (its
# pid in pids/host-SERVER.pid, so lab.sh down ends it): inside SERVER's network
# namespace, the staged /usr/bin, the host's /etc/pgvigil and /var/lib/pgvigil laid
# over the machine's with overlayfs. Both services of the host and an admin's edits
# (pkg_host_sh) share it, so all see one /etc/pgvigil, as on a real host.
pkg_host_up() {
  local s=$1 h=$E2E_LAB/hosts/$1 pidf=$E2E_LAB/pids/host-$1.pid
  if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
  mkdir -p "$E2E_LAB/pids"
  # shellcheck disable=SC2016
  ip netns exec "$E2E_NS-$s" unshare -m --propagation private -- sh -c '
    stage=$1 h=$2
    mount -t overlay pgvigil-bin -o "lowerdir=$stage/usr/bin:/usr/bin" /usr/bin &&
    mount -t overlay pgvigil-etc -o "lowerdir=/etc,upperdir=$h/etc-up,workdir=$h/etc-work" /etc &&
    mount -t overlay pgvigil-var -o "lowerdir=/var/lib,upperdir=$h/varlib-up,workdir=$h/varlib-work" /var/lib &&
    touch "$h/mounted" && exec sleep infinity' sh "$STAGE" "$h" >>"$h/host.log" 2>&1 &
  echo $! >"$pidf"
  local i
  for i in $(seq 50); do [[ -f $h/mounted ]] && return 0; sleep 0.1; done
  fail "host namespace for $s not ready: $(cat "$h/host.log")"; return 1
}
# pkg_host_sh SERVER CMD: a root shell command on the host (its /etc/pgvigil, its network).
pkg_host_sh() { nsenter -t "$(cat "$E2E_LAB/pids/host-$1.pid")" -m -n -- sh -c "$2"; }

# pkg_start KIND SERVER: starts pgvigil-KIND on SERVER as its unit says.
pkg_start() {
  local kind=$1 s=$2 h=$E2E_LAB/hosts/$2 pidf=$E2E_LAB/pids/$1-$2.pid
  if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
  pkg_host_up "$s" || return 1
  local spec
  spec=$(python3 "$PKG_UNIT_EXEC" "$UNIT_DIR/pgvigil-$kind.service" --map "/etc/pgvigil=$h/etc-up/pgvigil") \
    || { fail "unit_exec.py pgvigil-$kind.service"; return 1; }
  eval "$spec"
  local sp=(setpriv --reuid "$UNIT_USER" --regid "$UNIT_GROUP" --init-groups)
  if [[ -n $UNIT_AMBIENT_CAPS ]]; then
    local plus=+${UNIT_AMBIENT_CAPS//,/,+}
    sp+=(--inh-caps "$plus" --ambient-caps "$plus")
  else
    sp+=(--inh-caps -all)
  fi
  if [[ -n $UNIT_BOUNDING_CAPS ]]; then sp+=(--bounding-set "-all,+${UNIT_BOUNDING_CAPS//,/,+}")
  else sp+=(--bounding-set -all); fi
  [[ $UNIT_NO_NEW_PRIVS == yes ]] && sp+=(--no-new-privs)
  local home; home=$(getent passwd "$UNIT_USER" | cut -d: -f6)
  pkg_notify_listener "$kind" "$s"
  echo "$ sudo -u $UNIT_USER ${UNIT_EXEC[*]}  # caps '${UNIT_AMBIENT_CAPS}' nnp $UNIT_NO_NEW_PRIVS" >>"$h/$kind.cmdline"
  nsenter -t "$(cat "$E2E_LAB/pids/host-$s.pid")" -m -n --wd=/ -- \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" \
      USER="$UNIT_USER" LOGNAME="$UNIT_USER" LANG=C.UTF-8 NOTIFY_SOCKET="$h/$kind.notify" \
    "${sp[@]}" -- "${UNIT_EXEC[@]}" >>"$E2E_LAB/$s/$kind.log" 2>&1 &
  echo $! >"$pidf"
}

# pkg_stop KIND SERVER: SIGTERM (systemctl stop), SIGKILL after 30 s (TimeoutStopSec).
pkg_stop() {
  local pidf=$E2E_LAB/pids/$1-$2.pid pid
  [[ -f $pidf ]] || return 0
  pid=$(cat "$pidf")
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { note "$1 on $2 did not stop in 30 s: SIGKILL"; kill -KILL "$pid"; }
  fi
  rm -f "$pidf"
}
pkg_pid() { cat "$E2E_LAB/pids/$1-$2.pid" 2>/dev/null; }
# pkg_proc_field KIND SERVER FIELD: a line of /proc/PID/status (Uid, CapEff, NoNewPrivs...).
pkg_proc_field() { awk -v f="$3:" '$1 == f {print $2}' "/proc/$(pkg_pid "$1" "$2")/status" 2>/dev/null; }
# The capability mask of names, as /proc shows it (net_admin = bit 12, net_raw = bit 13).
PKG_CAPS_VIP=0000000000003000
PKG_CAPS_NONE=0000000000000000

# pkg_lab_up SPEC_TEMPLATE [LAB_UP_FLAGS]: lab (server1 only, or with --standbys),
# staged package, the three hosts running.
pkg_lab_up() {
  say "lab.sh up ${2:-(server1 only)}"
  "$LABSH" up ${2:-} >"$E2E_OUT/lab-up.log" 2>&1 || { cat "$E2E_OUT/lab-up.log"; fail "lab.sh up"; exit 1; }
  pkg_build_stage
  local s
  for s in "${SERVERS[@]}"; do pkg_host_setup "$s" "$1"; done
  for s in "${SERVERS[@]}"; do pkg_host_up "$s" || exit 1; done
  # server1's sidecar (beside the primary) first, and the others only after
  # PKG_FIRST_SIDECAR_LEAD seconds (default 3): a primary's sidecar that finds no
  # majority of the members within its write lease (about 1.5 s) fences its
  # PostgreSQL, so every run has the new cluster's primary fenced before the
  # others are up; the controller starts it again once a majority answers (the
  # one stopped primary data directory, controller/plan/planner.cc).
  # The checker (never two writable primaries) watches from here on.
  start_checker
  pkg_start sidecar server1
  PKG_SIDECAR1_STARTED_MS=$(now_ms)
  sleep "${PKG_FIRST_SIDECAR_LEAD:-3}"
  PKG_OTHERS_STARTED_MS=$(now_ms)
  for s in "${SERVERS[@]:1}"; do pkg_start sidecar "$s"; done
  for s in "${SERVERS[@]}"; do pkg_start controller "$s"; done
  say "started from the units: $(head -n1 "$E2E_LAB/hosts/server1/sidecar.cmdline")"
  pkg_first_primary
}

# pkg_first_primary: server1 is writable and the controller's primary; says how
# long after its sidecar started, and checks that its sidecar had fenced it on
# the way (what the lead in pkg_lab_up is for) and the controller started it.
pkg_first_primary() {
  check "server1 is writable and the controller's primary" \
    wait_until 90 eval '[[ $(cluster_primary) == server1 ]] && is_writable server1'
  local took=$(( $(now_ms) - PKG_SIDECAR1_STARTED_MS ))
  say "server1 writable as the primary $took ms after its sidecar started" \
    "(the others started ${PKG_FIRST_SIDECAR_LEAD:-3} s after it)"
  grep -h "SELF-FENCE" "$E2E_LAB/server1/sidecar.log" | sed 's/^/  /'
  check "server1's sidecar fenced its PostgreSQL before a majority answered (the case under test)" \
    grep -q "SELF-FENCE: PostgreSQL stopped" "$E2E_LAB/server1/sidecar.log"
  local s started="" recorded=""
  for s in "${SERVERS[@]}"; do
    started=$(grep -h "action start server1" "$E2E_LAB/$s/controller.log" 2>/dev/null | head -n1)
    [[ -n $started ]] && break
  done
  for s in "${SERVERS[@]}"; do
    recorded=$(grep -h "server1 is the primary (the only writable node)" "$E2E_LAB/$s/controller.log" 2>/dev/null | head -n1)
    [[ -n $recorded ]] && break
  done
  [[ -n $started ]] && say "controller: ${started:0:300}"
  check "a controller started server1's PostgreSQL again as the primary" test -n "$started"
  # Milliseconds after server1's sidecar started, from a log line's time (UTC).
  pkg_since() { local t; t=$(date -u -d "${1:0:23}" +%s%3N 2>/dev/null) && echo "+$((t - PKG_SIDECAR1_STARTED_MS)) ms"; }
  say "since server1's sidecar started: fenced $(pkg_since "$(grep -h 'SELF-FENCE: PostgreSQL stopped' \
    "$E2E_LAB/server1/sidecar.log" | head -n1)"), the others started +$((PKG_OTHERS_STARTED_MS - PKG_SIDECAR1_STARTED_MS)) ms," \
    "start action $(pkg_since "$started"), recorded as the primary $(pkg_since "$recorded"), writable seen +$took ms"
}
